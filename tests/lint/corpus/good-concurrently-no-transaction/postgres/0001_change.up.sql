-- migrator:no-transaction
-- Built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_email ON users (email);
DROP INDEX CONCURRENTLY IF EXISTS ix_users_old;
