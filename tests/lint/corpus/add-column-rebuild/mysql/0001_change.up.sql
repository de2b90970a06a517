-- No ALGORITHM: MySQL may silently copy the table.
ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL AFTER email;
