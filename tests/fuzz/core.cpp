// The whole chat core driven by a script of operations over up to 8 fake
// connections, with a fake clock, the in-memory storage and a checking fake
// transport. After every operation the checks below must hold:
// - nothing is sent to a connection that was never opened, that the core
//   closed, or that the I/O side reported gone; every send is whole lines;
// - every output line is clean UTF-8 (no C0 but the final LF, a TAB only in
//   the trailing text or an ERROR arg, no DEL, no C1) and matches the server-line grammar
//   with the params each verb has (nicks and statuses valid);
// - HELLO comes first; after BYE the connection is closed;
// - the core's counts match the transport's view (open connections, logged-in
//   ones), and every logged-in client's roster (USER list after WELCOME, then
//   JOIN/PART) equals the set of users actually online;
// - unconsumed input of a connection that is not paused is never a complete line.
//
// Input: 3 bytes of limits, then operations, each an opcode byte and its operands.
#include "server/core.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/names.hpp"
#include "proto/server_line.hpp"
#include "proto/text.hpp"
#include "server/log.hpp"
#include "server/memory_storage.hpp"

using namespace chat::server;
namespace proto = chat::proto;

namespace {

constexpr int kConns = 8;

// Fragments that get the script past the login and into every command quickly.
constexpr std::string_view kWords[] = {
    "ana\n",
    "Bob\n",
    "ANA\n",
    "begoña\n",
    "ana",
    "\n",
    "\r\n",
    "hola a todos\n",
    "/listar\n",
    "/who\n",
    "/perfil\n",
    "/perfil ana\n",
    "/perfil nadie\n",
    "/perfil bob\n",
    "/historial\n",
    "/historial 3\n",
    "/historial 0\n",
    "/estado ocupado\n",
    "/estado a b\n",
    "/estado\n",
    "!ana hola\n",
    "!bob hi\n",
    "/msg ana  x \n",
    "!nadie x\n",
    "/ping\n",
    "/ping abc\n",
    "/ping ~\n",
    "/pong 1\n",
    "/ayuda\n",
    "/salir\n",
    "/quit adios amigos\n",
    "/desconectar\n",
    "//x\n",
    "!!y\n",
    "/nope\n",
    "\t\n",
    "   \n",
    "a\tb\n",
    "\x1b[31mred\n",
    "\xc2\x9b"
    "1m\n",
    "\xff\xfe\n",
    "\x7f\n",
    "ÿ\n",
    "/estado en-reunión\n",
    "x\xe2\x80\x8by\n",
    "🎉\n",
    "/PERFIL ANA\n",
    "!ANA yo\n",
    "/\n",
    "!\n",
    ":x\n",
    "/msg\n",
    "/registrar clave1234\n",
    "/register  clave 1234 \n",
    "/clave otraclave\n",
    "/registrar x\n",
    "/password\n",
    "clave1234\n",
    "otraclave\n",
    " clave1234\n",
};

// Hashes in the clear ("h$" + password) and answers when the fuzzer pumps, so
// every account state (AUTH, a check under way, a registration being stored)
// meets every other event; `full` refuses as a pool at its bound.
class FuzzHasher final : public PasswordHasher {
public:
    bool submit(AuthRequest&& req) override {
        if (full) return false;
        queue.push_back(std::move(req));
        return true;
    }
    std::vector<AuthReply> answer() {
        std::vector<AuthReply> out;
        for (auto& req : queue) {
            if (auto* h = std::get_if<HashRequest>(&req)) {
                out.emplace_back(HashReply{h->token, true, "h$" + h->password});
            } else {
                auto& v = std::get<VerifyRequest>(req);
                VerifyReply r;
                r.token = v.token;
                r.ok = v.stored_hash == "h$" + v.password;
                out.emplace_back(std::move(r));
            }
        }
        queue.clear();
        return out;
    }
    std::vector<AuthRequest> queue;
    bool full = false;
};

enum class Conn : std::uint8_t { Unused, Open, Closed, Gone };

struct Peer {
    Conn state = Conn::Unused;
    ConnId id = 0;
    std::string in;       // received from the "client", not yet taken by the core
    std::string partial;  // output bytes after the last LF
    bool paused = false;
    bool resume_due = false;
    bool paced = false;  // a paced reply is being sent; send()'s lines wait in `held`
    std::string held;
    bool got_hello = false;
    bool got_bye = false;
    bool welcomed = false;
    std::string nick;               // after WELCOME
    std::set<std::string> roster;   // folded nicks, as this client knows them
    bool reading_roster = false;    // between WELCOME/listar USER lines and END USERS
    std::set<std::string> listing;  // USER lines of the list being read
};

struct VerbRule {
    std::string_view verb;
    int min_params, max_params;
    int trailing;  // 1 required, 0 forbidden
};
constexpr VerbRule kVerbs[] = {
    {"HELLO", 2, 2, 1}, {"WELCOME", 2, 2, 1}, {"USER", 2, 2, 0},   {"END", 2, 2, 0},
    {"JOIN", 2, 2, 0},  {"PART", 1, 1, 1},    {"STATUS", 2, 2, 0}, {"MSG", 1, 1, 1},
    {"PRIV", 2, 2, 1},  {"PROFILE", 8, 8, 0}, {"HIST", 3, 3, 1},   {"HELP", 0, 0, 1},
    {"PING", 1, 1, 0},  {"PONG", 1, 1, 0},    {"ERROR", 1, 2, 1},  {"BYE", 0, 0, 1},
    {"AUTH", 1, 1, 1},  {"OK", 1, 1, 1},
};

class Fuzz final : public Transport, public Clock {
public:
    Fuzz(Limits limits) : core_(*this, storage_, *this, limits, "chatd", &hasher_), limits_(limits) {}

    // Transport
    void send(ConnId id, std::string_view bytes) override {
        Peer& p = peer(id, "send");
        if (p.paced && p.state == Conn::Open) {
            FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n', "a send that is not whole lines");
            p.held.append(bytes);
            return;
        }
        receive(p, id, bytes);
    }
    void begin_paced(ConnId id) override {
        Peer& p = peer(id, "begin_paced");
        FUZZ_CHECK(p.state == Conn::Open && !p.paced, "begin_paced on connection %llu in state %d, paced %d",
                   static_cast<unsigned long long>(id), static_cast<int>(p.state), p.paced);
        p.paced = true;
    }
    void send_paced(ConnId id, std::string_view bytes) override {
        Peer& p = peer(id, "send_paced");
        FUZZ_CHECK(p.paced, "send_paced while not paced");
        receive(p, id, bytes);
    }
    void end_paced(ConnId id) override {
        Peer& p = peer(id, "end_paced");
        FUZZ_CHECK(p.paced, "end_paced while not paced");
        unpace(p);
    }
    void abandon_paced(ConnId id) override {
        Peer& p = peer(id, "abandon_paced");
        FUZZ_CHECK(p.paced, "abandon_paced while not paced");
        p.paced = false;
        p.held.clear();
    }
    void unpace(Peer& p) {
        if (!p.paced) return;
        p.paced = false;
        std::string held = std::move(p.held);
        p.held.clear();
        if (!held.empty() && p.state == Conn::Open) receive(p, p.id, held);
    }
    void receive(Peer& p, ConnId id, std::string_view bytes) {
        FUZZ_CHECK(p.state == Conn::Open, "send to connection %llu in state %d: %.*s",
                   static_cast<unsigned long long>(id), static_cast<int>(p.state),
                   static_cast<int>(bytes.size()), bytes.data());
        FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n', "a send that is not whole lines");
        FUZZ_CHECK(!p.got_bye, "a line after BYE");
        if (trace_)
            std::fprintf(stderr, "-> #%llu %.*s", static_cast<unsigned long long>(id),
                         static_cast<int>(bytes.size()), bytes.data());
        p.partial.append(bytes);
        std::size_t start = 0, lf;
        while ((lf = p.partial.find('\n', start)) != std::string::npos) {
            check_line(p, std::string_view(p.partial).substr(start, lf - start));
            start = lf + 1;
        }
        p.partial.erase(0, start);
    }
    void close(ConnId id) override {
        Peer& p = peer(id, "close");
        FUZZ_CHECK(p.state == Conn::Open, "close of connection %llu in state %d",
                   static_cast<unsigned long long>(id), static_cast<int>(p.state));
        unpace(p);
        p.state = Conn::Closed;
    }
    void pause(ConnId id) override { peer(id, "pause").paused = true; }
    void resume(ConnId id) override {
        Peer& p = peer(id, "resume");
        p.paused = false;
        p.resume_due = true;
    }

    // Clock
    Mono now() override { return mono_; }
    std::int64_t wall_us() override { return wall_; }

    void run(chat::fuzz::Bytes& in) {
        for (int ops = 0; !in.empty() && ops < 2000; ++ops) {
            unsigned char op = in.u8();
            int k = in.u8() % kConns;
            switch (op % 10) {
                case 0:
                case 1: {  // open
                    if (peers_[k].state == Conn::Open) break;
                    static constexpr const char* kIps[] = {"127.0.0.1", "127.0.0.2", "::1"};
                    ids_.erase(peers_[k].id);
                    peers_[k] = Peer{};
                    peers_[k].id = next_id_++;
                    ids_[peers_[k].id] = k;
                    peers_[k].state = Conn::Open;
                    unsigned char how = in.u8();
                    core_.on_open(peers_[k].id, kIps[how % 3], ConnTraits{(how & 4) == 0});
                    FUZZ_CHECK(peers_[k].got_hello, "no HELLO on open");
                    break;
                }
                case 2:  // raw bytes
                    feed(k, in.take(in.u8() % 48));
                    break;
                case 3:
                case 4:
                case 5:  // a useful fragment
                    feed(k, kWords[in.u8() % std::size(kWords)]);
                    break;
                case 6:  // the peer goes away
                    if (peers_[k].state == Conn::Open) {
                        peers_[k].state = Conn::Gone;
                        core_.on_gone(peers_[k].id, in.u8() & 1 ? Gone::SlowConsumer : Gone::Closed);
                    }
                    break;
                case 7: {  // time passes: up to ~1.3 s in small steps, or up to ~4 min
                    unsigned char t = in.u8();
                    advance(t < 128 ? Millis(t * 10) : Millis((t - 127) * 2000));
                    break;
                }
                case 8:  // storage answers, kept input is offered again, replies are read to the end
                    pump();
                    drain_paced();
                    break;
                case 9: {
                    unsigned char v = in.u8();
                    storage_.set_unavailable(v & 1);
                    hasher_.full = (v & 6) == 6;
                    break;
                }
            }
            step_paced();  // readers read one chunk per operation: presence happens mid-reply
            check_state();
        }
        pump();
        drain_paced();
        check_state();
        core_.shutdown();
        for (auto& p : peers_) {
            FUZZ_CHECK(p.state != Conn::Open, "a connection left open by shutdown");
        }
        check_state();
        // A connection arriving during shutdown is closed without a word.
        Peer& late = peers_[0];
        ids_.erase(late.id);
        late = Peer{};
        late.id = next_id_++;
        ids_[late.id] = 0;
        late.state = Conn::Open;
        core_.on_open(late.id, "127.0.0.1");
        FUZZ_CHECK(late.state == Conn::Closed && !late.got_hello, "a connection served during shutdown");
        FUZZ_CHECK(core_.stats().connections == 0, "a connection accepted during shutdown");
    }

private:
    Peer& peer(ConnId id, const char* what) {
        auto it = ids_.find(id);
        FUZZ_CHECK(it != ids_.end(), "%s on unknown connection %llu", what,
                   static_cast<unsigned long long>(id));
        FUZZ_CHECK(peers_[it->second].id == id, "%s on a connection replaced long ago", what);
        return peers_[it->second];
    }

    void feed(int k, std::string_view bytes) {
        Peer& p = peers_[k];
        if (p.state != Conn::Open) return;
        if (trace_)
            std::fprintf(stderr, "<- #%llu %.*s\n", static_cast<unsigned long long>(p.id),
                         static_cast<int>(bytes.size()), bytes.data());
        p.in.append(bytes);
        offer(p);
    }

    void offer(Peer& p) {
        if (p.state != Conn::Open || p.paused || p.in.empty()) return;
        std::size_t n = core_.on_data(p.id, p.in);
        FUZZ_CHECK(n <= p.in.size(), "took %zu of %zu bytes", n, p.in.size());
        p.in.erase(0, n);
        // A core that neither takes a complete line nor pauses the reader leaves the client hanging.
        if (p.state == Conn::Open && !p.paused && !p.in.empty()) {
            FUZZ_CHECK(p.in.find('\n') == std::string::npos,
                       "a complete line kept while not paused (%zu bytes)", p.in.size());
            FUZZ_CHECK(p.in.size() <= limits_.max_line, "%zu bytes kept past max_line", p.in.size());
        }
    }

    void step_paced() {
        for (auto& p : peers_)
            if (p.state == Conn::Open && p.paced) core_.on_drained(p.id);
    }

    // Readers that keep up: every paced reply is produced to its end.
    void drain_paced() {
        for (int round = 0; round < 100000; ++round) {
            bool any = false;
            for (auto& p : peers_) {
                if (p.state != Conn::Open || !p.paced) continue;
                any = true;
                core_.on_drained(p.id);
            }
            if (!any) return;
        }
        FUZZ_CHECK(false, "a paced reply never ends");
    }

    void pump() {
        for (int round = 0; round < 1000; ++round) {
            bool moved = false;
            for (auto& r : storage_.take_replies()) {
                core_.on_reply(std::move(r));
                moved = true;
            }
            for (auto& r : hasher_.answer()) {
                core_.on_auth_reply(std::move(r));
                moved = true;
            }
            for (auto& p : peers_) {
                if (!p.resume_due) continue;
                p.resume_due = false;
                std::size_t before = p.in.size();
                offer(p);
                moved = moved || p.in.size() != before;
            }
            if (!moved) return;
        }
        FUZZ_CHECK(false, "pump does not settle");
    }

    void advance(Millis d) {
        mono_ += d;
        wall_ += d.count() * 1000;
        for (int i = 0; core_.next_deadline() <= mono_; ++i) {
            FUZZ_CHECK(i < 10000, "timers keep firing without time passing");
            core_.on_tick();
        }
        // As the server does: a resume is acted on after the turn.
        pump();
    }

    void check_line(Peer& p, std::string_view line) {
        FUZZ_CHECK(proto::is_valid_utf8(line), "invalid UTF-8 sent: %.*s", static_cast<int>(line.size()),
                   line.data());
        proto::ServerLine sl;
        FUZZ_CHECK(proto::parse_server_line(line, sl), "empty line sent");
        // The grammar, byte for byte: single spaces, the trailing text after " :".
        std::size_t trailing_at =
            sl.has_trailing ? static_cast<std::size_t>(sl.trailing.data() - line.data()) : line.size();
        std::string_view head = line.substr(0, sl.has_trailing ? trailing_at - 2 : line.size());
        FUZZ_CHECK(!head.empty() && head.front() != ' ' && head.back() != ' ' &&
                       head.find("  ") == std::string_view::npos,
                   "spacing breaks the grammar: %.*s", static_cast<int>(line.size()), line.data());
        if (sl.has_trailing) FUZZ_CHECK(line.substr(trailing_at - 2, 2) == " :", "trailing not after \" :\"");
        // TAB is text, not a control character, in the contract: it may be relayed in a trailing
        // text, and it stays in an ERROR's arg (the word or nick as typed is a valid param).
        std::size_t arg_from = line.size(), arg_to = line.size();
        if (sl.verb == "ERROR" && sl.params.size() == 2) {
            arg_from = static_cast<std::size_t>(sl.params[1].data() - line.data());
            arg_to = arg_from + sl.params[1].size();
        }
        for (std::size_t i = 0; i < line.size(); ++i) {
            auto b = static_cast<unsigned char>(line[i]);
            bool tab_ok = b == '\t' && (i >= trailing_at || (i >= arg_from && i < arg_to));
            FUZZ_CHECK((b >= 0x20 || tab_ok) && b != 0x7f, "control byte 0x%02x sent: %.*s", b,
                       static_cast<int>(line.size()), line.data());
            if (b == 0xC2 && i + 1 < line.size()) {
                auto c = static_cast<unsigned char>(line[i + 1]);
                FUZZ_CHECK(c < 0x80 || c > 0x9F, "C1 control sent");
            }
        }
        const VerbRule* rule = nullptr;
        for (const auto& r : kVerbs)
            if (r.verb == sl.verb) rule = &r;
        FUZZ_CHECK(rule, "unknown verb %.*s", static_cast<int>(sl.verb.size()), sl.verb.data());
        int np = static_cast<int>(sl.params.size());
        FUZZ_CHECK(
            np >= rule->min_params && np <= rule->max_params && sl.has_trailing == (rule->trailing == 1),
            "wrong shape: %.*s", static_cast<int>(line.size()), line.data());
        FUZZ_CHECK(p.got_hello || sl.verb == "HELLO", "first line is not HELLO");
        p.got_hello = true;

        const std::string_view v = sl.verb;
        auto nick_ok = [](std::string_view n) { return proto::is_valid_nick(n); };
        if (v == "WELCOME" || v == "USER" || v == "JOIN" || v == "PART" || v == "STATUS" || v == "MSG" ||
            v == "PRIV" || v == "PROFILE")
            FUZZ_CHECK(nick_ok(sl.params[0]), "bad nick in %.*s", static_cast<int>(line.size()), line.data());
        if (v == "PRIV") FUZZ_CHECK(nick_ok(sl.params[1]), "bad recipient");
        if (v == "USER" || v == "JOIN" || v == "STATUS")
            FUZZ_CHECK(proto::is_valid_status(sl.params[1]), "bad status in %.*s",
                       static_cast<int>(line.size()), line.data());
        if (sl.has_trailing) FUZZ_CHECK(proto::is_clean_text(sl.trailing), "trailing text is not clean");

        // Presence, as this client sees it.
        if (v == "BYE") p.got_bye = true;
        if (v == "WELCOME") {
            FUZZ_CHECK(!p.welcomed, "second WELCOME");
            p.welcomed = true;
            p.nick = std::string(sl.params[0]);
            p.reading_roster = true;
            p.listing.clear();
        } else if (v == "USER") {
            FUZZ_CHECK(p.welcomed, "USER before WELCOME");
            if (!p.reading_roster) {
                p.reading_roster = true;
                p.listing.clear();
            }
            FUZZ_CHECK(p.listing.insert(proto::fold_nick(sl.params[0])).second, "a user listed twice");
        } else if (v == "END" && sl.params[0] == "USERS") {
            FUZZ_CHECK(p.welcomed && p.reading_roster, "END USERS without a list");
            FUZZ_CHECK(sl.params[1] == std::to_string(p.listing.size()), "END USERS count");
            // A list replaces what the client knew: while it was on its way, JOIN and PART lines about
            // users it had not reached yet were left out. check_state() holds it to who is online.
            p.roster = p.listing;
            p.reading_roster = false;
        } else if (v == "JOIN") {
            FUZZ_CHECK(p.welcomed && !p.reading_roster, "JOIN in the middle of a list");
            FUZZ_CHECK(p.roster.insert(proto::fold_nick(sl.params[0])).second,
                       "JOIN of someone already online");
        } else if (v == "PART") {
            FUZZ_CHECK(p.welcomed, "PART before WELCOME");
            FUZZ_CHECK(p.roster.erase(proto::fold_nick(sl.params[0])) == 1, "PART of someone not online");
            std::string_view why = sl.trailing.substr(0, sl.trailing.find(' '));
            FUZZ_CHECK(why == "quit" || why == "closed" || why == "timeout" || why == "slow-consumer",
                       "PART reason %.*s", static_cast<int>(why.size()), why.data());
        }
    }

    void check_state() {
        std::set<std::string> online;
        std::size_t open = 0;
        for (auto& p : peers_) {
            if (p.state != Conn::Open) continue;
            ++open;
            FUZZ_CHECK(!p.got_bye, "BYE sent but the connection is not closed");
            if (p.welcomed)
                FUZZ_CHECK(online.insert(proto::fold_nick(p.nick)).second, "one nick online twice");
        }
        CoreStats st = core_.stats();
        FUZZ_CHECK(st.online <= st.connections, "online %llu > connections %llu",
                   static_cast<unsigned long long>(st.online),
                   static_cast<unsigned long long>(st.connections));
        FUZZ_CHECK(st.connections == open, "core counts %llu connections, transport %zu",
                   static_cast<unsigned long long>(st.connections), open);
        FUZZ_CHECK(st.online == online.size(), "core counts %llu online, clients %zu",
                   static_cast<unsigned long long>(st.online), online.size());
        if (limits_.max_clients) FUZZ_CHECK(st.connections <= limits_.max_clients, "past max_clients");
        for (auto& p : peers_) {
            // A reply still on its way (its lines held behind it) is checked once it ends.
            if (p.state != Conn::Open || !p.welcomed || p.paced) continue;
            FUZZ_CHECK(!p.reading_roster, "a USER list left unfinished");
            FUZZ_CHECK(p.roster == online, "%s's roster (%zu) differs from who is online (%zu)",
                       p.nick.c_str(), p.roster.size(), online.size());
        }
    }

    // CHATD_FUZZ_TRACE=1 prints the conversation (for reading a reproducer).
    bool trace_ = std::getenv("CHATD_FUZZ_TRACE") != nullptr;
    MemoryStorage storage_{64};
    FuzzHasher hasher_;
    ChatCore core_;
    Limits limits_;
    std::array<Peer, kConns> peers_;
    std::map<ConnId, int> ids_;
    ConnId next_id_ = 1;
    Mono mono_{std::chrono::hours(1)};
    std::int64_t wall_ = 1'795'600'800'000'000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static bool quiet = (set_log_level(LogLevel::Error), true);
    (void)quiet;
    chat::fuzz::Bytes in(data, size);
    Limits l;
    unsigned char a = in.u8(), b = in.u8(), c = in.u8();
    l.max_line = 16 + a % 64;
    static constexpr std::size_t kChunks[] = {1, 30, 100, 16 * 1024};  // 1: every line its own chunk
    l.paced_chunk = kChunks[a >> 6];
    l.rate = (b & 3) == 0 ? 0.0 : 5.0 + (b >> 2);
    l.burst = 1.0 + (b >> 4);
    l.max_clients = c % 9;        // 0 = no limit
    l.max_per_ip = (c >> 4) % 5;  // 0 = no limit
    l.recent_history = c & 1 ? 3 : 0;
    l.login_timeout = Millis(30'000);
    l.ping_interval = Millis(120'000);
    l.ping_timeout = Millis(60'000);
    Fuzz f(l);
    f.run(in);
    return 0;
}
