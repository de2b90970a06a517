DROP TABLE policy_bundle_bindings;
DROP TABLE policy_bundles;
