-- Issue 8 (C2): volume quotas, snapshot locks and the retention pass.
-- A quota is the most bytes of completed snapshots a volume may hold; past it a new backup is
-- refused, or only warned about (`quota_action`).
ALTER TABLE volumes
    ADD COLUMN IF NOT EXISTS quota_bytes bigint CHECK (quota_bytes IS NULL OR quota_bytes > 0),
    ADD COLUMN IF NOT EXISTS quota_action text NOT NULL DEFAULT 'refuse'
        CHECK (quota_action IN ('refuse', 'warn'));

-- The api's own word on locks, written in the same transaction as the SnapshotLockChanged
-- outbox row: a delete or a prune right after a lock is refused even before the catalog has
-- seen the event.
CREATE TABLE IF NOT EXISTS snapshot_locks (
    snapshot_id uuid PRIMARY KEY,
    locked boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row: when the automatic retention pass last ran, so that across api replicas it runs
-- once per API_RETENTION_INTERVAL (the replica holding the advisory lock claims it).
CREATE TABLE IF NOT EXISTS retention_runs (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_run_at timestamptz NOT NULL
);
