-- Online index build.
ALTER TABLE users ADD INDEX ix_users_email (email), ALGORITHM=INPLACE, LOCK=NONE;
CREATE INDEX ix_users_status ON users (status) ALGORITHM=INPLACE LOCK=NONE;
