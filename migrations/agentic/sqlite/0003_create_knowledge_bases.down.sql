DROP TABLE knowledge_documents;
DROP TABLE knowledge_bases;
