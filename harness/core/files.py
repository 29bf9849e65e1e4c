"""The files a node's folder holds (``cache_dir/nodes/KEY/``): the one list that stages, the node store, the
integrity checks and the executors share, so that no module spells a file name of its own."""

from __future__ import annotations

ENCODER = "encoder.safetensors"  # training stages: the (fine-tuned) encoder weights
HEADS = "heads.safetensors"  # target training: the task heads
BEST = "best.json"  # target training: the selected step and its dev score
CONFIG = "config.json"  # training stages: the node's params as trained
SUMMARY = "train_summary.json"  # training stages: steps, losses, selection and resume record
NODE_SUMMARY = "summary.json"  # every node: what its stage returned, plus its wall ``seconds`` (written by the runner)
ROWS = "rows.jsonl"  # evaluation: the leaderboard rows this node contributes
SELECTED = (ENCODER, HEADS, BEST)  # what a target training's resume folder keeps of the best step


def predictions(split: str) -> str:
    """The predictions file of one evaluated split (``test``, ``dev[:100]`` → ``predictions-dev_-100.jsonl``)."""
    safe = split.replace("[", "_").replace(":", "-").replace("]", "")
    return f"predictions-{safe}.jsonl"
