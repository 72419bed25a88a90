-- Issue 6: accepted restores and verifies, written with their RestoreRequested in one
-- transaction; shown as pending until the catalog has recorded them. No foreign keys: the
-- history stays when a server goes.
CREATE TABLE IF NOT EXISTS restores_requested (
    id uuid PRIMARY KEY,
    snapshot_id uuid NOT NULL,
    mode text NOT NULL CHECK (mode IN ('restore', 'verify')),
    server_id uuid NOT NULL,
    database text NOT NULL,
    overwrite boolean NOT NULL,
    requested_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS restores_requested_by_time ON restores_requested (requested_at DESC);
