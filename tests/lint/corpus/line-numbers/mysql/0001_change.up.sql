-- Line numbers survive multi-line literals, comments and # comments.
CREATE TABLE notes (
    id   BIGINT PRIMARY KEY,
    body VARCHAR(20) DEFAULT 'a;b
c'
);
# a hash comment; with a semicolon
INSERT INTO notes VALUES (1, "x;
y");
ALTER TABLE users
    ADD COLUMN nickname VARCHAR(64) NULL,
    MODIFY COLUMN email VARCHAR(100) NOT NULL;
CREATE INDEX ix_users_nickname ON users (nickname);
