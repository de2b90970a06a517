-- The column comes back empty and nullable: its data lives on in managed_tables.storage_uri.
ALTER TABLE managed_tables ADD COLUMN location text NULL;
