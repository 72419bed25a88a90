-- Registered servers and volumes (secrets sealed with API_CREDENTIALS_KEY), accepted backup
-- requests, and the transactional outbox their events are relayed from.
CREATE TABLE IF NOT EXISTS servers (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    type text NOT NULL CHECK (type IN ('postgresql', 'mysql', 'mariadb')),
    host text NOT NULL,
    port integer NOT NULL,
    username text NOT NULL,
    database text,
    password_sealed text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS volumes (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    type text NOT NULL CHECK (type IN ('local', 's3')),
    config jsonb NOT NULL,
    spec_sealed text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS snapshots_requested (
    id uuid PRIMARY KEY,
    server_id uuid NOT NULL REFERENCES servers (id),
    database text NOT NULL,
    volume_id uuid NOT NULL REFERENCES volumes (id),
    compression text NOT NULL,
    requested_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_requested_by_time ON snapshots_requested (requested_at DESC);

CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    snapshot_id uuid NOT NULL,
    routing_key text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
