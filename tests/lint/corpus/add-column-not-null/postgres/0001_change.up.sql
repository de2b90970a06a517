-- A required column on an existing table.
ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;
