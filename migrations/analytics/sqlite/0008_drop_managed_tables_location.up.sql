-- Contract step: managed_tables.location has been deprecated since 0007.
ALTER TABLE managed_tables DROP COLUMN location;
