"""The plugin contract: the hooks, the specs plugins register, the metric/task-kind/executor records, the
registry built from installed plugins, the row schema and the node-folder file names. Imports nothing above it."""
