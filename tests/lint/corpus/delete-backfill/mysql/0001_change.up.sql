-- Cleaning up rows inside the schema migration.
DELETE FROM orders WHERE user_id IS NULL;
