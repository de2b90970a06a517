DROP INDEX IF EXISTS ix_table_profiles_status_profiled;
