-- migrator:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_table_profiles_status_profiled;
