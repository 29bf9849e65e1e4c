"""What every node of one run shares: the cache folder, the device, the config's name and hash, and the
knobs that shape how a node runs (processes, strategy, threads, pruning, loggers). Plain data: executors send it to
their workers as JSON (:func:`harness.orchestration.execute.context_to_json`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.planning.plan import Node


@dataclass
class Context:
    cache_dir: Path
    device: str = "auto"
    config_name: str | None = None
    config_hash: str | None = None
    progress: Callable[[Node, dict[str, Any]], None] | None = None
    nproc: int = 1  # processes per training node (data parallel / FSDP, see harness.training.distributed)
    strategy: str = "ddp"
    threads: int | None = None  # the config's ``threads`` knob: CPU threads per node (see harness.run.threads)
    prune: bool = False  # delete a training's weights once its readers finished (``matrix run --prune``)
    loggers: tuple[str, ...] = ()  # experiment trackers training nodes report to (harness.core.loggers)
    log_dir: Path | None = None  # where they write: OUTPUT_DIR/logs (default: beside the cache, cache_dir/../logs)

    def logs_root(self) -> Path:
        """The folder loggers write under (one subfolder per logger)."""
        return Path(self.log_dir) if self.log_dir is not None else self.cache_dir.parent / "logs"

    def node_dir(self, key: str) -> Path:
        """A finished node's folder in the node store."""
        return self.cache_dir / "nodes" / key
