-- The profiler scheduler looks for running and failed profiles. PostgreSQL builds this index
-- concurrently; SQLite has a single writer anyway.
CREATE INDEX IF NOT EXISTS ix_table_profiles_status_profiled ON table_profiles (status, profiled_at);
