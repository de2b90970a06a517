-- ALTER ... FORCE rebuilds the table.
ALTER TABLE users FORCE;
