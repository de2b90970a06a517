-- migrator:no-transaction
DROP INDEX orders_total_cents_idx ON orders;
