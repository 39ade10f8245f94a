// Secret, the hidden input line and the steps of a new password.
#include "tui/secret.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tui/passwords.hpp"

using namespace chat::tui;

TEST_CASE("Secret: assign, append, pop a whole code point, clear, a fixed capacity") {
    Secret s("clave");
    CHECK(s.view() == "clave");
    CHECK(s.append(" ñ"));
    CHECK(s.view() == "clave ñ");
    s.pop_char();
    CHECK(s.view() == "clave ");  // both bytes of ñ
    s.pop_char();
    CHECK(s.view() == "clave");
    s.clear();
    CHECK(s.empty());
    s.pop_char();  // nothing to pop
    CHECK(s.empty());

    Secret full(std::string(Secret::kCapacity, 'x'));
    CHECK(full.size() == Secret::kCapacity);
    CHECK_FALSE(full.append("y"));
    CHECK(full.size() == Secret::kCapacity);
    Secret over;
    CHECK_FALSE(over.assign(std::string(Secret::kCapacity + 1, 'x')));
    CHECK(over.empty());
}

TEST_CASE("Secret: a move hands the buffer over, equals compares bytes") {
    Secret a("contraseña-1");
    const char* bytes = a.view().data();
    Secret b(std::move(a));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is part of the contract
    CHECK(b.view().data() == bytes);
    CHECK(b.view() == "contraseña-1");
    CHECK(b.equals(Secret("contraseña-1")));
    CHECK_FALSE(b.equals(Secret("contraseña-2")));
    CHECK_FALSE(b.equals(Secret("contraseña")));
    Secret c;
    c = std::move(b);
    CHECK(c.view() == "contraseña-1");
}

TEST_CASE("wipe empties a string") {
    std::string s = "/clave secret123";
    wipe(s);
    CHECK(s.empty());
}

TEST_CASE("HiddenInput: typing, Backspace, Ctrl-U; control characters but TAB are not taken") {
    HiddenInput in;
    for (char32_t cp : std::u32string(U"mi clave")) CHECK(in.insert(cp));
    CHECK(in.value().view() == "mi clave");
    in.insert(U'\t');
    in.insert(U'\x1b');
    in.insert(U'\x7f');
    in.insert(U'\u0085');
    in.insert(U'😀');
    CHECK(in.value().view() == "mi clave\t😀");
    in.backspace();
    in.backspace();
    CHECK(in.value().view() == "mi clave");
    Secret taken = in.take();
    CHECK(taken.view() == "mi clave");
    CHECK(in.empty());
    in.insert(U'x');
    in.clear();
    CHECK(in.empty());
}

TEST_CASE("Passwords: a new password is asked twice; a mismatch sends nothing") {
    Passwords p;
    p.start_new("/registrar");
    CHECK(p.prompt() == Passwords::Prompt::NewFirst);
    CHECK(p.enter_new(Secret("clave-larga-1")) == Passwords::Step::AskAgain);
    CHECK(p.prompt() == Passwords::Prompt::NewSecond);
    CHECK(p.enter_new(Secret("clave-larga-2")) == Passwords::Step::Mismatch);
    CHECK(p.prompt() == Passwords::Prompt::None);
    CHECK(p.pending().empty());

    p.start_new("/registrar");
    CHECK(p.enter_new(Secret("clave-larga-1")) == Passwords::Step::AskAgain);
    CHECK(p.enter_new(Secret("clave-larga-1")) == Passwords::Step::Send);
    CHECK(p.new_command() == "/registrar");
    CHECK(p.pending().view() == "clave-larga-1");
    CHECK_FALSE(p.have());
    CHECK(p.new_confirmed("ana"));
    CHECK(p.have());
    CHECK(p.kept().view() == "clave-larga-1");
    CHECK(p.for_nick() == "ana");
    CHECK(p.source() == Passwords::Source::Changed);
    CHECK(p.pending().empty());
    CHECK_FALSE(p.new_confirmed("ana"));  // nothing pending any more
}

TEST_CASE("Passwords: an invalid first entry or an empty one ends the prompt") {
    Passwords p;
    p.start_new("/clave");
    CHECK(p.enter_new(Secret("corta")) == Passwords::Step::Invalid);
    CHECK(p.prompt() == Passwords::Prompt::None);
    p.start_new("/clave");
    CHECK(p.enter_new(Secret(" empieza-con-espacio")) == Passwords::Step::Invalid);
    p.start_new("/clave");
    CHECK(p.enter_new(Secret()) == Passwords::Step::Cancelled);
    p.start_new("/clave");
    CHECK(p.enter_new(Secret("clave-larga-1")) == Passwords::Step::AskAgain);
    CHECK(p.enter_new(Secret()) == Passwords::Step::Cancelled);
    CHECK(p.pending().empty());
    // Trailing spaces are part of a password: kept byte-exact.
    p.start_new("/clave");
    CHECK(p.enter_new(Secret("con espacio al final  ")) == Passwords::Step::AskAgain);
    CHECK(p.enter_new(Secret("con espacio al final  ")) == Passwords::Step::Send);
    CHECK(p.pending().view() == "con espacio al final  ");
    p.new_refused();
    CHECK(p.pending().empty());
    CHECK_FALSE(p.have());
}

TEST_CASE("Passwords: the login password is kept only once the login is confirmed") {
    Passwords p;
    p.typed_login(Secret("clave-larga-1"));
    CHECK_FALSE(p.have());
    p.login_refused();
    p.logged_in("ana");
    CHECK_FALSE(p.have());
    p.typed_login(Secret("clave-larga-2"));
    p.logged_in("Ana");
    CHECK(p.have());
    CHECK(p.kept().view() == "clave-larga-2");
    CHECK(p.for_nick() == "Ana");
    CHECK(p.source() == Passwords::Source::Typed);
    p.forget();
    CHECK_FALSE(p.have());
    CHECK(p.for_nick().empty());

    p.set_initial(Secret("desde-fichero"), Passwords::Source::File);
    CHECK(p.have());
    CHECK(p.for_nick().empty());  // any nick
    CHECK(p.source() == Passwords::Source::File);
    p.new_sent_inline("inline-password");
    CHECK(p.new_confirmed("ana"));
    CHECK(p.kept().view() == "inline-password");
}

TEST_CASE("the password commands, in either language and any ASCII case") {
    for (const char* w : {"/registrar", "/register", "/clave", "/password", "/CLAVE", "/Registrar"}) {
        CHECK(is_password_command(w));
    }
    CHECK_FALSE(is_password_command("/clear"));
    CHECK_FALSE(is_password_command("clave"));
}
