ALTER TABLE reviews DROP COLUMN rating;
