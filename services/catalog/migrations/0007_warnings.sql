-- Issue 8: warnings on a snapshot (a post-backup or post-restore hook that failed). They
-- never change its status; each is {"source", "message", "exit_code", "restore_id",
-- "occurred_at", "event_id"}.
ALTER TABLE snapshots ADD COLUMN IF NOT EXISTS warnings jsonb NOT NULL DEFAULT '[]'::jsonb;
