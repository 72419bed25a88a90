-- Issue 6: one record per restore (or verify), folded from the Restore* events by
-- services/catalog/restores.py; the snapshot's engine and its last verify's outcome.
-- `requested` is false for a placeholder made by an event that overtook its RestoreRequested.
CREATE TABLE IF NOT EXISTS restores (
    id uuid PRIMARY KEY,
    snapshot_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
    requested boolean NOT NULL DEFAULT false,
    mode text CHECK (mode IN ('restore', 'verify')),
    server_id uuid,
    database text,
    overwrite boolean NOT NULL DEFAULT false,
    bytes_restored bigint NOT NULL DEFAULT 0,
    bytes_read bigint NOT NULL DEFAULT 0,
    chunks_verified integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    last_event_at timestamptz NOT NULL,
    error text,
    attempt_id uuid,
    created_database boolean,
    target_dropped boolean,
    verify_ok boolean,
    table_differences jsonb NOT NULL DEFAULT '[]'
);
-- Keyset pages (created_at, id) overall, per snapshot and per status; running ones by target.
CREATE INDEX IF NOT EXISTS restores_page_created ON restores (created_at, id);
CREATE INDEX IF NOT EXISTS restores_page_snapshot ON restores (snapshot_id, created_at, id);
CREATE INDEX IF NOT EXISTS restores_page_status ON restores (status, created_at, id);
CREATE INDEX IF NOT EXISTS restores_running ON restores (server_id, database)
    WHERE status IN ('pending', 'in_progress');
CREATE INDEX IF NOT EXISTS restores_stuck ON restores (status, last_event_at)
    WHERE status IN ('pending', 'in_progress');

ALTER TABLE snapshots
    ADD COLUMN IF NOT EXISTS server_type text,
    ADD COLUMN IF NOT EXISTS verified_at timestamptz,
    ADD COLUMN IF NOT EXISTS verify_result jsonb;
-- The backups running from one server's database (a restore must not overwrite it).
CREATE INDEX IF NOT EXISTS snapshots_running_source ON snapshots (server_id, database)
    WHERE status IN ('pending', 'in_progress');
