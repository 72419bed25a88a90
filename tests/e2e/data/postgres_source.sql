-- A source database with every kind of object a backup must carry, and enough data to span
-- several chunks. Loaded by tests/e2e/sources.py.
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'überglücklich');

CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text UNIQUE,
    mood mood,
    balance numeric(12, 2),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    name_upper text GENERATED ALWAYS AS (upper(name)) STORED
);

CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 7;

CREATE TABLE invoices (
    id bigint PRIMARY KEY DEFAULT nextval('invoice_numbers'),
    customer_id int REFERENCES customers (id),
    total numeric(12, 2) NOT NULL,
    attachment bytea,
    issued_on date
);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    customer_id int,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION log_customer_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (customer_id) VALUES (NEW.id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER customers_audit AFTER UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION log_customer_change();

CREATE FUNCTION invoice_total(cid int) RETURNS numeric LANGUAGE sql STABLE AS
    $$ SELECT coalesce(sum(total), 0) FROM invoices WHERE customer_id = cid $$;

CREATE PROCEDURE reset_balance(cid int) LANGUAGE sql AS
    $$ UPDATE customers SET balance = 0 WHERE id = cid $$;

CREATE VIEW customer_totals AS
    SELECT c.id, c.name, invoice_total(c.id) AS total FROM customers c;

INSERT INTO customers (name, email, mood, balance, note)
SELECT
    'Kunde ' || g || ' — Ζωή ' || chr(20000 + g % 500),
    CASE WHEN g % 10 = 0 THEN NULL ELSE 'c' || g || '@example.org' END,
    (ARRAY['sad', 'ok', 'happy', 'überglücklich'])[1 + g % 4]::mood,
    CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 3.17)::numeric(12, 2) END,
    CASE WHEN g % 500 = 0 THEN repeat('long row ', 20000) ELSE md5(g::text) END
FROM generate_series(1, 4000) AS g;

-- Random bytes do not compress, so the dump spans several chunks with little data.
INSERT INTO invoices (customer_id, total, attachment, issued_on)
SELECT 1 + g % 4000, (g % 1000) + 0.99,
       CASE WHEN g % 13 = 0 THEN NULL ELSE decode(string_agg(md5(g::text || s::text), ''), 'hex') END,
       DATE '2024-01-01' + g % 700
FROM generate_series(1, 12000) AS g, generate_series(1, 80) AS s
GROUP BY g;

UPDATE customers SET balance = balance + 1 WHERE id <= 50;
