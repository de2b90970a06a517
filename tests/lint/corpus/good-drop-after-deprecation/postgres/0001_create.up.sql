CREATE TABLE users (id INTEGER PRIMARY KEY, full_name TEXT NULL, display_name TEXT NULL);
