-- CONCURRENTLY without the no-transaction header fails.
CREATE INDEX CONCURRENTLY ix_users_status ON users (status);
