"""Gold label files in the layout of google-research/xtreme's ``evaluate.py`` (``--label_folder``).

Built from the gold kept beside every prediction in a run's predictions file, so an exported submission can be
scored by ``harness score --benchmark`` or the official script on the split that was run. Per line layout
(:data:`harness.core.specs.EXPORT_LINES`): ``label`` one gold label per line; ``label_jsonl`` ``{"label": x}``;
``tags`` one tag per line, a blank line between sentences; ``line_index`` the line of the gold sentence;
``mined_pairs`` ``src<TAB>trg`` per gold pair; ``json`` SQuAD JSON (QA: each question's answer texts) or
``{query id: [gold ids]}`` (ranking).
"""

from __future__ import annotations

import json
from typing import Any


class NoGold(ValueError):
    """The predictions file holds no gold for some example (a split whose labels are hidden)."""


def _squad(preds: list[dict]) -> str:
    qas = [{"id": str(p["id"]), "question": "", "answers": [{"text": t, "answer_start": 0} for t in p["gold"]]}
           for p in preds]
    return json.dumps({"version": "1.1", "data": [{"title": "", "paragraphs": [{"context": "", "qas": qas}]}]},
                      ensure_ascii=False, indent=1) + "\n"


def gold_text(lines: str, preds: list[dict], qa: bool) -> str:
    """The label file's text for one language from the predictions file's rows (``{id, prediction, gold}``)."""
    if lines == "json":
        with_gold = [p for p in preds if p.get("gold") is not None]  # ranking candidates carry no gold
        if not with_gold:
            raise NoGold("no example has gold")
        if qa:
            return _squad(with_gold)
        return json.dumps({str(p["id"]): list(p["gold"]) for p in with_gold}, ensure_ascii=False, indent=1) + "\n"
    missing = [p["id"] for p in preds if p.get("gold") is None and lines != "mined_pairs"]
    if missing:
        raise NoGold(f"{len(missing)} examples have no gold (first {missing[0]!r})")
    out: list[str] = []
    position = {p.get("id"): i for i, p in enumerate(preds)}
    for p in preds:
        gold: Any = p["gold"]
        if lines == "label_jsonl":
            out.append(json.dumps({"label": gold}, ensure_ascii=False))
        elif lines == "tags":
            out.extend([*map(str, gold), ""])
        elif lines == "line_index":
            out.append(str(position.get(gold, gold)))
        elif lines == "mined_pairs":
            out.extend(f"{p['id']}\t{t}" for t in gold or [])
        else:
            out.append(str(gold))
    if out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""
