-- One record per snapshot, folded from the event stream by services/catalog/status.py.
-- `requested` is false for a placeholder made by an event that overtook its BackupRequested.
CREATE TABLE IF NOT EXISTS snapshots (
    id uuid PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
    requested boolean NOT NULL DEFAULT false,
    server_id uuid,
    server_name text,
    database text,
    volume_id uuid,
    compression text,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    bytes_dumped bigint NOT NULL DEFAULT 0,
    size bigint,
    sha256 text,
    path text,
    error text,
    attempt_id uuid,
    last_event_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_created ON snapshots (created_at DESC);
CREATE INDEX IF NOT EXISTS snapshots_by_status ON snapshots (status, last_event_at);
CREATE INDEX IF NOT EXISTS snapshots_by_server ON snapshots (server_id, created_at DESC);
