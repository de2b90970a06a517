DROP VIEW latest_table_profiles;
