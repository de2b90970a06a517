-- ADD INDEX without an explicit online algorithm.
ALTER TABLE users ADD INDEX ix_users_status (status);
