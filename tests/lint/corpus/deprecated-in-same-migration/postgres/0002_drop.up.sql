-- migrator:deprecates users.full_name
ALTER TABLE users DROP COLUMN full_name;
