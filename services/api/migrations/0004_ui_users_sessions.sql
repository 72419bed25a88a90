-- The web UI's accounts and sessions (issue 7). The admin's password is kept as a scrypt
-- hash; a session is kept by the SHA-256 of its cookie, with its CSRF token. A session opened
-- with an API token ends when the token is revoked or deleted.
CREATE TABLE IF NOT EXISTS ui_users (
    name text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ui_sessions (
    id_hash text PRIMARY KEY,
    user_name text REFERENCES ui_users (name) ON DELETE CASCADE,
    token_id uuid REFERENCES tokens (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK ((user_name IS NULL) <> (token_id IS NULL))
);

CREATE INDEX IF NOT EXISTS ui_sessions_expires_at ON ui_sessions (expires_at);
