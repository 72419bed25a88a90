-- Who runs each backup or restore request now: a redelivery of a running job (the broker's
-- consumer timeout fired) is parked instead of started twice (services/dumper/leases.py).
CREATE TABLE IF NOT EXISTS job_leases (
    job_id uuid PRIMARY KEY,
    holder uuid NOT NULL,
    attempts integer NOT NULL DEFAULT 1,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
