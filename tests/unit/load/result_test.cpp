#include "load/result.hpp"

#include <doctest/doctest.h>

using chat::load::Result;

namespace {

Result sample(std::uint64_t base) {
    Result r;
    r.scenario = "fanout";
    r.proto = "chat";
    r.clients = 100;
    r.senders = 100;
    r.window = 16;
    r.measured_s = 10;
    r.login_s = 0.5 + static_cast<double>(base);
    r.connected = 100;
    r.logged_in = 100;
    r.sent = 1000 * base;
    r.expected = 100'000 * base;
    r.delivered = 100'000 * base;
    r.measured_deliveries = 80'000 * base;
    for (std::uint64_t v = 1; v <= 1000; ++v) r.latency.record(v * 1000 * base);
    r.login_latency.record(5'000'000);
    return r;
}

}  // namespace

TEST_CASE("missing deliveries are what was owed less what arrived once") {
    Result r = sample(1);
    CHECK(r.missing() == 0);
    CHECK(r.ok());
    r.delivered -= 3;
    CHECK(r.missing() == 3);
    CHECK_FALSE(r.ok());
    r.delivered += 5;
    r.duplicates = 2;
    CHECK(r.missing() == 0);
    CHECK_FALSE(r.ok());  // a duplicate is a failure too
}

TEST_CASE("a client that never logged in fails the run") {
    Result r = sample(1);
    r.login_failures = 1;
    CHECK_FALSE(r.ok());
}

TEST_CASE("merging processes adds counts and rates, keeps the longest times, merges latencies") {
    Result a = sample(1), b = sample(2);
    a.offered_rate = 1000;
    b.offered_rate = 1000;
    Result total;
    total.processes = 0;
    total.merge(a);
    total.merge(b);
    CHECK(total.processes == 2);
    CHECK(total.clients == 200);
    CHECK(total.sent == 3000);
    CHECK(total.expected == 300'000);
    CHECK(total.missing() == 0);
    CHECK(total.window == 16);
    CHECK(total.offered_rate == 2000);
    CHECK(total.login_s == doctest::Approx(2.5));
    CHECK(total.deliveries_per_s() == doctest::Approx(24'000));
    CHECK(total.latency.count() == 2000);
    CHECK(total.latency.max() == 2'000'000);
}

TEST_CASE("JSON written by one process is read back whole by the merger") {
    Result a = sample(3);
    a.duplicates = 1;
    a.foreign = 77;
    a.registered = 500;
    a.account_logins = 499;
    a.auth_busy = 436;
    a.register_s = 61.5;
    const auto back = Result::from_json(a.to_json());
    REQUIRE(back);
    CHECK(back->scenario == "fanout");
    CHECK(back->proto == "chat");
    CHECK(back->sent == a.sent);
    CHECK(back->duplicates == 1);
    CHECK(back->foreign == 77);
    CHECK(back->registered == 500);
    CHECK(back->account_logins == 499);
    CHECK(back->auth_busy == 436);
    CHECK(back->register_s == doctest::Approx(61.5));
    CHECK(back->measured_s == doctest::Approx(10));
    CHECK(back->latency.count() == a.latency.count());
    for (double p : {50.0, 99.0, 99.9}) CHECK(back->latency.percentile(p) == a.latency.percentile(p));
    CHECK(back->login_latency.max() == 5'000'000);
    CHECK(back->missing() == a.missing());
}

TEST_CASE("text that is not a result is refused") {
    CHECK_FALSE(Result::from_json(""));
    CHECK_FALSE(Result::from_json("{\"scenario\": \"x\"}"));
    std::string js = sample(1).to_json();
    js.replace(js.find("\"sent\": ") + 8, 1, "z");
    CHECK_FALSE(Result::from_json(js));
}

TEST_CASE("the table tells a failed run apart") {
    Result r = sample(1);
    CHECK(r.table().find("FAILED") == std::string::npos);
    r.delivered -= 1;
    CHECK(r.table().find("FAILED") != std::string::npos);
    CHECK(r.table().find("1 missing") != std::string::npos);
}
