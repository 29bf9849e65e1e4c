"""Weights & Biases: one W&B run per training node (project = the config's name, run name = the node's label,
``job_type`` = its stage, the node key, run id and hyper-parameters in its config), under
``OUTPUT_DIR/logs/wandb/``. Offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads later). Needs
``pip install 'xlt-harness[wandb]'``."""

from __future__ import annotations

import os

from harness.api import Logger, LogNode, NodeLog, hookimpl


class WandbLog(NodeLog):
    """One node's W&B run."""

    def __init__(self, node: LogNode) -> None:
        import wandb

        node.dir.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=node.config_name or "xlt-harness", name=node.label, job_type=node.stage, dir=str(node.dir),
            mode=os.environ.get("WANDB_MODE") or "offline", group=node.config_hash,
            config={"node": node.key, "run": node.run, "stage": node.stage, "config_hash": node.config_hash,
                    "hp": node.hp})

    def step(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log(dict(scalars), step=step)

    def dev(self, step: int, metric: str, value: float) -> None:
        self.run.log({metric: value}, step=step)

    def close(self) -> None:
        self.run.finish()


@hookimpl
def register_loggers(register) -> None:
    register(Logger(name="wandb", open=WandbLog, requires=("wandb",), install="pip install 'xlt-harness[wandb]'",
                    description="Weights & Biases runs (offline by default) under OUTPUT_DIR/logs/wandb/"))
