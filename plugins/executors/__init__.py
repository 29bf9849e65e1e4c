"""Built-in matrix executors beyond ``local``: Ray core tasks and SLURM (submitit)."""
