-- Dropping the tables drops their triggers with them.
DROP TABLE workspaces;
DROP TABLE organisations;
DROP FUNCTION auth_set_updated_at();
