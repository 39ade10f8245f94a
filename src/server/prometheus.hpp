// The Prometheus text exposition format (version 0.0.4), written by hand: a
// few families of counters, gauges and histograms need no library, and the
// output must be produced on the reactor thread without locks or threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chat::server {

// A histogram with fixed upper bounds, safe to observe from any thread
// (relaxed atomics: a scrape may see one observation half-counted, which
// Prometheus tolerates; no lock is ever taken).
class Histogram {
public:
    explicit Histogram(std::initializer_list<double> upper_bounds);
    void observe(double value) noexcept;

    struct Snapshot {
        std::vector<double> bounds;
        std::vector<std::uint64_t> counts;  // per bucket (not cumulative), bounds.size() + 1 with +Inf
        std::uint64_t count = 0;
        double sum = 0;
    };
    Snapshot snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
};

class PromText {
public:
    // One family: `# HELP` and `# TYPE` lines; then its samples.
    void family(std::string_view name, std::string_view type, std::string_view help);
    // `labels` is empty or `key="value",...` with values already escaped (label_value()).
    void sample(std::string_view name, std::string_view labels, double value);
    void sample(std::string_view name, double value) { sample(name, {}, value); }
    // A whole family of one sample.
    void counter(std::string_view name, std::string_view help, double value);
    void gauge(std::string_view name, std::string_view help, double value);
    void histogram(std::string_view name, std::string_view help, const Histogram::Snapshot& h);

    static std::string label_value(std::string_view raw);  // backslash, quote and LF escaped
    static std::string format_value(double v);

    std::string take() { return std::move(out_); }
    const std::string& text() const { return out_; }

    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    std::string out_;
};

}  // namespace chat::server
