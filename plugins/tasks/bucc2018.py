"""BUCC 2018 shared task (Zweigenbaum et al. 2018; XTREME): mining parallel sentences from comparable corpora.

Local layouts under ``data_dir`` for language pair ``{lg}-en`` (lg in de, fr, ru, zh):

1. XTREME's download (renamed official files): ``{lg}-en.dev.{lg}``, ``{lg}-en.dev.en``, ``{lg}-en.dev.gold``
   (the official *sample*) and ``{lg}-en.test.*`` (the official *training* files; XTREME deletes their gold);
2. the official archives: ``{lg}-en/{lg}-en.sample.*`` (dev) and ``{lg}-en/{lg}-en.training.*`` (test), also
   directly under ``data_dir``.

Sentence files are ``{lg}-000000001<TAB>sentence``; gold files are ``{lg}-id<TAB>en-id``.

``harness score`` also reads XTREME's ``evaluate.py`` files: a gold pair list (``bucc2018/test-{lg}.tsv`` of the
label folder, or a ``.gold`` file) as ``--data``, and ``src<TAB>trg`` predictions (the mined pairs, against a pair
list or the sentence files). Their score is ``bucc_f1_submitted_pairs`` (variant ``submitted_pairs``): F1 of
the submitted pair set, as the official script computes it — the threshold is whatever the system applied.

Protocol (XTREME): embed both sides, k=4 nearest neighbours in both directions, ratio margin, ``max`` retrieval
with 1:1 filtering; F1 at a score threshold. The threshold is chosen on the dev gold and applied unchanged to test:
``bucc_f1_margin_dev_threshold`` (main). ``bucc_f1_margin_oracle`` tunes the threshold on the scored split's own
gold (on dev that is the only F1 there is) and is labelled ``variant=oracle_threshold`` — never compare it with
the dev-threshold number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from harness.api import (
    LEXICON,
    SYNTHETIC_NOTE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    MissingGold,
    Task,
    TaskSpec,
    Value,
    apply_threshold,
    best_threshold,
    hookimpl,
    prf,
    read_lines,
)

LANGUAGES = ("de", "fr", "ru", "zh")
OFFICIAL = {"dev": "sample", "test": "training"}
HOW = ("Get the BUCC 2018 archives from comparable.limsi.fr/bucc2018 or run google-research/xtreme's "
       "download script (bucc2018); the test gold is not public (dev = the official sample).")

SPEC = TaskSpec(
    name="bucc2018", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    sizes={"dev": 40000, "test": 400000}, mean_tokens=40,  # cost before download: Zweigenbaum et al. 2018: sample ~40K, training ~400K sentences per side (de-en; zh-en ~95K)
    metrics=("bucc_f1_margin_dev_threshold", "bucc_f1_margin_oracle"), version="1",
    eval_splits=("test",), select_split="dev", data_help=HOW,
    description="Parallel sentence mining (margin k=4, 1:1); F1 with the dev-chosen threshold",
    citation="Zweigenbaum, Sharoff & Rapp 2018, Overview of the Third BUCC Shared Task", license="see BUCC 2018 terms",
    defaults={"retrieval": {"protocol": "mining", "max_length": 128, "pooling": "mean"},
              "retrieval_regime": "training-free"},  # as XTREME and Phang et al.: no task training
    benchmarks={"xtreme": BenchmarkEntry("retrieval", ("bucc_f1_margin_dev_threshold", "bucc_f1", "f1"), position=8,
                                          export=ExportLayout("mined_pairs"))},
    aliases=("bucc",),
)


def _files(data_dir: Path, language: str, split: str) -> tuple[Path, Path, Path]:
    pair = f"{language}-en"
    names = [split] + ([OFFICIAL[split]] if split in OFFICIAL else [])
    for base in (data_dir, data_dir / pair):
        for name in names:
            src = base / f"{pair}.{name}.{language}"
            if src.exists():
                return src, base / f"{pair}.{name}.en", base / f"{pair}.{name}.gold"
    raise DataMissing(f"bucc2018: no {split!r} files for {pair} under {data_dir} (looked for "
                      f"{pair}.{split}.{language} and {pair}/{pair}.{OFFICIAL.get(split, split)}.{language}). {HOW}")


def _sentences(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        raise DataMissing(f"bucc2018: data file {path} not found. {HOW}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        sid, sep, text = line.partition("\t")
        if not sep:
            raise ValueError(f"{path}:{n}: expected 'ID<TAB>sentence'")
        out.append((sid.strip(), text.strip()))
    return out


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if language not in LANGUAGES:
        raise DataMissing(f"bucc2018: language {language!r} is not one of {', '.join(LANGUAGES)}")
    if data_dir is None:
        raise DataMissing(f"bucc2018: no hub copy in the official layout is pinned; give a data folder. {HOW}")
    src_f, trg_f, gold_f = _files(Path(data_dir), language, split)
    gold: dict[str, list[str]] | None = None
    if gold_f.exists():
        gold = {}
        for s, t in (line.split("\t") for line in gold_f.read_text(encoding="utf-8").split("\n") if line.strip()):
            gold.setdefault(s.strip(), []).append(t.strip())
    rows = [{"id": sid, "language": language, "side": "source", "text": text,
             "gold": (gold.get(sid, []) if gold is not None else None)} for sid, text in _sentences(src_f)]
    rows += [{"id": sid, "language": "en", "side": "target", "text": text, "gold": None}
             for sid, text in _sentences(trg_f)]
    return rows


ID = re.compile(r"^[a-z]{2,3}-\d+$")


def read_pairs(path: Path) -> list[tuple[str, str]] | None:
    """The ``src<TAB>trg`` id pairs of a pair-list file (gold or mined pairs); None when the file is not one."""
    pairs = [tuple(c.strip() for c in line.split("\t")) for line in read_lines(path, "bucc2018", HOW) if line.strip()]
    if all(len(p) == 2 and ID.match(p[0]) and ID.match(p[1]) for p in pairs):
        return pairs  # type: ignore[return-value]
    return None


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): a gold pair list is one corpus-level example (``side="pairs"``); a sentence
    file is read with its siblings by :func:`load`."""
    pairs = read_pairs(Path(path))
    if pairs is not None:
        return [{"id": f"{language}-en", "language": language, "side": "pairs", "gold": [list(p) for p in pairs]}]
    return load(split or "test", language, Path(path).parent)


def read_predictions(path: Path, examples: list[dict], language: str) -> list | None:
    """``src<TAB>trg`` mined pairs (XTREME's layout) in example order; None for a run's ``.jsonl``/``.json``."""
    path = Path(path)
    if path.suffix in (".jsonl", ".json"):
        return None
    pairs = read_pairs(path)
    if pairs is None:
        raise ValueError(f"{path}: expected one mined pair 'src-id<TAB>en-id' per line (XTREME's bucc2018 layout)")
    if examples and examples[0].get("side") == "pairs":
        return [pairs]
    by_source: dict[str, list[str]] = defaultdict(list)
    sources = {e["id"] for e in examples if e.get("side") == "source"}
    for s, t in pairs:
        if s not in sources:
            raise ValueError(f"{path}: source id {s!r} is not a sentence of the gold data")
        by_source[s].append(t)
    return [{"targets": by_source[e["id"]]} if e.get("side") == "source" else None for e in examples]


def _submitted(examples: list[dict], predictions: list, language: str) -> dict[str, Value] | None:
    """F1 of submitted pairs (see the module docstring); None when the predictions are a run's neighbours."""
    if examples and examples[0].get("side") == "pairs":
        gold = [tuple(p) for p in examples[0]["gold"]]
        pred = [tuple(p) for p in predictions[0]]
    elif any(isinstance(p, dict) and "targets" in p for p in predictions):
        sources = [(e, p) for e, p in zip(examples, predictions) if e.get("side") == "source"]
        if any(e["gold"] is None for e, _ in sources):
            raise MissingGold("bucc2018: this split has no gold file; score against XTREME's gold pair list")
        gold = [(e["id"], t) for e, _ in sources for t in e["gold"]]
        pred = [(e["id"], t) for e, p in sources for t in p["targets"]]
    else:
        return None
    res = prf(pred, gold)
    return {"bucc_f1_submitted_pairs": Value(res["f1"], variant="submitted_pairs", n=len(gold),
                                             extra={"precision": res["precision"], "recall": res["recall"],
                                                    "lang_pair": f"{language}-en"})}


def score(examples: list[dict], predictions: list, language: str = "", **_) -> dict[str, Value]:
    """F1 of the mined pairs: with the dev threshold (when recorded) and with the oracle threshold; for
    submitted pair lists, their F1."""
    submitted = _submitted(examples, predictions, language)
    if submitted is not None:
        return submitted
    sources = [(e, p) for e, p in zip(examples, predictions) if e.get("side") == "source"]
    if not sources or any(e["gold"] is None for e, _ in sources):
        raise MissingGold("bucc2018: this split has no gold file (XTREME deletes the test gold); score dev, or "
                          "submit the stored predictions")
    gold = [(e["id"], t) for e, _ in sources for t in e["gold"]]
    cands = [(e["id"], p["target"], p["score"]) for e, p in sources if p and p.get("target") is not None]
    n = len(sources)
    thr, oracle = best_threshold(cands, gold)
    out = {"bucc_f1_margin_oracle": Value(oracle["f1"], variant="oracle_threshold", n=n,
                                          extra={"threshold": thr, "precision": oracle["precision"],
                                                 "recall": oracle["recall"], "lang_pair": f"{language}-en"})}
    dev_thr = {p.get("dev_threshold") for _, p in sources if p} - {None}
    if len(dev_thr) == 1:
        t = dev_thr.pop()
        res = apply_threshold(cands, gold, t)
        out["bucc_f1_margin_dev_threshold"] = Value(res["f1"], variant="dev_threshold", n=n,
                                                    extra={"threshold": t, "precision": res["precision"],
                                                           "recall": res["recall"], "lang_pair": f"{language}-en"})
    return out


def fixture(data_dir: Path) -> None:
    """SYNTHETIC XTREME-layout de-en files for dev and test (both WITH gold, unlike the real test)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    de, en = LEXICON["de"], LEXICON["en"]
    for split, offset in (("dev", 0), ("test", 3)):
        src, trg, gold = [], [], []
        t_id = 0
        for ni in range(len(en["nouns"])):
            for ai in range(len(en["adjs"])):
                k = ni * len(en["adjs"]) + ai
                t_id += 1
                trg.append(f"en-{t_id:09d}\t" + en["is"].format(n=en["nouns"][ni], a=en["adjs"][ai]))
                if (k + offset) % 3 == 0:  # a third of the English sentences have a German translation
                    s_id = len(src) + 1
                    src.append(f"de-{s_id:09d}\t" + de["is"].format(n=de["nouns"][ni], a=de["adjs"][ai]))
                    gold.append(f"de-{s_id:09d}\ten-{t_id:09d}")
                elif (k + offset) % 7 == 0:  # German sentences without a pair
                    s_id = len(src) + 1
                    src.append(f"de-{s_id:09d}\t" + de["not"].format(n=de["nouns"][ni], a=de["adjs"][ai]))
        for ext, lines in (("de", src), ("en", trg), ("gold", gold)):
            (data_dir / f"de-en.{split}.{ext}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME bucc2018 (de-en.{{dev,test}}.*).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture, read_file=load_file, read_predictions=read_predictions))
