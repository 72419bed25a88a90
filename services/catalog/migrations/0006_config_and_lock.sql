-- Issue 8: the backup configuration that fired a snapshot (retention prunes per
-- configuration), and its lock against pruning and deletion. `lock_changed_at` is the
-- occurred_at of the lock change applied last, so a late event never undoes a newer one.
-- Written only by services/catalog/marks.py, never by the status fold's UPDATE.
ALTER TABLE snapshots
    ADD COLUMN IF NOT EXISTS config_id uuid,
    ADD COLUMN IF NOT EXISTS locked boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS lock_changed_at timestamptz;
CREATE INDEX IF NOT EXISTS snapshots_by_config ON snapshots (config_id, created_at)
    WHERE config_id IS NOT NULL AND status = 'completed';
CREATE INDEX IF NOT EXISTS snapshots_completed_by_source ON snapshots (server_id, database, created_at)
    WHERE status = 'completed';
