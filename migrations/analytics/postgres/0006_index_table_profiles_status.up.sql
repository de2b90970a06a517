-- migrator:no-transaction
-- The profiler scheduler looks for running and failed profiles; built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_table_profiles_status_profiled ON table_profiles (status, profiled_at);
