"""Mewsli-X (Ruder et al. 2021, XTREME-R): cross-lingual entity retrieval for WikiNews mentions, mAP@20.

Local layout (``get-mewsli-x.sh`` output, ``mewsli_x/output/dataset/``) under ``data_dir``:

- ``wikinews_mentions-{dev,test}.jsonl``: one article per line, ``{"context": {"document_id", "language",
  "text", "sentence_spans": [[start, end], ...], ...}, "mentions": [{"example_id", "entity_id",
  "mention_span": {"text", "start", "end"}}, ...]}``; ``context.text`` is empty in the ``_no_text`` release
  files (run the official script to fill it);
- ``candidate_set_entities.jsonl``: ``{"entity_id", "title", "description", "description_language",
  "sentence_spans", ...}`` — the fixed ~1M-entity candidate set shared by every language.

- ``wikipedia_pairs-{train,dev}.jsonl``: English Wikipedia mention–entity pairs, ``{"contextual_mention":
  {"context": {...}, "mention": {"example_id", "mention_span", "entity_id"}}, "entity": {"entity_id",
  "description", ...}}``: splits ``train`` and ``wikipedia_dev`` (checkpoint selection), the English training pairs
  of ``retrieval_regime: xtreme-r`` (the default), written like the test queries and candidates below. The
  defaults are XTREME-R's ``train_mewslix.sh`` (mBERT block): lr 2e-5, 2 epochs, 64 pairs per forward × grad-acc 4
  (batch 256), no warm-up, no weight decay, 64 tokens, logit scale initialised to 100.
  ``retrieval_regime: training-free`` embeds with the encoder as is (a labelled probe).

Queries are the mentions of articles in one language, written ``"{mention}: {sentence}"`` with the sentence of
the article that contains the mention (the whole text when no span covers it); candidates are entity
descriptions. One gold entity per mention; score ``mewslix_map_at_20`` (with one relevant item AP@20 is the
reciprocal rank within the top 20). Above ``approx_threshold`` candidates (default 1M, which the full set reaches)
the search becomes approximate (IVF) unless ``search: flat`` is set; the row signature records which.
``harness score`` also reads XTREME-R's ``evaluate.py`` files: ``mewslix/test-{lg}.json`` label files as
``--data`` and ``{mention id: [ranked entity ids]}`` predictions, without entries for the candidates.
No Mewsli-X sample is bundled with the shared data: the loader is tested on fixtures written in this format.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import (
    LEXICON,
    SYNTHETIC_NOTE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    Value,
    hookimpl,
    map_at_k,
)

LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
HOW = ("Run get-mewsli-x.sh from google-research/google-research dense_representations_for_entity_retrieval/mel "
       "and point data_dir at mewsli_x/output/dataset/.")

SPEC = TaskSpec(
    name="mewslix", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    # cost before download (mewsli-x.md, google-research@47071fb, release mewsli-x_20220518_6): English Wikipedia
    # pairs 167,719 train / 14,051 dev (the xtreme-r fine-tune); WikiNews mentions 2,991 dev / 14,624 test over 11
    # languages (~272 / ~1,330 per language); the 1,003,893-entity candidate set is not counted
    sizes={"train": 167719, "wikipedia_dev": 14051, "dev": 272, "test": 1330}, mean_tokens=64,
    metrics=("mewslix_map_at_20",), version="1", eval_splits=("test",), select_split="wikipedia_dev", data_help=HOW,
    description="Entity retrieval: WikiNews mention in context -> entity description (any language); mAP@20",
    citation="Ruder et al. 2021, XTREME-R: Towards More Challenging and Nuanced Multilingual Evaluation",
    license="CC BY 4.0 (text from WikiNews/Wikipedia)",
    defaults={"retrieval": {"protocol": "qa", "max_length": 128, "pooling": "mean"},
              "retrieval_regime": "xtreme-r",
              "retrieval_finetune": {"data": "Mewsli-X English Wikipedia pairs (wikipedia_pairs-train.jsonl; "
                                             "wikipedia_pairs-dev.jsonl selects)",
                                     "max_query_length": 64, "logit_scale": 100.0},
              "lr": 2e-5, "epochs": 2.0, "batch_size": 256, "grad_accum": 4, "warmup_ratio": 0.0,
              "weight_decay": 0.0, "max_length": 64},
    benchmarks={"xtreme-r": BenchmarkEntry("retrieval", ("mewslix_map_at_20", "map_at_20", "map@20", "mAP@20"),
                                           position=9, export=ExportLayout("json", "test-{language}.json"))},
    aliases=("mewsli-x", "mewsli_x"),
)


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise DataMissing(f"mewslix: data file {path} not found. {HOW}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _sentence(text: str, spans: list, start: int) -> str:
    """The sentence holding ``start``; spans are ``{"start", "end"}`` (the release's schema) or ``[start, end]``."""
    for span in spans:
        a, b = (span["start"], span["end"]) if isinstance(span, dict) else span
        if a <= start < b:
            return text[a:b]
    return text


PAIR_FILES = {"train": "wikipedia_pairs-train.jsonl", "wikipedia_dev": "wikipedia_pairs-dev.jsonl"}


def wikipedia_pairs(path: Path) -> list[dict]:
    """English (mention in context → entity description) training pairs, written as the test queries are."""
    pairs = []
    for rec in _jsonl(path):
        cm, entity = rec["contextual_mention"], rec["entity"]
        ctx, m = cm["context"], cm["mention"]
        span = m["mention_span"]
        sent = _sentence(ctx["text"], ctx.get("sentence_spans") or [], span["start"])
        pairs.append({"id": m["example_id"], "language": ctx.get("language", "en"), "query": f"{span['text']}: {sent}",
                      "candidate": entity["description"]})
    return pairs


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if data_dir is None:
        raise DataMissing(f"mewslix: give a folder with the dataset files. {HOW}")
    data_dir = Path(data_dir)
    if split in PAIR_FILES:
        if language != "en":
            raise DataMissing(f"mewslix: split {split!r} (Wikipedia pairs) is English only, not {language!r}")
        return wikipedia_pairs(data_dir / PAIR_FILES[split])
    if split not in ("dev", "test"):
        raise DataMissing(f"mewslix: split {split!r} is not 'dev' or 'test' (English pairs: 'train', 'wikipedia_dev')")
    queries = []
    for doc in _jsonl(data_dir / f"wikinews_mentions-{split}.jsonl"):
        ctx = doc["context"]
        if ctx["language"] != language:
            continue
        if not ctx.get("text"):
            raise ValueError(f"mewslix: article {ctx.get('document_id')!r} has no text; run get-mewsli-x.sh to fill "
                             "context.text (the _no_text files are not usable directly)")
        for m in doc["mentions"]:
            span = m["mention_span"]
            sent = _sentence(ctx["text"], ctx.get("sentence_spans") or [], span["start"])
            queries.append({"id": m["example_id"], "language": language, "side": "query",
                            "text": f"{span['text']}: {sent}", "gold": [m["entity_id"]]})
    candidates = [{"id": e["entity_id"], "language": e.get("description_language"), "side": "candidate",
                   "text": e["description"], "gold": None}
                  for e in _jsonl(data_dir / "candidate_set_entities.jsonl")]
    return queries + candidates


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): a label file of XTREME-R's ``evaluate.py`` (``{mention id: [entity ids]}``;
    the first id is the gold one, as the official scorer takes it) as query examples; otherwise the dataset
    folder holding ``path``."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, list) and v for v in data.values()):
            raise ValueError(f"mewslix: {path}: expected a JSON object {{mention id: [gold entity id, ...]}}")
        return [{"id": str(k), "language": language, "side": "query", "text": "", "gold": [str(v[0]).strip()]}
                for k, v in data.items()]
    return load(split or "test", language, path.parent)


def read_predictions(path: Path, examples: list[dict], language: str) -> list | None:
    """Rankings per query id (``.json`` ``{id: [entity ids]}`` or a run's ``.jsonl``), in example order; the
    candidate entities need no entry; a query without a ranking scores 0 (as the official scorer does)."""
    path = Path(path)
    if path.suffix == ".json":
        ranked = json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".jsonl":
        ranked = {str(r["id"]): r["prediction"] for r in _jsonl(path) if "id" in r and "prediction" in r}
    else:
        return None
    if not isinstance(ranked, dict):
        raise ValueError(f"mewslix: {path}: expected {{mention id: [ranked entity ids]}}")
    ranked = {str(k): v for k, v in ranked.items()}
    return [list(ranked.get(str(e["id"]), [])) if e.get("side") == "query" else None for e in examples]


def score(examples: list[dict], predictions: list, language: str = "", **_) -> dict[str, Value]:
    pairs = [(p, e["gold"]) for e, p in zip(examples, predictions) if e.get("side") == "query"]
    value = map_at_k([p for p, _ in pairs], [g for _, g in pairs], 20)
    n_cand = sum(e.get("side") == "candidate" for e in examples)
    return {"mewslix_map_at_20": Value(value, n=len(pairs), extra={"candidates": n_cand})}


def fixture(data_dir: Path) -> None:
    """SYNTHETIC files in the official layout: entities = lexicon nouns, mentions in de/es/en articles."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    en = LEXICON["en"]
    entities = [{"entity_id": f"Q{100 + i}", "title": noun, "description": en["is"].format(n=noun, a=en["adjs"][i]),
                 "description_language": "en", "description_url": "", "sentence_spans": []}
                for i, noun in enumerate(en["nouns"])]
    for e in entities:
        e["sentence_spans"] = [[0, len(e["description"])]]
    for split, langs in (("dev", ("de", "en")), ("test", ("de", "es", "en"))):
        docs = []
        for lang in langs:
            lx = LEXICON[lang]
            sents = [lx["is"].format(n=noun, a=lx["adjs"][i]) for i, noun in enumerate(lx["nouns"])]
            text = "\n".join(sents)
            spans, pos = [], 0
            for s in sents:
                spans.append([pos, pos + len(s)])
                pos += len(s) + 1
            mentions = []
            for i, noun in enumerate(lx["nouns"]):
                start = spans[i][0] + sents[i].index(noun)
                mentions.append({"example_id": f"{split}-{lang}-{i}", "entity_id": f"Q{100 + i}",
                                 "mention_span": {"text": noun, "start": start, "end": start + len(noun)}})
            docs.append({"context": {"document_id": f"{lang}-doc", "document_url": "", "document_title": "synthetic",
                                     "section_title": "", "language": lang, "text": text, "sentence_spans": spans},
                         "mentions": mentions})
        (data_dir / f"wikinews_mentions-{split}.jsonl").write_text(
            "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    for split, shift in (("train", 0), ("dev", 4)):  # English Wikipedia pairs: "the noun is adj" -> its entity
        pairs = []
        for i, noun in enumerate(en["nouns"]):
            text = en["not"].format(n=noun, a=en["adjs"][(i + shift + 1) % 8])
            start = text.index(noun)
            pairs.append({"contextual_mention": {
                "context": {"document_id": f"en-wiki-{i}", "document_url": "", "document_title": "synthetic",
                            "language": "en", "text": text, "sentence_spans": [{"start": 0, "end": len(text)}]},
                "mention": {"example_id": f"wiki-{split}-{i}", "entity_id": f"Q{100 + i}",
                            "mention_span": {"text": noun, "start": start, "end": start + len(noun)}}},
                "entity": entities[i]})
        (data_dir / f"wikipedia_pairs-{split}.jsonl").write_text(
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    (data_dir / "candidate_set_entities.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: Mewsli-X dataset/*.jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture, read_file=load_file, read_predictions=read_predictions))
