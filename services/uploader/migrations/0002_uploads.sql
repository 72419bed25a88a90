-- One row per (snapshot, attempt, volume): the artifact being assembled from chunks.
-- state: open (parts arriving) -> stored (finalised), or failed / abandoned (parts dropped).
-- The finaliser holds this row's lock while it assembles, so exactly one replica finalises.
CREATE TABLE uploads (
    snapshot_id uuid NOT NULL,
    attempt_id uuid NOT NULL,
    volume_id uuid NOT NULL,
    artifact_key text NOT NULL,
    upload_id text,
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'stored', 'failed', 'abandoned')),
    chunk_count integer,
    dump_finished jsonb,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (snapshot_id, attempt_id, volume_id)
);

CREATE INDEX uploads_by_snapshot ON uploads (snapshot_id, volume_id, state);

-- Chunks durably stored as parts of an upload (S3 part number = seq + 1).
CREATE TABLE upload_chunks (
    snapshot_id uuid NOT NULL,
    attempt_id uuid NOT NULL,
    volume_id uuid NOT NULL,
    seq integer NOT NULL CHECK (seq >= 0),
    size bigint NOT NULL,
    raw_size bigint NOT NULL,
    sha256 text NOT NULL,
    etag text NOT NULL DEFAULT '',
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (snapshot_id, attempt_id, volume_id, seq),
    FOREIGN KEY (snapshot_id, attempt_id, volume_id)
        REFERENCES uploads (snapshot_id, attempt_id, volume_id) ON DELETE CASCADE
);
