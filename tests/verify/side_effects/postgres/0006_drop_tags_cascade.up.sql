-- Names one table; takes two views, another table's foreign key and a sequence with it.
DROP TABLE tags CASCADE;
