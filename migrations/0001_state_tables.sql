-- arb-plugin application state (SPEC, State). Applied by `arb db migrate`; never edit once applied:
-- add a new numbered file instead (the runner refuses a changed applied file).
--
-- Sessions: one row per trading session (heartbeat, status active/stopped/crashed).
-- Snapshot tables share one shape: session, wall-clock created_at, the event's NautilusTrader ts_event
-- (simulated time in a backtest), an optional symbol, a kind (what the row is; a Redis domain/field such
-- as 'SNAPSHOT' or 'STATE.position' for key values, or an event kind such as 'fill'), and JSONB data.

CREATE TABLE sessions (
    session_id   text PRIMARY KEY,
    env          text        NOT NULL,
    mode         text        NOT NULL,
    config_hash  text,
    status       text        NOT NULL CHECK (status IN ('active', 'stopped', 'crashed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    resumed_at   timestamptz,
    stopped_at   timestamptz,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    starts       integer     NOT NULL DEFAULT 1
);
CREATE INDEX sessions_status_heartbeat_idx ON sessions (status, heartbeat_at);

CREATE TABLE session_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    ts_event   bigint,
    symbol     text,
    kind       text        NOT NULL,
    data       jsonb       NOT NULL
);

CREATE TABLE position_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    ts_event   bigint,
    symbol     text,
    kind       text        NOT NULL,
    data       jsonb       NOT NULL
);

CREATE TABLE metrics_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    ts_event   bigint,
    symbol     text,
    kind       text        NOT NULL,
    data       jsonb       NOT NULL
);

CREATE TABLE risk_guard_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    ts_event   bigint,
    symbol     text,
    kind       text        NOT NULL,
    data       jsonb       NOT NULL
);

-- WARNING+ log records (LoggingManager); session_id is null for records outside a session.
CREATE TABLE system_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    level      text        NOT NULL,
    category   text        NOT NULL,
    logger     text,
    message    text        NOT NULL,
    data       jsonb
);

-- Composite (session_id, created_at): a session's rows in time order; retention by session.
CREATE INDEX session_snapshots_session_created_idx    ON session_snapshots    (session_id, created_at);
CREATE INDEX position_snapshots_session_created_idx   ON position_snapshots   (session_id, created_at);
CREATE INDEX metrics_snapshots_session_created_idx    ON metrics_snapshots    (session_id, created_at);
CREATE INDEX risk_guard_snapshots_session_created_idx ON risk_guard_snapshots (session_id, created_at);
CREATE INDEX system_logs_session_created_idx          ON system_logs          (session_id, created_at);

-- created_at DESC: time series, newest first.
CREATE INDEX session_snapshots_created_desc_idx    ON session_snapshots    (created_at DESC);
CREATE INDEX position_snapshots_created_desc_idx   ON position_snapshots   (created_at DESC);
CREATE INDEX metrics_snapshots_created_desc_idx    ON metrics_snapshots    (created_at DESC);
CREATE INDEX risk_guard_snapshots_created_desc_idx ON risk_guard_snapshots (created_at DESC);
CREATE INDEX system_logs_created_desc_idx          ON system_logs          (created_at DESC);

-- JSONB GIN: trade data (fills, positions, pair snapshots) and per-symbol fields (metrics, guard state).
CREATE INDEX position_snapshots_data_gin_idx   ON position_snapshots   USING gin (data jsonb_path_ops);
CREATE INDEX metrics_snapshots_data_gin_idx    ON metrics_snapshots    USING gin (data jsonb_path_ops);
CREATE INDEX risk_guard_snapshots_data_gin_idx ON risk_guard_snapshots USING gin (data jsonb_path_ops);
CREATE INDEX session_snapshots_data_gin_idx    ON session_snapshots    USING gin (data jsonb_path_ops);

-- The latest row of one key (resume, reads while Redis is away): session, kind, symbol, newest first
-- (id order is write order: one writer per session appends in order). Partial: only key values (kinds
-- named after a Redis domain, upper case: 'SNAPSHOT', 'STATE.position', 'GUARD', ...); the bulk event
-- rows ('fill', 'position', 'account', ...) are never looked up this way and skip its upkeep.
CREATE INDEX session_snapshots_latest_idx    ON session_snapshots    (session_id, kind, symbol, id DESC) WHERE kind ~ '^[A-Z]';
CREATE INDEX position_snapshots_latest_idx   ON position_snapshots   (session_id, kind, symbol, id DESC) WHERE kind ~ '^[A-Z]';
CREATE INDEX metrics_snapshots_latest_idx    ON metrics_snapshots    (session_id, kind, symbol, id DESC) WHERE kind ~ '^[A-Z]';
CREATE INDEX risk_guard_snapshots_latest_idx ON risk_guard_snapshots (session_id, kind, symbol, id DESC) WHERE kind ~ '^[A-Z]';
