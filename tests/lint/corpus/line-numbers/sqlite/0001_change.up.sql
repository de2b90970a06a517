-- Line numbers survive multi-line literals and comments.
CREATE TABLE notes (
    id   INTEGER PRIMARY KEY,
    body TEXT DEFAULT 'a;b
c'
);
/* a block
   comment; with a semicolon */
INSERT INTO notes VALUES (1, 'x;
y');
ALTER TABLE users
    ADD COLUMN email_verified INTEGER NOT NULL;
UPDATE users SET email = lower(email);
