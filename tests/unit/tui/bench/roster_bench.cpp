// chat-roster-bench: the client's CPU for a big room (not a test: it prints
// figures, docs/client.md has them). With N users online (20,000 by
// default): the login (WELCOME, N USER lines, END USERS, 20 HIST), a /listar
// answer (N USER lines), and 1,000 JOIN/PART lines, each fed to the model
// as the client would, timed on the process CPU clock, median of RUNS. For
// comparison, the roster insertion the client had before (a vector kept
// sorted by a linear search that folds both nicks at every comparison).
//   chat-roster-bench [users] [runs]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/names.hpp"
#include "tui/model.hpp"

using chat::tui::Model;

namespace {

double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string nick(int i) {
    return "usuario" + std::to_string(i * 7919 % 1000003);
}  // not in sorted order

struct Figures {
    double login, listar, churn;
};

Figures run(int users) {
    Model m;
    m.set_wanted_nick("ana");
    const std::int64_t now = 1'764'000'000;
    double t = cpu_ms();
    m.apply("HELLO chatd 2 :welcome", now);
    m.apply("WELCOME ana 7 :hola ana", now);
    for (int i = 0; i < users; ++i) m.apply("USER " + nick(i) + " disponible", now);
    m.apply("END USERS " + std::to_string(users), now);
    for (int i = 0; i < 20; ++i)
        m.apply("HIST 2025-11-24T10:00:00Z " + nick(i) + " * :hola " + std::to_string(i), now);
    m.apply("END HIST 20", now);
    (void)m.users().size();  // the list the sidebar draws
    const double login = cpu_ms() - t;

    t = cpu_ms();
    for (int i = 0; i < users; ++i) m.apply("USER " + nick(i) + " disponible", now);
    m.apply("END USERS " + std::to_string(users), now);
    (void)m.users().size();
    const double listar = cpu_ms() - t;

    t = cpu_ms();
    for (int i = 0; i < 500; ++i) {
        m.apply("JOIN nuevo" + std::to_string(i) + " disponible", now);
        m.apply("PART " + nick(i) + " :quit", now);
    }
    (void)m.users().size();
    const double churn = cpu_ms() - t;
    if (m.users().size() != static_cast<std::size_t>(users)) std::fprintf(stderr, "roster size is wrong\n");
    return {login, listar, churn};
}

// The insertion the client had before: linear, folding both nicks at each comparison.
double old_insertion(int users) {
    struct U {
        std::string nick, status;
    };
    std::vector<U> v;
    const double t = cpu_ms();
    for (int i = 0; i < users; ++i) {
        const std::string n = nick(i), key = chat::proto::fold_nick(n);
        bool found = false;
        for (U& u : v) {
            if (chat::proto::fold_nick(u.nick) == key) {
                found = true;
                break;
            }
        }
        if (found) continue;
        auto pos =
            std::find_if(v.begin(), v.end(), [&](const U& u) { return !chat::proto::nick_less(u.nick, n); });
        v.insert(pos, U{n, "disponible"});
    }
    return cpu_ms() - t;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int users = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
    std::vector<double> login, listar, churn;
    for (int r = 0; r < runs; ++r) {
        const Figures f = run(users);
        login.push_back(f.login);
        listar.push_back(f.listar);
        churn.push_back(f.churn);
    }
    std::printf("users %d, median of %d runs, client CPU (model, as the client feeds it):\n", users, runs);
    std::printf("  login (WELCOME, %d USER, END USERS, 20 HIST)   %8.1f ms\n", users, median(login));
    std::printf("  /listar (%d USER, END USERS)                   %8.1f ms\n", users, median(listar));
    std::printf("  1,000 JOIN/PART                                   %8.1f ms\n", median(churn));
    std::printf("  before: the old linear insertion, %d USER alone  %8.1f ms\n", users, old_insertion(users));
    return 0;
}
