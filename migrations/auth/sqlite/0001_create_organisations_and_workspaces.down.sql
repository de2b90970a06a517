-- Dropping the tables drops their triggers and indexes with them.
DROP TABLE workspaces;
DROP TABLE organisations;
