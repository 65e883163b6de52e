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
]
