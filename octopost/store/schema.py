"""Migrations: an append-only list. Never edit an entry once released; add a new one.

Times are integer milliseconds since the Unix epoch, UTC.
"""

MIGRATIONS: list[str] = [
    # 1: posts, per-platform deliveries, API keys, connected accounts
    """
    CREATE TABLE posts (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT NOT NULL UNIQUE,
        sandbox       INTEGER NOT NULL DEFAULT 0,
        content       TEXT NOT NULL,
        platforms     TEXT NOT NULL,
        status        TEXT NOT NULL,
        scheduled_for INTEGER,
        media         TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        published_at  INTEGER
    );
    CREATE INDEX posts_by_sandbox ON posts (sandbox, seq);
    CREATE INDEX posts_by_status ON posts (sandbox, status, seq);
    CREATE INDEX posts_due ON posts (scheduled_for) WHERE status = 'scheduled';
    CREATE INDEX posts_publishing ON posts (status) WHERE status = 'publishing';

    CREATE TABLE deliveries (
        post_id        TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        platform       TEXT NOT NULL,
        state          TEXT NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        remote_id      TEXT,
        remote_url     TEXT,
        error          TEXT,
        error_category TEXT,
        retryable      INTEGER,
        simulated      INTEGER NOT NULL DEFAULT 0,
        checkpoint     TEXT NOT NULL DEFAULT '{}',
        updated_at     INTEGER NOT NULL,
        PRIMARY KEY (post_id, platform)
    ) WITHOUT ROWID;

    CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        prefix       TEXT NOT NULL,
        hash         BLOB NOT NULL UNIQUE,
        sandbox      INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
    );

    CREATE TABLE accounts (
        id            TEXT PRIMARY KEY,
        platform      TEXT NOT NULL UNIQUE,
        username      TEXT NOT NULL,
        display_name  TEXT,
        remote_id     TEXT,
        profile_url   TEXT,
        status        TEXT NOT NULL,
        status_reason TEXT,
        credentials   BLOB NOT NULL,
        settings      TEXT NOT NULL DEFAULT '{}',
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    """,
    # 2: webhooks with a durable outbox, and idempotency keys
    """
    CREATE TABLE webhooks (
        id          TEXT PRIMARY KEY,
        url         TEXT NOT NULL,
        events      TEXT NOT NULL,
        description TEXT,
        secret      BLOB NOT NULL,
        enabled     INTEGER NOT NULL DEFAULT 1,
        sandbox     INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );

    CREATE TABLE events (
        id         TEXT PRIMARY KEY,
        type       TEXT NOT NULL,
        sandbox    INTEGER NOT NULL DEFAULT 0,
        payload    BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );

    CREATE TABLE webhook_deliveries (
        id              TEXT PRIMARY KEY,
        webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id        TEXT NOT NULL REFERENCES events (id),
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_status     INTEGER,
        last_error      TEXT,
        last_duration_ms INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (webhook_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
    CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, created_at);

    CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        number      INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        status      INTEGER,
        error       TEXT,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (delivery_id, number)
    ) WITHOUT ROWID;

    CREATE TABLE idempotency_keys (
        api_key_id   TEXT NOT NULL,
        key          TEXT NOT NULL,
        fingerprint  BLOB NOT NULL,
        status       INTEGER,
        content_type TEXT,
        body         BLOB,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (api_key_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
    """,
    # 3: post counts per (sandbox, status), kept by triggers, so list totals are O(1)
    """
    CREATE TABLE post_counts (
        sandbox INTEGER NOT NULL,
        status  TEXT NOT NULL,
        n       INTEGER NOT NULL,
        PRIMARY KEY (sandbox, status)
    ) WITHOUT ROWID;
    INSERT INTO post_counts (sandbox, status, n)
        SELECT sandbox, status, COUNT(*) FROM posts GROUP BY sandbox, status;

    CREATE TRIGGER post_counts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO post_counts (sandbox, status, n) VALUES (NEW.sandbox, NEW.status, 1)
            ON CONFLICT (sandbox, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER post_counts_delete AFTER DELETE ON posts BEGIN
        UPDATE post_counts SET n = n - 1 WHERE sandbox = OLD.sandbox AND status = OLD.status;
    END;
    CREATE TRIGGER post_counts_update AFTER UPDATE OF status, sandbox ON posts
        WHEN OLD.status IS NOT NEW.status OR OLD.sandbox IS NOT NEW.sandbox BEGIN
        UPDATE post_counts SET n = n - 1 WHERE sandbox = OLD.sandbox AND status = OLD.status;
        INSERT INTO post_counts (sandbox, status, n) VALUES (NEW.sandbox, NEW.status, 1)
            ON CONFLICT (sandbox, status) DO UPDATE SET n = n + 1;
    END;
    """,
    # 4: dashboard sign-in sessions (only a hash of the cookie's token is stored)
    """
    CREATE TABLE dashboard_sessions (
        token_hash   BLOB PRIMARY KEY,
        api_key_id   TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        csrf         TEXT NOT NULL,
        notice       TEXT,
        created_at   INTEGER NOT NULL,
        seen_at      INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
    """,
    # 5: per delivery, whether any attempt may have reached the platform (so the delivery
    # never ends as a plain failure without asking the platform) and where the current
    # publish's or retry's attempt budget starts; per idempotency reservation, the boot
    # id of the process that made it (a reservation by a dead process is abandoned)
    """
    ALTER TABLE deliveries ADD COLUMN reached INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN budget_from INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE idempotency_keys ADD COLUMN boot TEXT;
    """,
    # 6: a post's language (BCP 47), for the platforms that take one
    """
    ALTER TABLE posts ADD COLUMN language TEXT;
    """,
    # 7: per API key, the permissions it was given (space-separated, e.g.
    # "posts:read posts:write"); empty means full access, as every earlier key has
    """
    ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
    """,
    # 8: the post counts per block of 4,096 consecutive posts (by seq), still kept by
    # triggers: a total is a sum over a few hundred rows, and a deep `offset` skips whole
    # blocks instead of stepping over every post before the page (see PostStore.page)
    """
    CREATE TABLE post_blocks (
        sandbox INTEGER NOT NULL,
        status  TEXT NOT NULL,
        block   INTEGER NOT NULL,
        n       INTEGER NOT NULL,
        PRIMARY KEY (sandbox, status, block)
    ) WITHOUT ROWID;
    INSERT INTO post_blocks (sandbox, status, block, n)
        SELECT sandbox, status, seq >> 12, COUNT(*) FROM posts GROUP BY 1, 2, 3;
    DROP TRIGGER post_counts_insert;
    DROP TRIGGER post_counts_delete;
    DROP TRIGGER post_counts_update;
    DROP TABLE post_counts;

    CREATE TRIGGER post_blocks_insert AFTER INSERT ON posts BEGIN
        INSERT INTO post_blocks (sandbox, status, block, n)
            VALUES (NEW.sandbox, NEW.status, NEW.seq >> 12, 1)
            ON CONFLICT (sandbox, status, block) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER post_blocks_delete AFTER DELETE ON posts BEGIN
        UPDATE post_blocks SET n = n - 1
            WHERE sandbox = OLD.sandbox AND status = OLD.status AND block = OLD.seq >> 12;
    END;
    CREATE TRIGGER post_blocks_update AFTER UPDATE OF status, sandbox ON posts
        WHEN OLD.status IS NOT NEW.status OR OLD.sandbox IS NOT NEW.sandbox BEGIN
        UPDATE post_blocks SET n = n - 1
            WHERE sandbox = OLD.sandbox AND status = OLD.status AND block = OLD.seq >> 12;
        INSERT INTO post_blocks (sandbox, status, block, n)
            VALUES (NEW.sandbox, NEW.status, NEW.seq >> 12, 1)
            ON CONFLICT (sandbox, status, block) DO UPDATE SET n = n + 1;
    END;
    """,
    # 9: threads and per-platform versions. `shape` holds a post's segments, overrides and
    # thread options (JSON; NULL for a plain post). `delivery_segments` is one row per
    # segment of a thread on one platform: the text and media it was started with (frozen,
    # so a resume continues the same chain) and its own progress, written before the next
    # segment is sent (its remote id, and Bluesky's cid, are what the next reply needs)
    """
    ALTER TABLE posts ADD COLUMN shape TEXT;
    CREATE TABLE delivery_segments (
        post_id      TEXT NOT NULL,
        platform     TEXT NOT NULL,
        idx          INTEGER NOT NULL,
        content      TEXT NOT NULL,
        media        TEXT,
        state        TEXT NOT NULL DEFAULT 'pending',
        attempts     INTEGER NOT NULL DEFAULT 0,
        budget_from  INTEGER NOT NULL DEFAULT 0,
        reached      INTEGER NOT NULL DEFAULT 0,
        remote_id    TEXT,
        remote_url   TEXT,
        cid          TEXT,
        checkpoint   TEXT NOT NULL DEFAULT '{}',
        error        TEXT,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (post_id, platform, idx),
        FOREIGN KEY (post_id, platform) REFERENCES deliveries (post_id, platform) ON DELETE CASCADE
    ) WITHOUT ROWID;
    """,
    # 10: connecting accounts in a browser (OAuth). Per flow in progress, only a hash of
    # its state (the credential of the callback) and, encrypted, what the callback needs
    # (PKCE verifier, app); `kind` 'choice' holds a grant waiting for the user to pick a
    # Page or channel. Apps Octopost registered itself (Mastodon), per instance and
    # redirect URI. Accounts gain what the API shows: avatar, when (re)connected, when
    # a publish last used them.
    """
    CREATE TABLE oauth_flows (
        hash         BLOB PRIMARY KEY,
        kind         TEXT NOT NULL,
        api_key_id   TEXT NOT NULL,
        platform     TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        return_to    TEXT,
        secret       BLOB NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX oauth_flows_expiry ON oauth_flows (expires_at);

    CREATE TABLE oauth_apps (
        platform     TEXT NOT NULL,
        instance     TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        secret       BLOB NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (platform, instance, redirect_uri)
    ) WITHOUT ROWID;

    ALTER TABLE accounts ADD COLUMN avatar_url TEXT;
    ALTER TABLE accounts ADD COLUMN connected_at INTEGER;
    ALTER TABLE accounts ADD COLUMN last_used_at INTEGER;
    UPDATE accounts SET connected_at = created_at;
    """,
]
