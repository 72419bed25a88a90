-- The compressed size of each database's last finished dump: the next backup of it sizes its
-- parts by this, without asking anyone.
CREATE TABLE IF NOT EXISTS dump_sizes (
    server_id uuid NOT NULL,
    database text NOT NULL,
    size bigint NOT NULL,
    dumped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, database)
);
