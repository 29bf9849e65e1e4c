"""The training loop (read top to bottom), data-parallel/FSDP launch, and resume checkpoints."""
