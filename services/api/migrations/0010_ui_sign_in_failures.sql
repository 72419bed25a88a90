-- Wrong passwords at the web UI's sign-in, per client address and per user name, shared by
-- every api replica: a subject with too many recent failures is refused until refused_until.
-- Rows older than the window are deleted as new failures arrive.
CREATE TABLE IF NOT EXISTS ui_sign_in_failures (
    subject text PRIMARY KEY,
    failures integer NOT NULL,
    last_failed_at timestamptz NOT NULL,
    refused_until timestamptz
);

CREATE INDEX IF NOT EXISTS ui_sign_in_failures_last_failed_at
    ON ui_sign_in_failures (last_failed_at);
