DROP TABLE managed_table_columns;
DROP TABLE managed_tables;
