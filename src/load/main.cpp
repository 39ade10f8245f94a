// chat-load: drives chatd (or an IRC server) with thousands of clients and
// measures delivery, order and latency. See docs/benchmarks.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "chatd_version.hpp"
#include "load/engine.hpp"
#include "load/payload.hpp"
#include "load/result.hpp"

namespace {

std::string random_run_tag() {
    static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string tag = "L";  // IRC nicks must not begin with a digit
    for (int i = 0; i < 5; ++i) tag += kAlnum[rd() % 36];
    return tag;
}

int merge_files(const std::vector<std::string>& files, bool json) {
    chat::load::Result total;
    total.processes = 0;
    for (const auto& f : files) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        auto r = chat::load::Result::from_json(ss.str());
        if (!in || !r) {
            std::fprintf(stderr, "chat-load: %s is not a chat-load --json result\n", f.c_str());
            return 2;
        }
        total.merge(*r);
    }
    if (json)
        std::fputs(total.to_json().c_str(), stdout);
    else
        std::fputs(total.table().c_str(), stdout);
    return total.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    using chat::load::Proto;
    using chat::load::Scenario;
    chat::load::Options opt;
    CLI::App app{"chat-load: many chat clients in one process, measuring delivery and latency"};
    app.set_version_flag("--version", "chat-load " CHATD_VERSION);
    bool json = false, quiet = false;
    std::string json_file;
    std::vector<std::string> merge;
    const std::map<std::string, Proto> protos{{"chat", Proto::Chat}, {"irc", Proto::Irc}};
    const std::map<std::string, Scenario> scenarios{
        {"fanout", Scenario::Fanout}, {"private", Scenario::Private}, {"storm", Scenario::Storm},
        {"idle", Scenario::Idle},     {"churn", Scenario::Churn},     {"auth", Scenario::Auth},
        {"handshake", Scenario::Handshake}};
    const std::map<std::string, chat::load::AuthPhase> phases{{"both", chat::load::AuthPhase::Both},
                                                              {"register", chat::load::AuthPhase::Register},
                                                              {"login", chat::load::AuthPhase::Login}};
    app.add_option("-s,--scenario", opt.scenario, "fanout | private | storm | idle | churn | auth | handshake")
        ->transform(CLI::CheckedTransformer(scenarios, CLI::ignore_case));
    app.add_option("--proto", opt.proto, "chat (chatd) or irc")
        ->transform(CLI::CheckedTransformer(protos, CLI::ignore_case));
    app.add_option("-H,--host", opt.host, "server IPv4 address")->capture_default_str();
    app.add_option("-p,--port", opt.port, "server port (5000; 5001 with --tls)");
    std::string ports;
    app.add_option("--ports", ports,
                   "P1,P2,...: spread the clients over these ports (the nodes of a cluster), client i on "
                   "P(i mod n); fanout also checks every receiver saw the same order");
    app.add_option("-c,--clients", opt.clients, "client connections")->capture_default_str();
    app.add_option("--senders", opt.senders, "fanout: clients that send (0 = all)")->capture_default_str();
    app.add_option("-r,--rate", opt.rate, "aggregate messages/s, open loop (0 = closed loop)")
        ->capture_default_str();
    app.add_option("-w,--window", opt.window, "closed loop: own messages in flight per sender")
        ->check(CLI::Range(1u, 1u << 16))
        ->capture_default_str();
    app.add_option("-d,--duration", opt.duration, "measured seconds (idle: hold time; churn: cycling time)")
        ->capture_default_str();
    app.add_option("--warmup", opt.warmup, "seconds of load before measuring")->capture_default_str();
    app.add_option("--size", opt.size, "message text bytes")
        ->check(CLI::Range(1, 4000))
        ->capture_default_str();
    app.add_option("--src", opt.src_first, "first source address")->capture_default_str();
    app.add_option("--src-addrs", opt.src_addrs, "source addresses to spread over (0 = one per 200 clients)")
        ->capture_default_str();
    app.add_option("--run", opt.run,
                   "run tag: nick prefix and message tag, [A-Za-z0-9_]{1,16} (default random)");
    app.add_option("--connect-rate", opt.connect_rate, "connections started per second (0 = all at once)")
        ->capture_default_str();
    app.add_option("--login-wait", opt.login_wait, "seconds allowed for every client to log in")
        ->capture_default_str();
    app.add_option("--drain", opt.drain, "seconds allowed for owed deliveries after the load stops")
        ->capture_default_str();
    app.add_option("--expect-foreign", opt.expect_foreign,
                   "the drain also waits for this many deliveries of other processes' messages (e.g. idle "
                   "over scripts/loadtest.sh -k K: (K-1) x clients)")
        ->capture_default_str();
    app.add_option("--churn-msgs", opt.churn_msgs, "churn: messages per session")->capture_default_str();
    app.add_option("--channel", opt.channel, "irc: the channel")->capture_default_str();
    app.add_option("--auth-phase", opt.auth_phase,
                   "auth: register (make -c accounts), login (log in to them all at once) or both")
        ->transform(CLI::CheckedTransformer(phases, CLI::ignore_case));
    app.add_option("--auth-inflight", opt.auth_inflight, "auth: registrations under way at once")
        ->check(CLI::Range(1u, 1u << 16))
        ->capture_default_str();
    app.add_option("--auth-retry", opt.auth_retry,
                   "auth: seconds (+-50 %) before asking again after ERROR unavailable")
        ->capture_default_str();
    app.add_flag("--tls", opt.tls,
                 "every connection over TLS (full handshakes, no resumption), the server's certificate "
                 "verified against the system's trusted certificates, or --tls-ca");
    app.add_option("--tls-ca", opt.tls_ca,
                   "with --tls: trust the certificate authorities in FILE (PEM), e.g. var/tls/ca.pem of "
                   "scripts/cert.sh")
        ->type_name("FILE");
    app.add_option("--tls-name", opt.tls_name,
                   "with --tls: the name the certificate must carry, also sent as SNI (default: the --host "
                   "address)")
        ->type_name("NAME");
    app.add_flag("--tls-insecure", opt.tls_insecure,
                 "with --tls: do NOT verify the server's certificate (the handshake costs the same on "
                 "the server; for tests and benchmarks only)");
    app.add_flag("--json", json, "print the result as JSON on stdout (the table goes to stderr)");
    app.add_option("--json-file", json_file, "also write the JSON result to this file");
    app.add_flag("-q,--quiet", quiet, "no live line on stderr");
    app.add_option("--merge", merge, "add up --json results of several processes and print them")
        ->expected(1, -1);
    CLI11_PARSE(app, argc, argv);
    if (app.count("--port") == 0 && opt.tls) opt.port = 5001;
    if (!opt.tls && (!opt.tls_ca.empty() || !opt.tls_name.empty() || opt.tls_insecure)) {
        std::fprintf(stderr, "chat-load: --tls-ca, --tls-name and --tls-insecure go with --tls\n");
        return 2;
    }
    if (opt.tls && opt.tls_insecure && !opt.tls_ca.empty()) {
        std::fprintf(stderr, "chat-load: --tls-insecure checks nothing, so --tls-ca would be ignored\n");
        return 2;
    }
    // OpenSSL writes to the socket with write(): a server gone would otherwise kill us with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    if (!merge.empty()) return merge_files(merge, json);
    for (std::size_t at = 0; !ports.empty() && at <= ports.size();) {
        const std::size_t comma = std::min(ports.find(',', at), ports.size());
        const std::string p = ports.substr(at, comma - at);
        char* end = nullptr;
        const long v = std::strtol(p.c_str(), &end, 10);
        if (p.empty() || *end != '\0' || v < 1 || v > 65535) {
            std::fprintf(stderr, "chat-load: --ports: not a port: '%s'\n", p.c_str());
            return 2;
        }
        opt.ports.push_back(static_cast<std::uint16_t>(v));
        at = comma + 1;
    }
    if (opt.run.empty()) opt.run = random_run_tag();
    if (!chat::load::is_valid_run_tag(opt.run)) {
        std::fprintf(stderr, "chat-load: --run must be 1-16 of [A-Za-z0-9_]\n");
        return 2;
    }
    opt.live = !quiet;
    const chat::load::Result r = chat::load::run_load(opt);
    const std::string js = r.to_json();
    if (!json_file.empty()) {
        std::ofstream f(json_file);
        f << js;
        if (!f) std::fprintf(stderr, "chat-load: cannot write %s\n", json_file.c_str());
    }
    if (json) {
        std::fputs(js.c_str(), stdout);
        std::fputs(r.table().c_str(), stderr);
    } else {
        std::fputs(r.table().c_str(), stdout);
    }
    return r.ok() ? 0 : 1;
}
