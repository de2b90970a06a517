-- A data migration inside the schema migration.
UPDATE users SET full_name = email WHERE full_name IS NULL;
