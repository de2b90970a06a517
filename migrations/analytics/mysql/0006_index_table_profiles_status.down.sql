ALTER TABLE table_profiles DROP INDEX ix_table_profiles_status_profiled, ALGORITHM=INPLACE, LOCK=NONE;
