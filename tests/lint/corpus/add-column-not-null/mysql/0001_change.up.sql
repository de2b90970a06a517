-- A required column on an existing table (instant, but the old release's INSERTs fail).
ALTER TABLE users ADD COLUMN tenant_id BIGINT NOT NULL, ALGORITHM=INSTANT;
