-- chatd schema, version 2 (MariaDB 10.3+ / MySQL 8).
--
-- Idempotent: every statement may run again on a database that already has
-- the schema. chatd applies this file itself (it is compiled into the binary)
-- when the schema_version table is missing, and refuses to start when the
-- stored version is not the one it knows.
--
-- Times are BIGINT seconds since the epoch, UTC: no time-zone conversion can
-- creep in between the server, the client library and chatd. NULL means
-- "has not happened" (a user that never logged out has last_seen NULL).
--
-- Text is utf8mb4 with binary collation: chatd only ever stores valid UTF-8
-- (the protocol refuses anything else), and binary comparison keeps it
-- byte-exact. nick_key is VARBINARY so no collation can fold it: the server
-- lowers ASCII letters only, so `Begoña` and `BEGOÑA` stay two users.
--
-- Ids of sessions and messages are assigned by chatd, not by AUTO_INCREMENT:
-- a batch replayed after a failure hits the primary key and is ignored, so
-- nothing is written twice. There are no foreign keys on purpose: rows are
-- written in batches in the order chatd accepted them, and constraint checks
-- would only cost time on the hot path.
--
-- Version 2 added the accounts: users.password_hash (an Argon2id string, NULL
-- for a guest nickname) and users.password_set. chatd migrates a version-1
-- database in place at start (src/server/mysql_sql.cpp, migration_v1_to_v2):
-- two columns are added, no row is touched, every id stays.
--
-- Statements are separated by a `;` at the end of a line (chatd splits on it).

CREATE TABLE IF NOT EXISTS schema_version (
    id      TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    version INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (id, version) VALUES (1, 2);

CREATE TABLE IF NOT EXISTS users (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    nick       VARCHAR(32) NOT NULL,        -- as spelled at the first login
    nick_key   VARBINARY(128) NOT NULL,     -- ASCII letters lowered, other bytes as they are
    created    BIGINT NOT NULL,             -- first login
    last_login BIGINT NULL,                 -- start of the most recent session
    last_seen  BIGINT NULL,                 -- end of the most recent finished session
    status     VARCHAR(32) NOT NULL DEFAULT 'disponible',  -- the latest one
    password_hash VARBINARY(255) NULL,      -- an account's Argon2id hash; NULL: a guest nickname
    password_set  BIGINT NULL,              -- when the password was last set
    UNIQUE KEY users_nick_key (nick_key)    -- login lookup, /perfil
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sessions (
    id        BIGINT NOT NULL PRIMARY KEY,  -- assigned by chatd
    user_id   BIGINT NOT NULL,
    login_at  BIGINT NOT NULL,
    logout_at BIGINT NULL,                  -- NULL while the session lasts (or if chatd died)
    address   VARCHAR(64) NOT NULL DEFAULT '',
    reason    TEXT NULL,                    -- quit, closed, timeout, slow-consumer, shutdown [text]
    KEY sessions_user (user_id, login_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS messages (
    id           BIGINT NOT NULL PRIMARY KEY,  -- assigned by chatd; also the order of the chat
    at           BIGINT NOT NULL,
    sender_id    BIGINT NOT NULL,
    recipient_id BIGINT NULL,                  -- NULL: public
    body         TEXT NOT NULL,
    -- recent public history (recipient_id IS NULL, newest first) and the
    -- private messages a user received, both as an index range read backwards
    KEY messages_recipient (recipient_id, id),
    -- the messages a user sent, for /historial
    KEY messages_sender (sender_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
