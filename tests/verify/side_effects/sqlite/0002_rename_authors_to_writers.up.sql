-- SQLite rewrites the FOREIGN KEY clause of books and the view's SQL, which name authors.
ALTER TABLE authors RENAME TO writers;
