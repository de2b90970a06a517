-- The profiler scheduler looks for running and failed profiles; online index build.
ALTER TABLE table_profiles ADD INDEX ix_table_profiles_status_profiled (status, profiled_at), ALGORITHM=INPLACE, LOCK=NONE;
