DROP TABLE prompt_evaluations;
