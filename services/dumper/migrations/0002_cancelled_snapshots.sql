-- Snapshots a user cancelled: a BackupRequested still queued for one is answered with
-- DumpFailed("cancelled") instead of a dump.
CREATE TABLE IF NOT EXISTS cancelled_snapshots (
    snapshot_id uuid PRIMARY KEY,
    reason text NOT NULL,
    cancelled_at timestamptz NOT NULL DEFAULT now()
);
