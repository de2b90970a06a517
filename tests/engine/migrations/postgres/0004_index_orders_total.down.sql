-- migrator:no-transaction
DROP INDEX CONCURRENTLY orders_total_cents_idx;
