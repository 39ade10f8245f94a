#include <doctest/doctest.h>

#include "server/log.hpp"

int main(int argc, char** argv) {
    chat::server::set_log_level(chat::server::LogLevel::Error);  // keep test output readable
    return doctest::Context(argc, argv).run();
}
