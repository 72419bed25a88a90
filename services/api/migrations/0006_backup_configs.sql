-- Issue 8: backup configurations (several per server), the per-firing unique key that makes
-- a scheduled firing happen exactly once across api replicas, and the configuration that
-- produced each accepted request.
CREATE TABLE IF NOT EXISTS backup_configs (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    server_id uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    databases jsonb NOT NULL,
    volume_ids uuid[] NOT NULL CHECK (cardinality(volume_ids) >= 1),
    compression text NOT NULL CHECK (compression IN ('gzip', 'zstd')),
    compression_level integer,
    encrypt boolean NOT NULL DEFAULT false,
    schedule text,
    timezone text NOT NULL DEFAULT 'UTC',
    retention jsonb NOT NULL DEFAULT '{}',
    rpo_hours double precision,
    notify jsonb NOT NULL DEFAULT '{"on": "failure", "channel_ids": []}',
    post_backup_command text[],
    post_restore_command text[],
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_fired_at timestamptz,
    last_error text,
    -- Slots at or before this never fire: set on creation, and when the schedule, its time
    -- zone or `enabled` changes, so re-enabling does not fire a slot from while it was off.
    armed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS backup_configs_by_server ON backup_configs (server_id);

-- One row per scheduled firing. Its primary key is the duplicate check: the row is inserted
-- in the same transaction as the firing's request and outbox rows, ON CONFLICT DO NOTHING,
-- so when two replicas fire the same slot only one commits anything.
CREATE TABLE IF NOT EXISTS backup_config_firings (
    config_id uuid NOT NULL REFERENCES backup_configs (id) ON DELETE CASCADE,
    scheduled_for timestamptz NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    snapshots integer NOT NULL DEFAULT 0,
    error text,
    PRIMARY KEY (config_id, scheduled_for)
);

ALTER TABLE snapshots_requested ADD COLUMN IF NOT EXISTS config_id uuid;
CREATE INDEX IF NOT EXISTS snapshots_requested_by_config
    ON snapshots_requested (config_id, requested_at DESC) WHERE config_id IS NOT NULL;
