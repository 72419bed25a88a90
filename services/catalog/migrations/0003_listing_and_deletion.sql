-- Issue 5: deleted snapshots, the manifest, progress, delete errors, and indexes that make
-- keyset pages over 100k+ records cheap under every filter and sort.
ALTER TABLE snapshots DROP CONSTRAINT IF EXISTS snapshots_status_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_status_check
    CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'deleted'));

ALTER TABLE snapshots
    ADD COLUMN IF NOT EXISTS bytes_compressed bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS chunks_staged integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS manifest jsonb,
    ADD COLUMN IF NOT EXISTS manifest_path text,
    ADD COLUMN IF NOT EXISTS delete_error text;

-- Keyset order of every sort: (key, id). A btree serves both directions.
DROP INDEX IF EXISTS snapshots_by_created;
DROP INDEX IF EXISTS snapshots_by_server;
CREATE INDEX IF NOT EXISTS snapshots_page_created ON snapshots (created_at, id);
CREATE INDEX IF NOT EXISTS snapshots_page_size ON snapshots ((COALESCE(size, -1)), id);
CREATE INDEX IF NOT EXISTS snapshots_page_server ON snapshots (server_id, created_at, id);
CREATE INDEX IF NOT EXISTS snapshots_page_volume ON snapshots (volume_id, created_at, id);
CREATE INDEX IF NOT EXISTS snapshots_page_database ON snapshots (database, created_at, id);
CREATE INDEX IF NOT EXISTS snapshots_page_status ON snapshots (status, created_at, id);
