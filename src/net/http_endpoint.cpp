#include "net/http_endpoint.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "net/listen_socket.hpp"

namespace chat::net {

namespace {

const char* reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        default: return "Error";
    }
}

}  // namespace

bool HttpEndpoint::parse_request(std::string_view head, Request& out, bool& bad) {
    bad = false;
    const auto eol = head.find('\n');
    if (eol == std::string_view::npos) return false;
    std::string_view line = head.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.substr(sp2 + 1).substr(0, 5) != "HTTP/" || sp1 == 0) {
        bad = true;
        return false;
    }
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (target.empty() || target.front() != '/') {
        bad = true;
        return false;
    }
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    // The head ends with an empty line; headers themselves do not matter here.
    if (head.find("\r\n\r\n") == std::string_view::npos && head.find("\n\n") == std::string_view::npos)
        return false;
    out.method.assign(line.substr(0, sp1));
    out.path.assign(target);
    return true;
}

std::string HttpEndpoint::format_response(const HttpResponse& r, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (r.status == 405) out += "Allow: GET, HEAD\r\n";
    out += "Connection: close\r\n\r\n";
    if (!head_only) out += r.body;
    return out;
}

struct HttpEndpoint::Impl {
    struct Client {
        Fd fd;
        std::string in;
        std::string out;
        std::size_t sent = 0;
        Reactor::TimerId timer = 0;
        bool answered = false;
        bool lingering = false;  // answered and FIN sent: reading what the peer still sends, until its FIN
    };

    Impl(Reactor& r, Handler h) : reactor(r), handler(std::move(h)) {}

    Reactor& reactor;
    Handler handler;
    ListenSocket listener;
    std::unordered_map<int, std::unique_ptr<Client>> clients;

    void on_accept() {
        for (;;) {
            Fd fd(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!fd) return;  // EAGAIN, or out of fds: the next edge tries again
            if (clients.size() >= kMaxClients) continue;  // closed at once: scrapes are few
            const int fdn = fd.get();
            auto c = std::make_unique<Client>();
            c->fd = std::move(fd);
            c->timer = reactor.add_timer(Clock::now() + kTimeout, [this, fdn] {
                if (auto it = clients.find(fdn); it != clients.end()) {
                    it->second->timer = 0;
                    drop(fdn);
                }
            });
            clients.emplace(fdn, std::move(c));
            if (!reactor.add(fdn, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             [this, fdn](std::uint32_t ev) { on_event(fdn, ev); })) {
                drop(fdn);
                continue;
            }
        }
    }

    void on_event(int fdn, std::uint32_t ev) {
        auto it = clients.find(fdn);
        if (it == clients.end()) return;
        Client& c = *it->second;
        if (c.lingering) {
            discard_input(fdn);
            return;
        }
        if (!c.answered && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
            char buf[2048];
            for (;;) {
                ssize_t n = ::recv(fdn, buf, sizeof buf, 0);
                if (n > 0) {
                    c.in.append(buf, static_cast<std::size_t>(n));
                    if (c.in.size() > kMaxRequest) break;
                    continue;
                }
                if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    drop(fdn);
                    return;
                }
                if (errno == EAGAIN) break;
            }
            Request req;
            bool bad = false;
            if (c.in.size() > kMaxRequest) {
                answer(c, HttpResponse{431, "text/plain; charset=utf-8", "request too large\n"}, false);
            } else if (parse_request(c.in, req, bad)) {
                if (req.method != "GET" && req.method != "HEAD")
                    answer(c, HttpResponse{405, "text/plain; charset=utf-8", "GET or HEAD only\n"}, false);
                else
                    answer(c, handler(req.path), req.method == "HEAD");
            } else if (bad) {
                answer(c, HttpResponse{400, "text/plain; charset=utf-8", "bad request\n"}, false);
            }
        }
        if (c.answered) write_some(fdn, c);
    }

    void answer(Client& c, const HttpResponse& r, bool head_only) {
        c.answered = true;
        c.in.clear();
        c.in.shrink_to_fit();
        c.out = format_response(r, head_only);
    }

    void write_some(int fdn, Client& c) {
        while (c.sent < c.out.size()) {
            ssize_t n = ::send(fdn, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n > 0) {
                c.sent += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT brings the rest
            drop(fdn);
            return;
        }
        // Closing with unread input would send a reset that can destroy the answer before the
        // peer reads it (a 431 for a head still arriving): FIN first, then read to the peer's
        // FIN, within the connection's timeout.
        ::shutdown(fdn, SHUT_WR);
        c.lingering = true;
        c.out.clear();
        c.out.shrink_to_fit();
        discard_input(fdn);
    }

    void discard_input(int fdn) {
        char buf[2048];
        for (;;) {
            ssize_t n = ::recv(fdn, buf, sizeof buf, 0);
            if (n > 0) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            drop(fdn);  // the peer's FIN, or an error
            return;
        }
    }

    void drop(int fdn) {
        auto it = clients.find(fdn);
        if (it == clients.end()) return;
        if (it->second->timer) reactor.cancel_timer(it->second->timer);
        reactor.remove(fdn);
        clients.erase(it);
    }

    void stop() {
        while (!clients.empty()) drop(clients.begin()->first);
        if (listener.fd) {
            reactor.remove(listener.fd.get());
            listener.fd.reset();
        }
    }
};

HttpEndpoint::HttpEndpoint(Reactor& reactor, Handler handler)
    : impl_(std::make_unique<Impl>(reactor, std::move(handler))) {}

HttpEndpoint::~HttpEndpoint() { impl_->stop(); }

std::string HttpEndpoint::listen(const std::string& bind_address, std::uint16_t port) {
    if (impl_->listener.fd) return "already listening";
    ListenSocket sock;
    if (std::string err = open_listen_socket(bind_address, port, sock, 64); !err.empty()) return err;
    Impl* s = impl_.get();
    if (!s->reactor.add(sock.fd.get(), EPOLLIN | EPOLLET, [s](std::uint32_t) { s->on_accept(); }))
        return std::string("epoll_ctl: ") + std::strerror(errno);
    s->listener = std::move(sock);
    return {};
}

std::uint16_t HttpEndpoint::port() const noexcept { return impl_->listener.port; }

void HttpEndpoint::stop() { impl_->stop(); }

}  // namespace chat::net
