-- Issue 8: notification channels (secrets sealed with API_CREDENTIALS_KEY), the durable queue
-- of deliveries, and the overdue-backup alarm's state. No foreign key to backup_configs:
-- its migration (0006) may be applied after this one on an existing database.
CREATE TABLE IF NOT EXISTS notification_channels (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    type text NOT NULL CHECK (type IN ('webhook', 'email', 'slack')),
    config jsonb NOT NULL,
    secrets_sealed text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per message to one channel. The dispatcher claims due rows with FOR UPDATE SKIP
-- LOCKED and moves next_attempt_at past the send, so two replicas never send one row twice.
CREATE TABLE IF NOT EXISTS notification_deliveries (
    id bigserial PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    kind text NOT NULL,
    dedupe_key text NOT NULL UNIQUE,
    payload jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    given_up_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- The RPO alarm: per configuration and database, its last success and the open episode.
-- overdue_since is set (and notified once) when an episode opens, cleared by a success.
CREATE TABLE IF NOT EXISTS overdue_state (
    config_id uuid NOT NULL,
    server_id uuid NOT NULL,
    database text NOT NULL,
    config_name text NOT NULL,
    server_name text NOT NULL,
    last_success_at timestamptz,
    overdue_since timestamptz,
    notified_at timestamptz,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (config_id, server_id, database)
);
