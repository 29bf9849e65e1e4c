"""TensorBoard: one event folder per training node, ``OUTPUT_DIR/logs/tensorboard/<node key>/``, written with
``torch.utils.tensorboard.SummaryWriter`` (needs ``pip install 'xlt-harness[tensorboard]'``). Scalars: the
per-step ``train/loss``, ``train/lr``, ``train/examples_per_s``, ``train/tokens_per_s`` and the dev curve
``dev/<metric>``; the text ``node`` names the node's label, stage, run and config. View with
``tensorboard --logdir OUTPUT_DIR/logs/tensorboard``."""

from __future__ import annotations

from harness.api import Logger, LogNode, NodeLog, hookimpl


class TensorBoardLog(NodeLog):
    """One node's event files."""

    def __init__(self, node: LogNode) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(node.dir / node.key))
        self.writer.add_text("node", f"{node.label} · stage {node.stage} · node {node.key} · run {node.run} · "
                                     f"config {node.config_name} ({node.config_hash})", 0)

    def step(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def dev(self, step: int, metric: str, value: float) -> None:
        self.writer.add_scalar(metric, value, step)

    def close(self) -> None:
        self.writer.close()


@hookimpl
def register_loggers(register) -> None:
    register(Logger(name="tensorboard", open=TensorBoardLog, requires=("tensorboard",),
                    install="pip install 'xlt-harness[tensorboard]'",
                    description="TensorBoard event files under OUTPUT_DIR/logs/tensorboard/<node key>/"))
