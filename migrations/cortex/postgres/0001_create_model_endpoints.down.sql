DROP TABLE model_endpoint_usage_daily;
DROP TABLE model_endpoints;
