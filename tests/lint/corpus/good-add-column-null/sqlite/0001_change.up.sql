-- Nullable column.
ALTER TABLE users ADD COLUMN display_name TEXT NULL;
ALTER TABLE users ADD COLUMN login_count INTEGER NOT NULL DEFAULT 0;
