"""What a running node shares with its run: the context, the stop flag and signals, CPU threads, progress."""
