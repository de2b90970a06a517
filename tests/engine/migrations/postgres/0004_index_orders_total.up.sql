-- migrator:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block.
CREATE INDEX CONCURRENTLY orders_total_cents_idx ON orders (total_cents);
