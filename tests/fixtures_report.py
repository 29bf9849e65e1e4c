"""A hand-built leaderboard with known gains, with its per-example predictions files (for tests and docs).

Two model sizes (``demo-small``: 1M parameters, ``demo-large``: 100M) × {``none``, ``mnli``} × seeds {1, 2}, on
XNLI (en, de, sw; 10 examples each) plus one seed of PAN-X and XQuAD (en, de) for the export layouts. On XNLI
the first *k* examples are predicted right, with *k* from :data:`XNLI_CORRECT`; so the accuracies are 10·k and
the gains are known by hand:

=========== ======= ======= ===============
model        en gain xx gain transfer ratio
=========== ======= ======= ===============
demo-small   +20     +15     0.75
demo-large   +10     +20     2.0
=========== ======= ======= ===============

and the cross-lingual trend is (20 − 15) / (8 − 6) = +2.5 points per 10× parameters (English: −5).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.core.rows import ROW_KEYS

LABELS = ("entailment", "neutral", "contradiction")
N = 10
PARAMS = {"demo-small": 1_000_000, "demo-large": 100_000_000}
# (model, intermediate, seed) -> {language: number of the first examples predicted right}
XNLI_CORRECT: dict[tuple[str, str, int], dict[str, int]] = {
    ("demo-small", "none", 1): {"en": 6, "de": 4, "sw": 2},
    ("demo-small", "none", 2): {"en": 6, "de": 4, "sw": 4},
    ("demo-small", "mnli", 1): {"en": 8, "de": 5, "sw": 3},
    ("demo-small", "mnli", 2): {"en": 8, "de": 7, "sw": 5},
    ("demo-large", "none", 1): {"en": 8, "de": 6, "sw": 5},
    ("demo-large", "none", 2): {"en": 8, "de": 6, "sw": 5},
    ("demo-large", "mnli", 1): {"en": 9, "de": 8, "sw": 6},
    ("demo-large", "mnli", 2): {"en": 9, "de": 8, "sw": 8},
}


def _row(**fields: Any) -> dict[str, Any]:
    row = {k: None for k in ROW_KEYS}
    row.update(schema_version=1, harness_version="demo", config_name="demo", exemptions=[], split="test")
    row.update(fields)
    return row


def _write(path: Path, records: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_demo(directory: str | Path, *, qa_and_ner: bool = True) -> Path:
    """Write ``directory/leaderboard.jsonl`` and ``directory/predictions/…``; returns the leaderboard path."""
    from harness.metrics import METRICS

    root = Path(directory)
    rows = []
    for (model, inter, seed), per_lang in XNLI_CORRECT.items():
        for lang, k in per_lang.items():
            golds = [LABELS[i % 3] for i in range(N)]
            preds = [g if i < k else LABELS[(i + 1) % 3] for i, g in enumerate(golds)]
            rel = f"predictions/{model}/{inter}/s{seed}/xnli-{lang}.jsonl"
            digest = _write(root / rel, [{"id": f"xnli-{i}", "prediction": p, "gold": g}
                                         for i, (p, g) in enumerate(zip(preds, golds))])
            rows.append(_row(model=model, model_params=PARAMS[model], intermediate=inter, task="xnli",
                             task_kind="classification", language=lang, metric="accuracy",
                             value=METRICS["accuracy"](golds, preds), seed=seed, n=N, predictions=rel,
                             predictions_sha256=digest, node=f"{model}-{inter}-{seed}-xnli-{lang}"))
    if qa_and_ner:
        for model in PARAMS:
            for inter in ("none", "mnli"):
                for lang in ("en", "de"):
                    tags_gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"], ["B-ORG", "O", "O"]]
                    tags_pred = [["B-PER", "I-PER", "O"], ["O", "O"], ["B-ORG", "O", "O"]] if inter == "none" \
                        else tags_gold
                    rel = f"predictions/{model}/{inter}/s1/panx-{lang}.jsonl"
                    digest = _write(root / rel, [{"id": f"panx-{i}", "prediction": p, "gold": g}
                                                 for i, (p, g) in enumerate(zip(tags_pred, tags_gold))])
                    value = METRICS["ner_seqeval_f1"](tags_gold, tags_pred)
                    rows.append(_row(model=model, model_params=PARAMS[model], intermediate=inter, task="panx",
                                     task_kind="tagging", language=lang, metric="ner_seqeval_f1",
                                     value=float(getattr(value, "value", value)), seed=1, n=3, predictions=rel,
                                     predictions_sha256=digest, node=f"{model}-{inter}-1-panx-{lang}"))
                    answers = [["Paris"], ["1999", "in 1999"], ["the red house"]]
                    guess = ["Paris", "1999", "a house"] if inter == "none" else ["Paris", "1999", "the red house"]
                    rel = f"predictions/{model}/{inter}/s1/xquad-{lang}.jsonl"
                    digest = _write(root / rel, [{"id": f"xquad-{lang}-{i}", "prediction": p, "gold": g}
                                                 for i, (p, g) in enumerate(zip(guess, answers))])
                    for metric in ("squad_v1_f1", "squad_v1_exact_match"):
                        value = METRICS[metric](answers, guess)
                        rows.append(_row(model=model, model_params=PARAMS[model], intermediate=inter, task="xquad",
                                         task_kind="span_qa", language=lang, metric=metric,
                                         value=float(getattr(value, "value", value)), seed=1, n=3, predictions=rel,
                                         predictions_sha256=digest, node=f"{model}-{inter}-1-xquad-{lang}"))
    path = root / "leaderboard.jsonl"
    _write(path, rows)
    return path
