"""Running a plan: the scheduler, one node's execution into the store, and the local executor."""
