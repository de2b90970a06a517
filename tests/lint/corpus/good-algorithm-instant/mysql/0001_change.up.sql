-- Explicit online algorithms: the server refuses instead of copying.
ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL, ALGORITHM=INSTANT;
ALTER TABLE users MODIFY COLUMN status ENUM('invited', 'active', 'suspended', 'deleted') NOT NULL, ALGORITHM=INSTANT;
ALTER TABLE users RENAME INDEX ix_a TO ix_b, ALGORITHM=INPLACE, LOCK=NONE;
ALTER ONLINE TABLE users ADD INDEX ix_users_nickname (nickname), ALGORITHM=INPLACE;
