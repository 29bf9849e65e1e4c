"""From a config to a plan: config validation, lock file, provenance, the node DAG, plan-time checks, task data."""
