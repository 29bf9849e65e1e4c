"""XNLI (Conneau et al., 2018): 15-language NLI; English training data is MultiNLI.

Local layouts, checked in this order under ``data_dir``:

1. XTREME's processed files: ``train-en.tsv``, ``dev-{lang}.tsv``, ``test-{lang}.tsv`` (headerless,
   ``premise<TAB>hypothesis<TAB>label``, CRLF, written by ``csv.writer`` so a field holding ``"`` is quoted; XTREME strips test labels, so those rows get ``label=None``);
2. the XNLI-1.0 release: ``xnli.{dev,test}.tsv`` (or ``XNLI-1.0/xnli.*.tsv``), header with ``language``,
   ``gold_label``, ``sentence1``, ``sentence2``; training from MultiNLI's ``multinli_1.0_train.txt``;
3. a folder holding one language's headerless labelled ``{split}.tsv`` / ``{split}.txt`` (XGLUE-style
   ``premise<TAB>hypothesis<TAB>label``, e.g. a labelled German XNLI test); the caller's language is trusted;
   also ``xglue-{lang}/{split}.tsv``, so one folder may hold ``xtreme/`` (4.: XTREME's files in a sub-folder,
   read when no labelled file matched) beside ``xglue-de/`` (../shared/data/xnli has this shape).

With no ``data_dir`` the hub copy ``facebook/xnli`` (one config per language) is used.
"""

from __future__ import annotations

import csv
from pathlib import Path

from harness.api import (
    SYNTHETIC_NOTE,
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    hookimpl,
    load_hf,
    planted_nli_rows,
    read_tsv,
    read_tsv_dicts,
)

LANGUAGES = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
LABELS = ("entailment", "neutral", "contradiction")
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = ("Get XTREME's processed XNLI (google-research/xtreme, scripts/download_data.sh) or XNLI-1.0 from "
       "facebookresearch/XNLI plus MultiNLI for training; or leave data_dir unset to use the hub dataset facebook/xnli.")

SPEC = TaskSpec(
    name="xnli", kind="classification", roles=("target",), languages=LANGUAGES, labels=LABELS,
    sizes={"train": 392702, "dev": 2490, "test": 5010}, mean_tokens=40,  # cost before download: XTREME Table 1 (Hu et al. 2020); per language for dev/test
    parallel="items",  # XNLI test: 5,010 English pairs translated into 14 languages (Conneau et al. 2018)
    metrics=("accuracy",), version="1", eval_splits=("test",), hf_dataset="facebook/xnli",
    data_help=HOW, description="Cross-lingual NLI; train on English MultiNLI, test in 15 languages",
    citation="Conneau et al. 2018, XNLI: Evaluating Cross-lingual Sentence Representations", license="CC BY-NC 4.0",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 128, "epochs": 2},
    benchmarks={"xtreme": BenchmarkEntry("classification", ("accuracy",), position=1, export=ExportLayout("label")),
                "xtreme-r": BenchmarkEntry("classification", ("accuracy",), position=1, export=ExportLayout("label"))},
)


def _label(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    return "contradiction" if raw == "contradictory" else raw


def _rows(rows: list[list[str]], lang: str, split: str) -> list[dict]:
    return [
        {"id": f"{split}-{lang}-{i}", "language": lang, "text_a": r[0], "text_b": r[1],
         "label": _label(r[2]) if len(r) > 2 else None}
        for i, r in enumerate(rows)
    ]


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, language, HF_SPLITS.get(split, split), revision=SPEC.hf_revision)
        return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": r["premise"],
                 "text_b": r["hypothesis"], "label": LABELS[r["label"]] if r["label"] >= 0 else None}
                for i, r in enumerate(ds)]
    data_dir = Path(data_dir)
    xtreme = data_dir / f"{split}-{language}.tsv"
    if xtreme.exists():
        return _rows(read_tsv(xtreme, "xnli", HOW, quoting=csv.QUOTE_MINIMAL), language, split)
    for release in (data_dir / f"xnli.{split}.tsv", data_dir / "XNLI-1.0" / f"xnli.{split}.tsv"):
        if release.exists():
            rows = [r for r in read_tsv_dicts(release, "xnli", HOW) if r["language"] == language]
            return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": r["sentence1"],
                     "text_b": r["sentence2"], "label": _label(r["gold_label"])} for i, r in enumerate(rows)]
    for single in (data_dir / f"{split}.tsv", data_dir / f"{split}.txt", data_dir / f"xglue-{language}" / f"{split}.tsv"):
        rows = read_tsv(single, "xnli", HOW) if single.exists() else []
        if rows and len(rows[0]) == 3 and _label(rows[0][2]) in LABELS:
            return _rows(rows, language, split)  # one language's headerless premise/hypothesis/label file
    if (data_dir / "xtreme" / xtreme.name).exists():  # a folder holding xtreme/ and xglue-LANG/ side by side
        return _rows(read_tsv(data_dir / "xtreme" / xtreme.name, "xnli", HOW, quoting=csv.QUOTE_MINIMAL), language, split)
    if split == "train" and language == "en":
        for mnli in (data_dir / "multinli_1.0_train.txt", data_dir / "multinli_1.0" / "multinli_1.0_train.txt"):
            if mnli.exists():
                rows = [r for r in read_tsv_dicts(mnli, "xnli", HOW) if r["gold_label"] in LABELS]
                return [{"id": f"train-en-{i}", "language": "en", "text_a": r["sentence1"],
                         "text_b": r["sentence2"], "label": r["gold_label"]} for i, r in enumerate(rows)]
    raise DataMissing(f"xnli: no {split!r} file for language {language!r} under {data_dir} "
                      f"(looked for {xtreme.name}, xnli.{split}.tsv). {HOW}")


def label_only(rows: list[list[str]], path: Path, language: str, split: str) -> list[dict]:
    """A label file of XTREME's ``evaluate.py`` (one gold label per line) as examples without text."""
    for n, r in enumerate(rows, 1):
        if _label(r[0]) not in LABELS:
            raise ValueError(f"xnli: {path}: row {n} is {r[0]!r}, not a label ({', '.join(LABELS)}); a one-column "
                             "file must be a label file (one gold label per line)")
    return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": "", "text_b": "",
             "label": _label(r[0])} for i, r in enumerate(rows)]


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): XTREME/XGLUE headerless TSV, an XNLI-1.0 file filtered to ``language``, or a
    label file of XTREME's ``evaluate.py`` (one gold label per line)."""
    path = Path(path)
    rows = read_tsv(path, "xnli", HOW)
    if rows and all(len(r) == 1 for r in rows):
        return label_only(rows, path, language, split or "file")
    if rows and "gold_label" in rows[0]:
        data = [r for r in read_tsv_dicts(path, "xnli", HOW) if r["language"] == language]
        return [{"id": f"{split or 'file'}-{language}-{i}", "language": language, "text_a": r["sentence1"],
                 "text_b": r["sentence2"], "label": _label(r["gold_label"])} for i, r in enumerate(data)]
    return _rows(rows, language, split or "file")


def fixture(data_dir: Path, n_train: int = 240, n_eval: int = 60, seed: int = 0,
            noise: float = 0.0, cue_noise: float = 0.5) -> None:
    """SYNTHETIC XTREME-layout files (CRLF, headerless; test files keep labels so they can be scored).

    The label follows language-specific sentence templates and is planted in cue symbols shared by every language
    (``harness.toolkit.synthetic.planted_nli_rows`` with ``surface=True``). In the English training split ``cue_noise`` of
    the cues name a wrong label, so training from scratch learns part of the templates (the English negation) and
    not the cues; an encoder that already knows the cues (the synthetic MNLI) uses them in every language.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    train = planted_nli_rows(n_train, seed, ("en",), noise=noise, surface=True, cue_noise=cue_noise)["en"]
    parts = {"train": {"en": train}, "dev": planted_nli_rows(n_eval, seed + 1, surface=True),
             "test": planted_nli_rows(n_eval, seed + 2, surface=True)}
    for split, by_lang in parts.items():
        for lang, rows in by_lang.items():
            text = "".join("\t".join(r) + "\r\n" for r in rows)
            (data_dir / f"{split}-{lang}.tsv").write_bytes(text.encode("utf-8"))
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME processed XNLI TSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
