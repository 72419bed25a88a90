-- API tokens (only their sha256 is kept), server tags and TLS options, and deletable
-- servers and volumes: their accepted requests go with them (the catalog keeps the history).
CREATE TABLE IF NOT EXISTS tokens (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);

ALTER TABLE servers ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE servers ADD COLUMN IF NOT EXISTS tls_mode text
    CHECK (tls_mode IN ('disable', 'prefer', 'require', 'verify-ca', 'verify-full'));
ALTER TABLE servers ADD COLUMN IF NOT EXISTS tls_ca text;

ALTER TABLE snapshots_requested DROP CONSTRAINT IF EXISTS snapshots_requested_server_id_fkey;
ALTER TABLE snapshots_requested ADD CONSTRAINT snapshots_requested_server_id_fkey
    FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE CASCADE;
ALTER TABLE snapshots_requested DROP CONSTRAINT IF EXISTS snapshots_requested_volume_id_fkey;
ALTER TABLE snapshots_requested ADD CONSTRAINT snapshots_requested_volume_id_fkey
    FOREIGN KEY (volume_id) REFERENCES volumes (id) ON DELETE CASCADE;
