-- ras-verifier's schema, the same for SQLite and PostgreSQL (portable types only; times are
-- milliseconds since the epoch in BIGINT).

-- A target is attested on its interval. `round` counts completed attestations; a replica
-- claims a due target by setting lease_owner, lease_until and a random lease_token, and
-- records round + 1 only while that token is still there, so a round is recorded at most once
-- (and a claim of a deleted target never records into a new one of the same name).
CREATE TABLE targets (
    name TEXT PRIMARY KEY,
    connect TEXT NOT NULL,
    container TEXT,
    runtime TEXT,
    vm BIGINT,
    interval_ms BIGINT NOT NULL,
    policy TEXT,
    reference TEXT,
    state TEXT NOT NULL,
    round BIGINT NOT NULL,
    next_due BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    lease_token TEXT,
    last_time BIGINT,
    last_verdict TEXT,
    last_check TEXT,
    last_reason TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX targets_due ON targets (next_due);

-- One row per completed round; the primary key is what makes "never twice in a round" hold.
CREATE TABLE attestations (
    target TEXT NOT NULL,
    round BIGINT NOT NULL,
    time BIGINT NOT NULL,
    replica TEXT NOT NULL,
    state TEXT NOT NULL,
    verdict TEXT NOT NULL,
    failed_check TEXT,
    reason TEXT,
    latency_us BIGINT NOT NULL,
    PRIMARY KEY (target, round)
);

-- Secrets released to workloads whose evidence passes the secret's policy (NULL: default).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    policy TEXT,
    updated BIGINT NOT NULL
);

-- Challenges are stateless (an HMAC over the nonce and its expiry); a used one is kept here
-- until it expires, so it cannot be used again.
CREATE TABLE used_challenges (
    nonce TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);

-- Shared among replicas: the HMAC key of challenges.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
