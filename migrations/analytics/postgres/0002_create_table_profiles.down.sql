DROP TABLE column_profiles;
DROP TABLE table_profiles;
