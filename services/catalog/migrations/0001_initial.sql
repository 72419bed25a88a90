-- The catalog's own tables: handled event ids and every event's timeline entry.
CREATE TABLE IF NOT EXISTS processed_events (
    event_id uuid PRIMARY KEY,
    handled_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS snapshot_events (
    event_id uuid PRIMARY KEY,
    snapshot_id uuid NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_events_by_snapshot ON snapshot_events (snapshot_id, occurred_at);
