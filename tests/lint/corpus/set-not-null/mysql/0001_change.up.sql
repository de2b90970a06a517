-- MODIFY to NOT NULL rebuilds the table; no online algorithm stated.
ALTER TABLE users MODIFY full_name VARCHAR(255) NOT NULL;
