-- Users: a table with a primary key, a unique constraint and an index.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_created_at_idx ON users (created_at);
-- a semicolon inside a string literal must not split the statement
INSERT INTO users (id, email) VALUES (1, 'first;user@example.com');
