// doctest's implementation, compiled once for every test program: in the
// sanitizer build it alone took 15-50 s per program when each had its own.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
