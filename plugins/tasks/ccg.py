"""CCG supertagging (Hockenmaier & Steedman, 2007) as an English intermediate task, from user-supplied files.

CCGbank is licensed (LDC2005T13), so nothing is downloaded: point ``data_dir`` at files you derived from it.
Two layouts are read, per split (``train``, ``dev``, ``test``; the usual sections 02-21 / 00 / 23):

1. C&C's supertagger layout ``{split}.stagged``: one sentence per line, tokens separated by spaces, each token
   ``word|POS|category`` (the category may itself contain ``|`` only if escaped; the last two ``|`` split);
2. a column layout ``{split}.tsv``: one ``word<TAB>category`` line per token (extra middle columns ignored),
   sentences separated by a blank line.

The tag set is open: ``labels`` is empty, and the intermediate stage takes the categories of the training split
(sorted) as the head's classes, as jiant does. Scored by token accuracy (``ccg_token_accuracy``, ×100).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.api import SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, hookimpl

ALIASES = {"validation": "dev"}
HOW = ("CCGbank is licensed (LDC2005T13): derive {split}.stagged (word|POS|category tokens, one sentence a line) "
       "or {split}.tsv (word<TAB>category, blank line between sentences) from it and point data.ccg at that folder.")

SPEC = TaskSpec(
    name="ccg", kind="tagging", roles=("intermediate",), languages=("en",), metrics=("ccg_token_accuracy",),
    sizes={"train": 39604, "dev": 1913, "test": 2407}, mean_tokens=33,  # cost before download: CCGbank sections 02-21 / 00 / 23 (Hockenmaier & Steedman 2007)
    version="1", eval_splits=("dev",), select_split="dev", data_help=HOW,
    description="CCG supertagging (English; user-supplied CCGbank-derived files)",
    citation="Hockenmaier and Steedman 2007, CCGbank", license="LDC User Agreement (CCGbank)",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 256},
)


def _stagged(path: Path, split: str) -> list[dict]:
    out = []
    for i, line in enumerate(s for s in path.read_text(encoding="utf-8").splitlines() if s.strip()):
        tokens, tags = [], []
        for item in line.split():
            parts = item.rsplit("|", 2)
            if len(parts) != 3:
                raise ValueError(f"ccg: {path}: sentence {i + 1}: token {item!r} is not word|POS|category")
            tokens.append(parts[0])
            tags.append(parts[2])
        out.append({"id": f"{split}-{i}", "language": "en", "tokens": tokens, "tags": tags})
    return out


def _columns(path: Path, split: str) -> list[dict]:
    out: list[dict] = []
    tokens: list[str] = []
    tags: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines() + [""]):
        if not line.strip():
            if tokens:
                out.append({"id": f"{split}-{len(out)}", "language": "en", "tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise ValueError(f"ccg: {path}: line {n + 1} is not word<TAB>category")
        tokens.append(cols[0])
        tags.append(cols[-1])
    return out


def load(split: str, language: str = "en", data_dir: Path | None = None) -> list[dict]:
    split = ALIASES.get(split, split)
    if data_dir is None:
        raise DataMissing(f"ccg: no data folder given and there is no public hub copy. {HOW}")
    data_dir = Path(data_dir)
    for name, reader in ((f"{split}.stagged", _stagged), (f"{split}.tsv", _columns)):
        if (data_dir / name).exists():
            return reader(data_dir / name, split)
    raise DataMissing(f"ccg: no {split}.stagged or {split}.tsv under {data_dir}. {HOW}")


def score(examples: list[dict], predictions: list[Any], language: str = "en") -> dict[str, float]:
    """Token accuracy ×100 over every word of every sentence."""
    from harness.api import MissingGold

    if any(e.get("tags") is None for e in examples):
        raise MissingGold("ccg: gold categories are missing for this split")
    total = sum(len(e["tags"]) for e in examples)
    right = sum(g == p for e, pred in zip(examples, predictions) for g, p in zip(e["tags"], pred or []))
    return {"ccg_token_accuracy": 100.0 * right / total if total else 0.0}


def fixture(data_dir: Path, n_train: int = 60, n_dev: int = 20, seed: int = 1100) -> None:
    """SYNTHETIC ``.stagged`` files with real-looking categories (NP[nb]/N N (S[dcl]\\NP)/NP ...)."""
    import random

    rng = random.Random(seed)
    nouns, verbs, adjs = ["cat", "dog", "bird", "child"], ["sees", "likes", "chases"], ["big", "old", "red"]
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        lines = []
        for _ in range(n):
            toks = [("the", "DT", "NP[nb]/N"), (rng.choice(nouns), "NN", "N"),
                    (rng.choice(verbs), "VBZ", "(S[dcl]\\NP)/NP"), ("a", "DT", "NP[nb]/N")]
            if rng.random() < 0.5:
                toks.append((rng.choice(adjs), "JJ", "N/N"))
            toks += [(rng.choice(nouns), "NN", "N"), (".", ".", ".")]
            lines.append(" ".join("|".join(t) for t in toks))
        (data_dir / f"{split}.stagged").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: C&C .stagged (word|POS|category).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture))
