-- A MariaDB source database with views, routines, triggers, events-free, enums, generated
-- columns, NULLs, BLOBs, non-ASCII text and long rows. Loaded by tests/e2e/sources.py.
CREATE TABLE customers (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL,
    email VARCHAR(200) NULL,
    mood ENUM('sad', 'ok', 'happy', 'überglücklich'),
    balance DECIMAL(12, 2) NULL,
    note LONGTEXT CHARACTER SET utf8mb4,
    name_upper VARCHAR(200) CHARACTER SET utf8mb4 AS (UPPER(name)) STORED
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE invoices (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    customer_id INT,
    total DECIMAL(12, 2) NOT NULL,
    attachment LONGBLOB NULL,
    issued_on DATE,
    FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;

CREATE TABLE audit_log (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    customer_id INT,
    changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;

CREATE TRIGGER customers_audit AFTER UPDATE ON customers
    FOR EACH ROW INSERT INTO audit_log (customer_id) VALUES (NEW.id);

CREATE FUNCTION invoice_total(cid INT) RETURNS DECIMAL(14, 2) READS SQL DATA
    RETURN (SELECT COALESCE(SUM(total), 0) FROM invoices WHERE customer_id = cid);

CREATE PROCEDURE reset_balance(IN cid INT) MODIFIES SQL DATA
    UPDATE customers SET balance = 0 WHERE id = cid;

CREATE VIEW customer_totals AS
    SELECT c.id, c.name, invoice_total(c.id) AS total FROM customers c;

INSERT INTO customers (name, email, mood, balance, note)
SELECT
    CONCAT('Kunde ', seq, ' — Ζωή ', CHAR(20000 + seq % 500 USING utf16)),
    IF(seq % 10 = 0, NULL, CONCAT('c', seq, '@example.org')),
    ELT(1 + seq % 4, 'sad', 'ok', 'happy', 'überglücklich'),
    IF(seq % 7 = 0, NULL, seq * 3.17),
    IF(seq % 500 = 0, REPEAT('long row ', 20000), MD5(seq))
FROM seq_1_to_4000;

INSERT INTO invoices (customer_id, total, attachment, issued_on)
SELECT 1 + seq % 4000, (seq % 1000) + 0.99,
       IF(seq % 13 = 0, NULL, RANDOM_BYTES(1536)),
       DATE '2024-01-01' + INTERVAL (seq % 700) DAY
FROM seq_1_to_12000;

UPDATE customers SET balance = balance + 1 WHERE id <= 50;
