ALTER TABLE memberships DROP COLUMN organisation_id;

ALTER TABLE users DROP COLUMN display_name;
