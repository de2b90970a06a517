-- Expand step of users.full_name -> users.display_name: the new column is nullable; the
-- application writes both columns from this release on and reads display_name first.
-- memberships.organisation_id denormalises workspaces.organisation_id for organisation-wide
-- queries; existing rows are filled by backfills/memberships_organisation_id.toml.

ALTER TABLE users ADD COLUMN display_name TEXT NULL;

ALTER TABLE memberships ADD COLUMN organisation_id INTEGER NULL;
