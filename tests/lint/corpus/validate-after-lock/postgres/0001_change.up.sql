-- The DROP CONSTRAINT's ACCESS EXCLUSIVE lock is still held while VALIDATE scans.
ALTER TABLE orders DROP CONSTRAINT IF EXISTS ck_orders_legacy;
ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_total;
