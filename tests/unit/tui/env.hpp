// Column widths come from wcwidth and clocks from localtime: pin both.
#pragma once

#include <clocale>
#include <cstdlib>
#include <ctime>

#include <doctest/doctest.h>

inline void test_env() {
    static const bool ok = [] {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
        return std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
    }();
    REQUIRE(ok);
}
