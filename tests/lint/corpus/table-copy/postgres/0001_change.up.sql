-- VACUUM FULL rewrites the table (no-transaction: VACUUM cannot run in one).
-- migrator:no-transaction
VACUUM FULL users;
