DROP TABLE workspaces;
DROP TABLE organisations;
