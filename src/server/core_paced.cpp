// Replies paced to the reader: the roster, /listar, the recent history and
// /historial are produced from a cursor as the client's socket drains, never
// copied whole into its output (docs/architecture.md, "Replies paced to the
// reader").
#include <algorithm>

#include "proto/server_line.hpp"
#include "server/core.hpp"
#include "server/core_session.hpp"

namespace chat::server {

using proto::append_line;

void append_hist_line(std::string& out, const StoredMessage& m) {
    append_line(out, "HIST", {proto::format_time(m.time), m.from, m.to.empty() ? "*" : m.to}, m.body);
}

// A cursor over online_, which is kept in roster order: a login costs a pass, not a sort, and the
// list is made as the client reads it, never copied whole.
void ChatCore::send_roster(Session& s) {
    PacedPart part;
    part.kind = PacedPart::Kind::Users;
    start_paced(s, std::move(part));
}

// Queues a part; the caller then produces the first chunk at once (a small
// reply is complete at the moment of the request), the rest as the socket drains.
void ChatCore::start_paced(Session& s, PacedPart part) {
    if (!s.paced) {
        s.paced = std::make_unique<Paced>();
        s.paced->progress_at = clock_.now();
        io_.pause(s.id);
        io_.begin_paced(s.id);
    }
    s.paced->parts.push_back(std::move(part));
}

void ChatCore::on_drained(ConnId id) {
    Session* s = find(id);
    if (s && s->paced) produce(*s);
}

void ChatCore::produce(Session& s) {
    Paced& p = *s.paced;
    std::string& out = paced_buf_;
    out.clear();
    const std::size_t chunk = std::max<std::size_t>(limits_.paced_chunk, 1);
    while (p.current < p.parts.size() && out.size() < chunk) {
        PacedPart& part = p.parts[p.current];
        bool done = false;
        switch (part.kind) {
            case PacedPart::Kind::Users: {
                if (cluster_) {
                    produce_cluster_users(part, out, chunk, done);
                    break;
                }
                auto it =
                    part.after.empty()
                        ? online_.begin()
                        : std::upper_bound(online_.begin(), online_.end(), part.after,
                                           [](const std::string& k, const Session* u) { return k < u->key; });
                const Session* last = nullptr;
                for (; it != online_.end() && out.size() < chunk; ++it) {
                    append_line(out, "USER", {(*it)->user.nick, (*it)->user.status});
                    last = *it;
                    ++part.count;
                }
                if (last) part.after = last->key;
                if (it == online_.end()) {
                    append_line(out, "END", {"USERS", std::to_string(part.count)});
                    done = true;
                }
                break;
            }
            case PacedPart::Kind::Lines:
                for (; part.next < part.lines.size() && out.size() < chunk; ++part.next)
                    out += *part.lines[part.next];
                if (part.next == part.lines.size()) {
                    append_line(out, "END", {"HIST", std::to_string(part.lines.size())});
                    done = true;
                }
                break;
            case PacedPart::Kind::History:
                for (; part.next < part.history.size() && out.size() < chunk; ++part.next) {
                    const StoredMessage& m = part.history[part.next];
                    append_hist_line(out, m);
                }
                if (part.next == part.history.size()) {
                    append_line(out, "END", {"HIST", std::to_string(part.history.size())});
                    done = true;
                }
                break;
        }
        if (done) p.parts[p.current++] = PacedPart{};  // frees what that part held
    }
    p.progress_at = clock_.now();
    if (!out.empty()) io_.send_paced(s.id, out);
    if (out.capacity() > 4 * chunk) std::string().swap(out);
    if (p.current == p.parts.size()) {
        s.paced.reset();
        io_.end_paced(s.id);
        unblock(s);
    }
}

// While a USER list is on its way, JOIN and PART lines about users it has not
// reached yet are left out for that client: the list shows them as they are
// when it gets there. So every other user is either in the list or in a later
// JOIN, never both, and a PART only follows a user the client was told of.
// The roster of a cluster: the link's presence table, kept by folded key, i.e. in roster order.
void ChatCore::produce_cluster_users(PacedPart& part, std::string& out, std::size_t chunk, bool& done) {
    const auto& users = cluster_->users();
    auto it = part.after.empty() ? users.begin() : users.upper_bound(part.after);
    for (; it != users.end() && out.size() < chunk; ++it) {
        append_line(out, "USER", {it->second.nick, it->second.status});
        part.after = it->first;
        ++part.count;
    }
    if (it == users.end()) {
        append_line(out, "END", {"USERS", std::to_string(part.count)});
        done = true;
    }
}

bool ChatCore::roster_will_list(const Session& o, const std::string& key) const {
    if (!o.paced || o.paced->current >= o.paced->parts.size()) return false;
    const PacedPart& part = o.paced->parts[o.paced->current];
    return part.kind == PacedPart::Kind::Users && (part.after.empty() || key > part.after);
}

void ChatCore::broadcast_presence(std::string_view line, const std::string& key, ConnId except) {
    for (const Session* o : online_)
        if (o->id != except && !roster_will_list(*o, key)) io_.send(o->id, line);
}

}  // namespace chat::server
