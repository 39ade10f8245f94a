// The chat core's commands: what a logged-in user's lines do (the public and
// private messages, /estado, /perfil, /ayuda...). core.cpp: sessions and logins.
#include <algorithm>

#include "proto/command.hpp"
#include "proto/names.hpp"
#include "proto/server_line.hpp"
#include "proto/text.hpp"
#include "server/core.hpp"
#include "server/core_session.hpp"
#include "server/log.hpp"

namespace chat::server {

using proto::append_line;

namespace {

constexpr std::string_view kHelp[] = {
    "Commands (Spanish and English names are equal):",
    "  text                       public message to everyone",
    "  !nick text, /msg nick text private message",
    "  /estado <s>, /status <s>   set your status: disponible, ocupado, ausente, ...",
    "  /listar, /list, /who       connected users and their statuses",
    "  /perfil [nick], /profile   id, creation, last login, last seen",
    "  /historial [n], /history   your last n messages (default 20, at most 200)",
    "  /registrar <password>, /register   make your nickname an account with this password",
    "  /clave <password>, /password       change your account's password",
    "  /ping [token]              the server answers PONG",
    "  /ayuda, /help              this help",
    "  /salir, /desconectar, /quit [reason]   leave",
    "  //text, !!text             public message starting with / or !",
};

}  // namespace

void ChatCore::send_profile(Session& s, const UserRecord& u, bool online) {
    std::string out = "PROFILE ";
    out += u.nick;
    out += " id=" + std::to_string(u.id);
    out += " status=" + u.status;
    out += " created=" + proto::format_time(u.created);
    out += " last_login=" + proto::format_time(u.last_login);
    out += " last_seen=" + proto::format_time(u.last_seen);
    out += online ? " online=yes" : " online=no";
    out += u.password_hash.empty() ? " account=no\n" : " account=yes\n";
    io_.send(s.id, out);
}

void ChatCore::send_help(Session& s) {
    std::string out;
    for (auto line : kHelp) append_line(out, "HELP", {}, line);
    append_line(out, "END", {"HELP", std::to_string(std::size(kHelp))});
    io_.send(s.id, out);
}

void ChatCore::handle_command(Session& s, std::string_view line) {
    using proto::Cmd;
    proto::Command c = proto::parse_command(line);
    switch (c.kind) {
        case Cmd::Public:
            public_message(s, c.text);
            break;
        case Cmd::Private:
            private_message(s, c.arg, c.text);
            break;
        case Cmd::Status:
            set_status(s, c.arg);
            break;
        case Cmd::List:
            send_roster(s);
            produce(s);
            break;
        case Cmd::Profile: {
            if (c.arg.empty()) {
                send_profile(s, s.user, true);
                break;
            }
            if (!proto::is_valid_nick(c.arg)) {
                send_error(s.id, "no-such-user", param_or_q(c.arg), "no such user");
                break;
            }
            std::string key = proto::fold_nick(c.arg);
            auto it = by_key_.find(key);
            if (it != by_key_.end() && !cluster_) {
                Session* o = find(it->second);
                if (o && o->state == State::Active) {
                    send_profile(s, o->user, true);
                    break;
                }
            }
            Token t = next_token_++;
            wait_for(s, t, Asked::Profile, std::string(c.arg));
            storage_.submit(ProfileRequest{t, std::move(key)});
            break;
        }
        case Cmd::History: {
            Token t = next_token_++;
            wait_for(s, t);
            storage_.submit(HistoryRequest{t, s.user.id, c.count});
            break;
        }
        case Cmd::Help:
            send_help(s);
            break;
        case Cmd::Ping:
            scratch_.clear();
            append_line(scratch_, "PONG", {c.arg.empty() ? std::string_view("-") : c.arg});
            io_.send(s.id, scratch_);
            break;
        case Cmd::Pong:
            break;
        case Cmd::Quit:
            quit(s, c.text);
            break;
        case Cmd::Register:
            set_password(s, Asked::Register, c.text);
            break;
        case Cmd::Password:
            set_password(s, Asked::Change, c.text);
            break;
        case Cmd::Unknown:
            send_error(s.id, "unknown-command", c.arg, "unknown command; /ayuda lists them");
            break;
        case Cmd::Usage: {
            std::string_view text = "usage";
            if (c.arg == "status")
                text = "usage: /estado <status>";
            else if (c.arg == "msg")
                text = "usage: !nick text or /msg nick text";
            else if (c.arg == "history")
                text = "usage: /historial [n], n from 1";
            else if (c.arg == "ping")
                text = "usage: /ping [token], token of 1-32 A-Z a-z 0-9 . _ -";
            else if (c.arg == "register")
                text = "usage: /registrar <password>, 8 to 128 bytes";
            else if (c.arg == "password")
                text = "usage: /clave <new password>, 8 to 128 bytes";
            send_error(s.id, "usage", c.arg, text);
            break;
        }
        case Cmd::StatusInvalid:
            send_error(s.id, "status-invalid", {},
                       "a status is one word of 1 to 32 letters, digits, _ - . or characters from U+00C0 up");
            break;
    }
}

// Not stored, not accepted: a message storage cannot keep reaches nobody.
void ChatCore::refuse_unstored(Session& s) {
    send_error(s.id, "unavailable", {}, "storage cannot keep messages now; not sent, try again later");
    LOG_DEBUG("#%llu: message refused, storage full", static_cast<unsigned long long>(s.id));
}

void ChatCore::public_message(Session& s, std::string_view text) {
    if (cluster_) {
        cluster_public(s, text);
        return;
    }
    StoredMessage m{next_message_id(), now_s(), s.user.nick, {}, std::string(text)};
    if (!storage_.write(MessageEvent{m.id, m.time, s.user.id, 0, m.body})) {
        refuse_unstored(s);
        return;
    }
    ++messages_;
    scratch_.clear();
    append_line(scratch_, "MSG", {s.user.nick}, text);
    deliver_to_all(scratch_);
    remember_recent(m);
}

void ChatCore::remember_recent(const StoredMessage& m) {
    if (limits_.recent_history <= 0) return;
    if (recent_.size() >= static_cast<std::size_t>(limits_.recent_history)) recent_.pop_front();
    recent_.push_back(RecentLine{m.id, hist_line(m)});
}

void ChatCore::private_message(Session& s, std::string_view nick, std::string_view text) {
    if (cluster_ && proto::is_valid_nick(nick)) {
        if (const ClusterUser* u = cluster_->find(proto::fold_nick(nick))) {
            cluster_private(s, *u, text);
            return;
        }
    }
    Session* to = nullptr;
    if (proto::is_valid_nick(nick)) {
        auto it = by_key_.find(proto::fold_nick(nick));
        if (it != by_key_.end()) {
            to = find(it->second);
            if (to && to->state != State::Active) to = nullptr;
        }
    }
    if (!to && !proto::is_valid_nick(nick)) {
        send_error(s.id, "no-such-user", param_or_q(nick), "no such user online");
        return;
    }
    if (!to) {
        // The error names the user as first spelled, which only storage knows for one offline.
        Token t = next_token_++;
        wait_for(s, t, Asked::Recipient, std::string(nick));
        storage_.submit(ProfileRequest{t, proto::fold_nick(nick)});
        return;
    }
    if (!storage_.write(
            MessageEvent{next_message_id(), now_s(), s.user.id, to->user.id, std::string(text)})) {
        refuse_unstored(s);
        return;
    }
    ++messages_;
    ++messages_private_;
    scratch_.clear();
    append_line(scratch_, "PRIV", {s.user.nick, to->user.nick}, text);
    io_.send(to->id, scratch_);
    ++deliveries_;
    if (to != &s) {
        io_.send(s.id, scratch_);
        ++deliveries_;
    }
}

void ChatCore::set_status(Session& s, std::string_view status) {
    if (cluster_) {  // STATUS when it comes back through the order
        if (!cluster_->set_status(s.user.nick, status))
            send_error(s.id, "unavailable", {}, "the cluster cannot be reached; try again later");
        else
            await_echo(s, 0);
        return;
    }
    s.user.status = std::string(status);
    scratch_.clear();
    append_line(scratch_, "STATUS", {s.user.nick, status});
    broadcast(scratch_);
    storage_.write(StatusEvent{s.user.id, s.user.status});
}

}  // namespace chat::server
