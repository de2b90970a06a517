-- Nullable, or NOT NULL with a constant default: metadata only.
ALTER TABLE users ADD COLUMN display_name text NULL;
ALTER TABLE users ADD COLUMN login_count bigint NOT NULL DEFAULT 0;
ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active';
