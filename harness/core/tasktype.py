"""The task-kind contract: :class:`TaskType` (what a kind does with examples, a head, a loss and outputs), the
:class:`Problem` its checks report, and the padding helpers task types share. A plugin adds a task kind by
registering a :class:`TaskType` subclass through ``register_task_types``; tasks then name its ``kind``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a split's examples; ``index`` is the example at fault (None: the split as a whole)."""

    message: str
    index: int | None = None


def is_text(value: Any) -> bool:
    return isinstance(value, str)


class TaskType:
    """Interface of a task type; subclasses implement the methods that training and evaluation call."""

    kind: str = ""
    trainable: bool = True
    registry_metrics: bool = False  # scores through ``harness.metrics.METRICS`` (metric names checked at plan time)
    # A kind with its own training recipe sets ``fit(params, work, spec, encoder, device, progress=None,
    # resume=None) -> summary``: the target stage calls it instead of the shared loop (harness.training.loop),
    # and it writes the node's files itself (harness.core.files). ``fit_single_process`` says why such a
    # recipe trains in one process (None: it can be split across processes like the shared loop).
    fit = None
    fit_single_process: str | None = None

    def build_head(self, spec, hidden_size: int):  # -> torch.nn.Module
        raise NotImplementedError

    def featurize(self, examples: list[dict], tokenizer, spec, max_length: int) -> list[dict]:
        """Turn examples into features (lists of ints); each feature keeps ``example_index``."""
        raise NotImplementedError

    def collate(self, features: list[dict], pad_id: int) -> dict[str, Any]:
        """Pad a list of features into a batch of tensors."""
        raise NotImplementedError

    def forward(self, encoder, head, batch: dict[str, Any]):
        """Run encoder + head on a batch; return the logits the loss and decoding need."""
        raise NotImplementedError

    def loss(self, logits, batch: dict[str, Any]):
        raise NotImplementedError

    def decode(self, outputs: list, features: list[dict], examples: list[dict], spec) -> list[Any]:
        """Per-example predictions (one per example, in example order) from per-feature outputs."""
        raise NotImplementedError

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str) -> dict[str, Any]:
        """Metrics named in ``spec.metrics`` on these predictions (the task may override)."""
        raise NotImplementedError

    def gold(self, example: dict) -> Any:
        """The gold answer kept in the predictions file beside each prediction."""
        return example.get("label")

    def validate(self, examples: list[dict], spec, limit: int = 20) -> list[Problem]:
        """What is wrong with a split's examples against this kind's layout (at most ``limit`` distinct problems;
        examples with the same problem are counted on its first example).

        The common checks (a non-empty list of dicts with unique ``id``) come first; then each example goes
        through :meth:`check_example`, and :meth:`check_split` sees the whole split (cross-example checks).
        Every split a plan touches must carry its gold: training needs it, and so does scoring.
        """
        if not examples:
            return [Problem("no examples (an empty or truncated file, or none in this language)")]
        found: dict[str, list] = {}  # problem -> [first example index, its id, how many examples]
        seen: dict[str, int] = {}
        for i, e in enumerate(examples):
            if not isinstance(e, dict):
                key, ident = f"is a {type(e).__name__}, not a dict", i
            elif e.get("id") is None:
                key, ident = "has no 'id'", i
            elif str(e["id"]) in seen:
                key, ident = f"repeats the id of example {seen[str(e['id'])]}", repr(e["id"])
            else:
                seen[str(e["id"])] = i
                key, ident = self.check_example(e, spec), repr(e["id"])
            if key is None:
                continue
            if key not in found and len(found) >= limit:
                break
            found.setdefault(key, [i, ident, 0])[2] += 1
        problems = [Problem(f"example {ident}: {key}" + (f" (and {n - 1} more like it)" if n > 1 else ""), i)
                    for key, (i, ident, n) in found.items()]
        return problems or self.check_split(examples, spec)[:limit]

    def check_example(self, example: dict, spec) -> str | None:
        """What is wrong with one example of this kind (None: nothing)."""
        return None

    def check_split(self, examples: list[dict], spec) -> list[Problem]:
        """Checks across a split's examples (e.g. gold ids that must exist); none by default."""
        return []

    def check_prediction(self, example: dict, prediction: Any, spec) -> str | None:
        """What is wrong with one prediction for ``example`` (None: nothing), checked by ``harness score``
        before scoring: a value the task cannot have is an error, never a silent 0."""
        return None


def pad(rows: list[list[int]], value: int):
    """A ``(len(rows), longest row)`` long tensor holding ``rows`` right-padded with ``value``."""
    import torch

    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def pad_inputs(features: list[dict], pad_id: int) -> dict[str, Any]:
    """``input_ids`` padded with ``pad_id`` and the matching ``attention_mask`` (1 on real tokens)."""
    ids = [f["input_ids"] for f in features]
    return {"input_ids": pad(ids, pad_id), "attention_mask": pad([[1] * len(r) for r in ids], 0)}
