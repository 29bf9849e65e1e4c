"""``multilingual-e5-small`` (Wang et al. 2024): a 12-layer, 384-wide BERT encoder with XLM-R's vocabulary.

Where the weights come from, in this order:

1. ``$XLT_ME5_DIR`` when set (a folder with ``config.json``);
2. ``~/.cache/xlt-harness/me5-small`` when it holds a ``config.json`` — what ``../shared/tools/me5-small/build.sh``
   writes at set-up (a dequantised copy of the published weights; see that tool's README for how close it is);
3. otherwise the hub id ``intfloat/multilingual-e5-small`` pinned at ``REVISION`` (needs network on first use).

The choice is made when plugins load, and the resolved ``source`` is what rows and cache keys record. Loading goes
through the ``hf-encoder`` family (transformers' Auto classes: the model is a ``BertModel`` whose tokenizer is
XLM-R's). E5 expects ``"query: "`` / ``"passage: "`` prefixes and mean pooling; they are this model's
``options["retrieval"]`` defaults (symmetric retrieval tasks such as Tatoeba use ``"query: "`` on both sides).
Truncating its layers is a depth ablation, not a model-scale axis.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.api import ModelSpec, hookimpl

HUB_ID = "intfloat/multilingual-e5-small"
REVISION = "e4ce9877abf3edfe10b0d82785e83bdcb973e22e"
CACHE_DIR = Path.home() / ".cache" / "xlt-harness" / "me5-small"


def source() -> tuple[str, str | None]:
    """(source, revision): the local folder when present, else the pinned hub id."""
    env = os.environ.get("XLT_ME5_DIR")
    for folder in ([Path(env).expanduser()] if env else []) + [CACHE_DIR]:
        if (folder / "config.json").exists():
            return str(folder), None
    return HUB_ID, REVISION


@hookimpl
def register_models(register) -> None:
    src, rev = source()
    register(ModelSpec(
        "multilingual-e5-small", family="hf-encoder", source=src, revision=rev,
        params=117_653_760, layers=12, hidden=384, vocab=250_037,
        options={"pooling": "mean",  # E5 is trained with mean pooling; sentence-level heads read it too
                 "retrieval": {"query_prefix": "query: ", "doc_prefix": "passage: ", "pooling": "mean"}},
        description="multilingual-E5 small (12 layers, hidden 384); local build of ../shared/tools/me5-small "
                    "when present, else the hub",
    ))
