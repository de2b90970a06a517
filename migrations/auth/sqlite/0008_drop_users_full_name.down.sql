-- The column comes back empty and nullable: its data lives on in users.display_name.
ALTER TABLE users ADD COLUMN full_name TEXT NULL;
