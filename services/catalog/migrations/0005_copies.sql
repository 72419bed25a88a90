-- Issue 8: a snapshot's copies, one per volume (services/catalog/copies.py): each
-- {volume_id, status, path, manifest_path, size, error}, the primary first. Written by the
-- status fold with the rest of the record.
ALTER TABLE snapshots ADD COLUMN IF NOT EXISTS copies jsonb NOT NULL DEFAULT '[]';
-- Which snapshots have a copy on a volume (volume usage, listing by volume).
CREATE INDEX IF NOT EXISTS snapshots_copies ON snapshots USING gin (copies jsonb_path_ops);
