-- PostgreSQL builds this index concurrently; SQLite has a single writer anyway.
CREATE INDEX IF NOT EXISTS ix_memberships_organisation_id ON memberships (organisation_id);
