// The operator's side: the Prometheus text, what a reload may change, the
// metrics figures the core counts.
#include <doctest/doctest.h>

#include <string>

#include "server/config.hpp"
#include "server/config_reload.hpp"
#include "server/prometheus.hpp"
#include "server/server_metrics.hpp"

using namespace chat::server;

TEST_CASE("a histogram's buckets are cumulative in the text, with +Inf, _sum and _count") {
    Histogram h{0.1, 1};
    h.observe(0.05);
    h.observe(0.1);  // on the bound: in that bucket (le means "less or equal")
    h.observe(0.5);
    h.observe(7);
    PromText t;
    t.histogram("x_seconds", "help text", h.snapshot());
    CHECK(t.text() ==
          "# HELP x_seconds help text\n# TYPE x_seconds histogram\n"
          "x_seconds_bucket{le=\"0.1\"} 2\nx_seconds_bucket{le=\"1\"} 3\nx_seconds_bucket{le=\"+Inf\"} 4\n"
          "x_seconds_sum 7.65\nx_seconds_count 4\n");
}

TEST_CASE("values: integers exact, others with 9 digits; labels escaped") {
    CHECK(PromText::format_value(0) == "0");
    CHECK(PromText::format_value(123456789012.0) == "123456789012");
    CHECK(PromText::format_value(0.25) == "0.25");
    CHECK(PromText::label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    PromText t;
    t.family("m_total", "counter", "h");
    t.sample("m_total", "code=\"x\"", 3);
    t.sample("m_total", 4);
    CHECK(t.text() == "# HELP m_total h\n# TYPE m_total counter\nm_total{code=\"x\"} 3\nm_total 4\n");
}

TEST_CASE("render_metrics: counters by label, in-memory storage without database histograms") {
    MetricsInputs in;
    in.core.online = 2;
    in.core.messages_public = 3;
    in.core.messages_private = 1;
    in.core.logins_guest = 2;
    in.core.errors = {{"nick-in-use", 1}};
    in.tcp.open = 3;
    const std::string text = render_metrics(in);
    CHECK(text.find("chatd_users_online 2\n") != std::string::npos);
    CHECK(text.find("chatd_messages_total{kind=\"public\"} 3\n") != std::string::npos);
    CHECK(text.find("chatd_messages_total{kind=\"private\"} 1\n") != std::string::npos);
    CHECK(text.find("chatd_refusals_total{reason=\"nick-in-use\"} 1\n") != std::string::npos);
    CHECK(text.find("chatd_connections{state=\"open\"} 3\n") != std::string::npos);
    CHECK(text.find("chatd_storage_commit_duration_seconds") == std::string::npos);
    in.storage.database = true;
    CHECK(render_metrics(in).find("chatd_storage_commit_duration_seconds_count 0\n") != std::string::npos);
}

TEST_CASE("plan_reload: live options are applied, the others are named as needing a restart") {
    ServerConfig running;
    ServerConfig fresh = running;
    SUBCASE("nothing changed") {
        ReloadPlan p = plan_reload(running, fresh);
        CHECK(p.changed.empty());
        CHECK(p.need_restart.empty());
    }
    SUBCASE("rate, history, registration, log level: live") {
        fresh.limits.rate = 2.5;
        fresh.limits.recent_history = 5;
        fresh.limits.registration_open = false;
        fresh.log_level = "debug";
        fresh.max_outbuf = 4096;
        ReloadPlan p = plan_reload(running, fresh);
        CHECK(p.next.limits.rate == 2.5);
        CHECK(p.next.limits.recent_history == 5);
        CHECK_FALSE(p.next.limits.registration_open);
        CHECK(p.next.log_level == "debug");
        CHECK(p.next.max_outbuf == 4096);
        REQUIRE(p.changed.size() == 5);
        CHECK(p.changed[0] == "rate 20 -> 2.5");
        CHECK(p.need_restart.empty());
    }
    SUBCASE("port, database, max-line, password cost: restart, the running values stay") {
        fresh.port = 6000;
        fresh.db = "mysql://x@127.0.0.1/y";
        fresh.limits.max_line = 100;
        fresh.auth.opslimit = 3;
        fresh.limits.login_timeout = Millis(1500);
        ReloadPlan p = plan_reload(running, fresh);
        CHECK(p.next.port == running.port);
        CHECK(p.next.db == running.db);
        CHECK(p.next.limits.max_line == running.limits.max_line);
        CHECK(p.next.limits.login_timeout == Millis(1500));
        REQUIRE(p.changed.size() == 1);
        CHECK(p.changed[0] == "login-timeout 30 s -> 1.5 s");
        REQUIRE(p.need_restart.size() == 4);
        CHECK(p.need_restart[0] == "port 5000 -> 6000");
    }
}
