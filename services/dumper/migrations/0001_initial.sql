-- Handled event ids, so a redelivered event is acked and skipped.
CREATE TABLE IF NOT EXISTS processed_events (
    event_id uuid PRIMARY KEY,
    handled_at timestamptz NOT NULL DEFAULT now()
);
