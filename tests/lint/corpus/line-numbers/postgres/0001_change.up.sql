-- Line numbers survive multi-line literals, comments and dollar quotes.
CREATE TABLE notes (
    id   bigint PRIMARY KEY,
    body text   DEFAULT 'a;b
c'
);
/* a block
   comment; with a semicolon */
INSERT INTO notes VALUES (1, $$x;
y$$);
ALTER TABLE users
    ADD COLUMN nickname text NULL,
    ALTER COLUMN email TYPE varchar(100);
CREATE INDEX ix_users_nickname ON users (nickname);
