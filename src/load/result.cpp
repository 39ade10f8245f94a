#include "load/result.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace chat::load {

namespace {

// The counters, in one list so that merge, to_json and from_json cannot disagree.
template <typename R, typename F>
void each_counter(R& r, F&& f) {
    f("processes", r.processes);
    f("clients", r.clients);
    f("senders", r.senders);
    f("window", r.window);
    f("connected", r.connected);
    f("logged_in", r.logged_in);
    f("login_failures", r.login_failures);
    f("disconnects", r.disconnects);
    f("server_errors", r.server_errors);
    f("sessions", r.sessions);
    f("registered", r.registered);
    f("account_logins", r.account_logins);
    f("auth_busy", r.auth_busy);
    f("tls_handshakes", r.tls_handshakes);
    f("tls_failures", r.tls_failures);
    f("sent", r.sent);
    f("expected", r.expected);
    f("delivered", r.delivered);
    f("duplicates", r.duplicates);
    f("reordered", r.reordered);
    f("order_mismatches", r.order_mismatches);
    f("foreign", r.foreign);
    f("measured_deliveries", r.measured_deliveries);
    f("foreign_measured", r.foreign_measured);
}

template <typename R, typename F>
void each_time(R& r, F&& f) {
    f("offered_rate", r.offered_rate);
    f("measured_s", r.measured_s);
    f("login_s", r.login_s);
    f("register_s", r.register_s);
}

std::string fmt_double(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

void hist_json(std::string& out, std::string_view name, const Histogram& h) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "  \"%.*s\": {\"count\": %llu, \"min\": %llu, \"max\": %llu",
                  int(name.size()), name.data(), (unsigned long long)h.count(), (unsigned long long)h.min(),
                  (unsigned long long)h.max());
    out += buf;
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        std::snprintf(buf, sizeof buf, ", \"p%g\": %llu", p, (unsigned long long)h.percentile(p));
        out += buf;
    }
    out += ", \"buckets\": [";
    bool first = true;
    for (auto [v, n] : h.buckets()) {
        std::snprintf(buf, sizeof buf, "%s[%llu,%llu]", first ? "" : ",", (unsigned long long)v,
                      (unsigned long long)n);
        out += buf;
        first = false;
    }
    out += "]}";
}

// One line of our own JSON: `  "key": value[,]`.
bool split_line(std::string_view line, std::string_view& key, std::string_view& value) {
    const auto q1 = line.find('"');
    if (q1 == std::string_view::npos) return false;
    const auto q2 = line.find('"', q1 + 1);
    if (q2 == std::string_view::npos || q2 + 1 >= line.size() || line[q2 + 1] != ':') return false;
    key = line.substr(q1 + 1, q2 - q1 - 1);
    value = line.substr(q2 + 2);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == ',' || value.back() == ' ' || value.back() == '\r'))
        value.remove_suffix(1);
    return true;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

bool parse_hist(std::string_view v, Histogram& h) {
    const auto b = v.find("\"buckets\": [");
    if (b == std::string_view::npos) return false;
    v.remove_prefix(b + 12);
    h.reset();
    while (!v.empty() && v.front() == '[') {
        v.remove_prefix(1);
        std::uint64_t val = 0, n = 0;
        auto r = std::from_chars(v.data(), v.data() + v.size(), val);
        if (r.ec != std::errc{} || r.ptr == v.data() + v.size() || *r.ptr != ',') return false;
        v.remove_prefix(static_cast<std::size_t>(r.ptr - v.data()) + 1);
        r = std::from_chars(v.data(), v.data() + v.size(), n);
        if (r.ec != std::errc{} || r.ptr == v.data() + v.size() || *r.ptr != ']') return false;
        v.remove_prefix(static_cast<std::size_t>(r.ptr - v.data()) + 1);
        h.add(val, n);
        if (!v.empty() && v.front() == ',') v.remove_prefix(1);
    }
    return !v.empty() && v.front() == ']';
}

std::string human_ns(std::uint64_t ns) {
    char buf[32];
    if (ns < 10'000)
        std::snprintf(buf, sizeof buf, "%llu ns", (unsigned long long)ns);
    else if (ns < 10'000'000)
        std::snprintf(buf, sizeof buf, "%.1f us", ns / 1e3);
    else if (ns < 10'000'000'000ULL)
        std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.2f s", ns / 1e9);
    return buf;
}

}  // namespace

void Result::merge(const Result& o) {
    if (scenario.empty()) scenario = o.scenario;
    if (proto.empty()) proto = o.proto;
    const std::uint64_t my_window = window;
    std::vector<std::uint64_t> theirs;
    each_counter(o, [&](const char*, const std::uint64_t& v) { theirs.push_back(v); });
    std::size_t i = 0;
    each_counter(*this, [&](const char*, std::uint64_t& v) { v += theirs[i++]; });
    window = my_window > o.window ? my_window : o.window;  // a setting, not a count
    offered_rate += o.offered_rate;
    if (o.measured_s > measured_s) measured_s = o.measured_s;
    if (o.login_s > login_s) login_s = o.login_s;
    if (o.register_s > register_s) register_s = o.register_s;
    order_segments.merge(o.order_segments);
    latency.merge(o.latency);
    login_latency.merge(o.login_latency);
}

std::string Result::to_json() const {
    std::string out = "{\n";
    out += "  \"scenario\": \"" + scenario + "\",\n";
    out += "  \"proto\": \"" + proto + "\",\n";
    out += "  \"ok\": " + std::string(ok() ? "true" : "false") + ",\n";
    out += "  \"missing\": " + std::to_string(missing()) + ",\n";
    out += "  \"deliveries_per_s\": " + fmt_double(deliveries_per_s()) + ",\n";
    each_counter(*this, [&](const char* k, const std::uint64_t& v) {
        out += "  \"" + std::string(k) + "\": " + std::to_string(v) + ",\n";
    });
    each_time(*this, [&](const char* k, const double& v) {
        out += "  \"" + std::string(k) + "\": " + fmt_double(v) + ",\n";
    });
    out += "  \"order_segment_mismatches\": " + std::to_string(order_segments.mismatches()) + ",\n";
    out += "  \"order_segments\": " + order_segments.to_json() + ",\n";
    hist_json(out, "latency_ns", latency);
    out += ",\n";
    hist_json(out, "login_latency_ns", login_latency);
    out += "\n}\n";
    return out;
}

std::optional<Result> Result::from_json(std::string_view text) {
    Result r;
    r.processes = 0;
    bool saw_scenario = false, saw_lat = false, saw_login = false;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        std::string_view key, value;
        if (!split_line(line, key, value)) continue;
        auto unquote = [](std::string_view v) {
            return v.size() >= 2 && v.front() == '"' ? std::string(v.substr(1, v.size() - 2))
                                                     : std::string(v);
        };
        if (key == "scenario") {
            r.scenario = unquote(value);
            saw_scenario = true;
            continue;
        }
        if (key == "proto") {
            r.proto = unquote(value);
            continue;
        }
        if (key == "order_segments") {
            if (!r.order_segments.parse(value)) return std::nullopt;
            continue;
        }
        if (key == "latency_ns") {
            if (!parse_hist(value, r.latency)) return std::nullopt;
            saw_lat = true;
            continue;
        }
        if (key == "login_latency_ns") {
            if (!parse_hist(value, r.login_latency)) return std::nullopt;
            saw_login = true;
            continue;
        }
        bool bad = false;
        each_counter(r, [&](const char* k, std::uint64_t& v) {
            if (key == k && !parse_u64(value, v)) bad = true;
        });
        each_time(r, [&](const char* k, double& v) {
            if (key == k) {
                const std::string s(value);
                char* end = nullptr;
                v = std::strtod(s.c_str(), &end);
                if (end != s.c_str() + s.size()) bad = true;
            }
        });
        if (bad) return std::nullopt;
    }
    if (!saw_scenario || !saw_lat || !saw_login) return std::nullopt;
    return r;
}

std::string Result::table() const {
    std::string out;
    char buf[256];
    auto row = [&](const char* name, const std::string& value) {
        std::snprintf(buf, sizeof buf, "  %-22s %s\n", name, value.c_str());
        out += buf;
    };
    auto num = [](std::uint64_t v) { return std::to_string(v); };
    std::snprintf(buf, sizeof buf, "chat-load: %s over %s, %llu process(es)%s\n", scenario.c_str(),
                  proto.c_str(), (unsigned long long)processes, ok() ? "" : "  ** FAILED **");
    out += buf;
    row("clients", num(clients) + " asked, " + num(connected) + " connected, " + num(logged_in) +
                       " logged in, " + num(login_failures) + " failed");
    if (register_s > 0)
        row("registered", num(registered) + " accounts in " + fmt_double(register_s) + " s (" +
                              fmt_double(static_cast<double>(registered) / register_s) + "/s)");
    if (login_s > 0) row("login phase", fmt_double(login_s) + " s");
    if (account_logins)
        row("account logins",
            num(account_logins) + " (" +
                fmt_double(static_cast<double>(account_logins) / (login_s > 0 ? login_s : 1)) + "/s), " +
                num(auth_busy) + " retried after ERROR unavailable");
    if (login_latency.count())
        row("login latency", "p50 " + human_ns(login_latency.percentile(50)) + ", p99 " +
                                 human_ns(login_latency.percentile(99)) + ", max " +
                                 human_ns(login_latency.max()));
    if (senders) {
        std::string load = num(senders) + " senders, ";
        load += offered_rate > 0 ? fmt_double(offered_rate) + " msg/s offered (open loop)"
                                 : "closed loop, window " + num(window);
        row("load", load);
    }
    if (sessions)
        row("sessions",
            num(sessions) + " (" + fmt_double(sessions / (measured_s > 0 ? measured_s : 1)) + "/s)");
    if (tls_handshakes || tls_failures)
        row("TLS handshakes", num(tls_handshakes) + " done, " + num(tls_failures) + " failed");
    if (measured_s > 0) row("measured", fmt_double(measured_s) + " s");
    row("messages sent", num(sent));
    row("deliveries", num(delivered) + " of " + num(expected) + " expected, " + num(missing()) +
                          " missing, " + num(duplicates) + " dup, " + num(reordered) + " out of order");
    if (order_mismatches) row("order", num(order_mismatches) + " receivers saw another order than the rest");
    if (order_segments.readings())
        row("order by segment", num(order_segments.segments()) + " segments, " +
                                    num(order_segments.readings()) + " read whole, " +
                                    num(order_segments.mismatches()) + " differ from the rest");
    else if (processes > 1 && scenario == "fanout")
        row("order by segment", "not compared: no receiver read a segment whole");
    if (foreign) row("from other processes", num(foreign));
    if (measured_s > 0) row("delivered/s", fmt_double(deliveries_per_s()));
    if (latency.count()) {
        row("latency p50", human_ns(latency.percentile(50)));
        row("latency p90", human_ns(latency.percentile(90)));
        row("latency p99", human_ns(latency.percentile(99)));
        row("latency p99.9", human_ns(latency.percentile(99.9)));
        row("latency max", human_ns(latency.max()));
    }
    row("server errors", num(server_errors));
    row("disconnects", num(disconnects));
    return out;
}

}  // namespace chat::load
