#include "server/cluster_redis.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <charconv>

namespace chat::server {

namespace {

// Keys (one Redis database per cluster):
//   chatd:seq            the last sequence number handed out
//   chatd:log            the ordered log: a stream, entry ids <seq>-0, field e
//   chatd:nodes          hash of the registered nodes
//   chatd:alive:<node>   the node's heartbeat, with the TTL
//   chatd:roster:<node>  hash folded nick -> "<nick> <status> <user id>", the node's users
//   chatd:nick:<folded>  the claim: the owning node, with the TTL
// Every script that writes the log goes through append(): INCR and XADD in
// one step, so the log's order is the sequence's.
constexpr const char* kPrelude = R"lua(
local function append(e)
  local seq = redis.call('INCR', 'chatd:seq')
  redis.call('XADD', 'chatd:log', 'MAXLEN', '~', CAP, seq .. '-0', 'e', e)
  return seq
end
local function nick_of(v) return string.match(v, '^(%S+)') end
local function gone_node(n)
  redis.call('HDEL', 'chatd:nodes', n)
  local r = redis.call('HGETALL', 'chatd:roster:' .. n)
  local nicks = {}
  for i = 1, #r, 2 do
    if redis.call('GET', 'chatd:nick:' .. r[i]) == n then redis.call('DEL', 'chatd:nick:' .. r[i]) end
    nicks[#nicks + 1] = nick_of(r[i + 1])
  end
  redis.call('DEL', 'chatd:roster:' .. n, 'chatd:alive:' .. n)
  if #nicks > 0 then append('G ' .. n .. ' ' .. table.concat(nicks, ' ')) end
end
)lua";

// ARGV: node, ttl, then (folded, nick, status, user id) for each of the node's users.
// Registers the node, claims its users (a Join for each the roster lacks),
// parts what the roster holds beyond them, and returns {seq, {conflicts,
// conflicting..., node, folded, nick, status, id, ...}}: every roster as of seq.
constexpr const char* kHello = R"lua(
local node, ttl = ARGV[1], ARGV[2]
local roster = 'chatd:roster:' .. node
redis.call('HSET', 'chatd:nodes', node, '1')
redis.call('SET', 'chatd:alive:' .. node, '1', 'PX', ttl)
local mine, conflicts = {}, {}
for i = 3, #ARGV - 3, 4 do
  local f, nick, st, id = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local owner = redis.call('GET', 'chatd:nick:' .. f)
  if owner == node or not owner then
    mine[f] = true
    redis.call('SET', 'chatd:nick:' .. f, node, 'PX', ttl)
    if not redis.call('HGET', roster, f) then
      redis.call('HSET', roster, f, nick .. ' ' .. st .. ' ' .. id)
      append('J ' .. node .. ' ' .. nick .. ' ' .. st .. ' ' .. id)
    end
  else
    conflicts[#conflicts + 1] = f
  end
end
local r = redis.call('HGETALL', roster)
for i = 1, #r, 2 do
  if not mine[r[i]] then
    redis.call('HDEL', roster, r[i])
    if redis.call('GET', 'chatd:nick:' .. r[i]) == node then redis.call('DEL', 'chatd:nick:' .. r[i]) end
    append('P ' .. node .. ' ' .. nick_of(r[i + 1]) .. ' closed')
  end
end
local out = {tostring(#conflicts)}
for _, f in ipairs(conflicts) do out[#out + 1] = f end
for _, n in ipairs(redis.call('HKEYS', 'chatd:nodes')) do
  local rr = redis.call('HGETALL', 'chatd:roster:' .. n)
  for i = 1, #rr, 2 do
    local nick, st, id = string.match(rr[i + 1], '^(%S+) (%S+) (%S+)$')
    out[#out + 1] = n; out[#out + 1] = rr[i]; out[#out + 1] = nick; out[#out + 1] = st; out[#out + 1] = id
  end
end
return {tonumber(redis.call('GET', 'chatd:seq') or '0'), out}
)lua";

// ARGV: node, folded, nick, status, ttl, user id. The sequence of the Join; 0 in use; -1 node unknown.
constexpr const char* kClaim = R"lua(
local node, f = ARGV[1], ARGV[2]
if redis.call('HEXISTS', 'chatd:nodes', node) == 0 then return -1 end
if not redis.call('SET', 'chatd:nick:' .. f, node, 'NX', 'PX', ARGV[5]) then return 0 end
local v = ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[6]
redis.call('HSET', 'chatd:roster:' .. node, f, v)
return append('J ' .. node .. ' ' .. v)
)lua";

// ARGV: node, folded, reason. Compare-and-delete: only the node's own claim goes.
constexpr const char* kRelease = R"lua(
local node, f = ARGV[1], ARGV[2]
local v = redis.call('HGET', 'chatd:roster:' .. node, f)
if not v then return 0 end
redis.call('HDEL', 'chatd:roster:' .. node, f)
if redis.call('GET', 'chatd:nick:' .. f) == node then redis.call('DEL', 'chatd:nick:' .. f) end
return append('P ' .. node .. ' ' .. nick_of(v) .. ' ' .. ARGV[3])
)lua";

// ARGV: node, folded, status.
constexpr const char* kStatus = R"lua(
local node, f = ARGV[1], ARGV[2]
local v = redis.call('HGET', 'chatd:roster:' .. node, f)
if not v then return 0 end
local nick, id = string.match(v, '^(%S+) %S+ (%S+)$')
redis.call('HSET', 'chatd:roster:' .. node, f, nick .. ' ' .. ARGV[3] .. ' ' .. id)
return append('S ' .. node .. ' ' .. nick .. ' ' .. ARGV[3])
)lua";

// ARGV: node, entry.
constexpr const char* kPublish = R"lua(
if redis.call('HEXISTS', 'chatd:nodes', ARGV[1]) == 0 then return -1 end
return append(ARGV[2])
)lua";

// ARGV: node, ttl. Refreshes the node's keys, then declares every node whose
// heartbeat lapsed gone (whoever notices first; the HDEL makes it once).
constexpr const char* kHeartbeat = R"lua(
local node, ttl = ARGV[1], ARGV[2]
if redis.call('HEXISTS', 'chatd:nodes', node) == 0 then return -1 end
redis.call('SET', 'chatd:alive:' .. node, '1', 'PX', ttl)
for _, f in ipairs(redis.call('HKEYS', 'chatd:roster:' .. node)) do
  if redis.call('GET', 'chatd:nick:' .. f) == node then redis.call('PEXPIRE', 'chatd:nick:' .. f, ttl) end
end
local gone = 0
for _, n in ipairs(redis.call('HKEYS', 'chatd:nodes')) do
  if n ~= node and redis.call('EXISTS', 'chatd:alive:' .. n) == 0 then
    gone_node(n)
    gone = gone + 1
  end
end
return gone
)lua";

// ARGV: node. A clean stop: the node's users part at once.
constexpr const char* kLeave = R"lua(
if redis.call('HEXISTS', 'chatd:nodes', ARGV[1]) == 1 then gone_node(ARGV[1]) end
return 1
)lua";

std::uint64_t entry_seq(const redisReply* id) {
    if (id == nullptr || id->type != REDIS_REPLY_STRING) return 0;
    std::uint64_t v = 0;
    std::from_chars(id->str, id->str + id->len, v);
    return v;
}

// [[id, [field, value]], ...] -> entries
void take_entries(const redisReply* list, ClusterAnswer& a) {
    if (list == nullptr || list->type != REDIS_REPLY_ARRAY) return;
    a.entries.reserve(list->elements);
    for (std::size_t i = 0; i < list->elements; ++i) {
        const redisReply* e = list->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
        const redisReply* fields = e->element[1];
        if (fields->type != REDIS_REPLY_ARRAY || fields->elements < 2) continue;
        const redisReply* v = fields->element[1];
        a.entries.emplace_back(entry_seq(e->element[0]), std::string(v->str, v->len));
    }
}

std::string sha1_hex(const std::string& s) {
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

std::string as_string(const redisReply* r) {
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return std::string(r->str, r->len);
    return {};
}

}  // namespace

std::string ClusterRedis::script(ClusterOp::Kind kind, std::size_t log_cap) {
    const char* body = nullptr;
    switch (kind) {
        case ClusterOp::Kind::Hello: body = kHello; break;
        case ClusterOp::Kind::Claim: body = kClaim; break;
        case ClusterOp::Kind::Release: body = kRelease; break;
        case ClusterOp::Kind::Status: body = kStatus; break;
        case ClusterOp::Kind::Publish: body = kPublish; break;
        case ClusterOp::Kind::Heartbeat: body = kHeartbeat; break;
        case ClusterOp::Kind::Leave: body = kLeave; break;
        case ClusterOp::Kind::Read:
        case ClusterOp::Kind::Range:
        case ClusterOp::Kind::Sequence: return {};
    }
    return "local CAP = " + std::to_string(log_cap) + "\n" + kPrelude + body;
}

ClusterRedis::ClusterRedis(net::Reactor& reactor, ClusterRedisOptions options)
    : reactor_(reactor), options_(std::move(options)) {
    for (int k = 0; k < kKinds; ++k) {
        scripts_[k] = script(static_cast<ClusterOp::Kind>(k), options_.log_cap);
        if (!scripts_[k].empty()) shas_[k] = sha1_hex(scripts_[k]);
    }
    net::RedisClient::Options o;
    o.endpoint = options_.endpoint;
    o.connect_timeout = options_.connect_timeout;
    o.reply_timeout = options_.reply_timeout;
    commands_ = std::make_unique<net::RedisClient>(reactor_, o);
    reader_ = std::make_unique<net::RedisClient>(reactor_, o);
    for (auto* c : {commands_.get(), reader_.get()}) {
        c->on_up([this] { both_up(); });
        c->on_down([this](const std::string& why) { one_down(why); });
    }
}

ClusterRedis::~ClusterRedis() {
    link_ = nullptr;
    commands_.reset();
    reader_.reset();
}

void ClusterRedis::connect() {
    connecting_ = true;
    reported_up_ = false;
    commands_->connect();
    reader_->connect();
}

void ClusterRedis::disconnect() {
    commands_->disconnect();
    reader_->disconnect();
}

void ClusterRedis::both_up() {
    if (!connecting_ || !commands_->up() || !reader_->up()) return;
    connecting_ = false;
    reported_up_ = true;
    // The scripts go in once per connection (a restarted Redis has none), ahead of every
    // EVALSHA on it: replies and commands keep their order on one connection.
    for (const auto& body : scripts_) {
        if (body.empty()) continue;
        const std::string_view argv[] = {"SCRIPT", "LOAD", body};
        commands_->command(argv, [](const redisReply*) {});
    }
    if (link_) link_->on_up(ClusterClock::now());
}

void ClusterRedis::one_down(const std::string&) {
    // Either connection lost is the link lost: the other is dropped too, and
    // the link hears of it once.
    if (!connecting_ && !reported_up_) return;
    if (commands_->up() || commands_->connecting()) commands_->disconnect();
    if (reader_->up() || reader_->connecting()) reader_->disconnect();
    if (commands_->up() || commands_->connecting() || reader_->up() || reader_->connecting()) return;
    connecting_ = reported_up_ = false;
    if (link_) link_->on_down(ClusterClock::now());
}

void ClusterRedis::answer(ClusterAnswer a) {
    if (link_) link_->on_answer(ClusterClock::now(), a);
}

void ClusterRedis::send(ClusterOp op) {
    const ClusterToken token = op.token;
    auto failed = [this, token] {
        ClusterAnswer a;
        a.token = token;
        a.failed = true;
        // From a timer: the link is in the middle of asking.
        reactor_.add_timer(net::Clock::now(), [this, a] { answer(a); });
    };
    if (op.kind == ClusterOp::Kind::Read) {
        const std::string from = std::to_string(op.from) + "-0";
        const std::string count = std::to_string(options_.read_count);
        const std::string block = std::to_string(options_.read_block.count());
        const std::string_view argv[] = {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", "chatd:log", from};
        if (!reader_->command(
                argv,
                [this, token](const redisReply* r) {
                    ClusterAnswer a;
                    a.token = token;
                    a.failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
                    // nil: nothing new within the block; [[key, entries]] otherwise.
                    if (!a.failed && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
                        take_entries(r->element[0]->element[1], a);
                    answer(std::move(a));
                },
                options_.read_block + options_.reply_timeout))
            failed();
        return;
    }
    if (op.kind == ClusterOp::Kind::Range) {
        const std::string from = std::to_string(op.from) + "-0";
        const std::string to = std::to_string(op.to) + "-0";
        const std::string_view argv[] = {"XRANGE", "chatd:log", from, to};
        if (!commands_->command(argv, [this, token](const redisReply* r) {
                ClusterAnswer a;
                a.token = token;
                a.failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
                if (!a.failed) take_entries(r, a);
                answer(std::move(a));
            }))
            failed();
        return;
    }
    if (op.kind == ClusterOp::Kind::Sequence) {
        // On the connection the scripts run on: it answers after every script sent before it.
        const std::string_view argv[] = {"GET", "chatd:seq"};
        if (!commands_->command(argv, [this, token](const redisReply* r) {
                ClusterAnswer a;
                a.token = token;
                a.failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
                if (!a.failed && r->type == REDIS_REPLY_STRING) {
                    const char* end = r->str + r->len;
                    a.failed = std::from_chars(r->str, end, a.n).ptr != end;
                }
                answer(std::move(a));
            }))
            failed();
        return;
    }
    std::vector<std::string_view> argv{"EVALSHA", shas_[static_cast<int>(op.kind)], "0"};
    for (const auto& s : op.args) argv.push_back(s);
    if (!commands_->command(argv, [this, token](const redisReply* r) {
            ClusterAnswer a;
            a.token = token;
            a.failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
            if (!a.failed) {
                if (r->type == REDIS_REPLY_INTEGER) {
                    a.n = r->integer;
                } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
                    a.n = r->element[0]->type == REDIS_REPLY_INTEGER ? r->element[0]->integer : 0;
                    const redisReply* items = r->element[1];
                    if (items->type == REDIS_REPLY_ARRAY)
                        for (std::size_t i = 0; i < items->elements; ++i) a.items.push_back(as_string(items->element[i]));
                }
            }
            answer(std::move(a));
        }))
        failed();
}

}  // namespace chat::server
