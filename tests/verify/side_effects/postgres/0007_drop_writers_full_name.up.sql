-- A column drop that takes the view reading it.
ALTER TABLE writers DROP COLUMN full_name CASCADE;
