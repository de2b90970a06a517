-- migrator:no-transaction
CREATE INDEX orders_total_cents_idx ON orders (total_cents);
