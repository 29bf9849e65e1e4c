"""PAWS-X (Yang et al., 2019): adversarial paraphrase identification in 7 languages.

Zero-shot recipe: train on English PAWS (x-final ``en/train.tsv``), select on English dev, test in
de en es fr ja ko zh; metric accuracy. Labels are the raw strings ``"0"`` (not a paraphrase) and ``"1"``.

Local layouts under ``data_dir``, tried in this order:

1. XTREME's processed files ``{split}-{lang}.tsv``: headerless ``sentence1<TAB>sentence2<TAB>label`` written by
   Python's ``csv.writer`` (CRLF endings, fields with quotes are csv-quoted with doubled quotes — read back with
   csv quoting); XTREME strips test labels, so two-column rows get ``label=None``;
2. the official x-final release ``{lang}/{train,dev_2k,test_2k}.tsv`` (also under ``x-final/``): header
   ``id<TAB>sentence1<TAB>sentence2<TAB>label``, quotes literal. ``dev`` is ``dev_2k``, ``test`` is ``test_2k``.

When ``data_dir`` lacks the files, its sub-folder ``xtreme/`` is tried.
Hub: ``google-research-datasets/paws-x`` (config per language; splits train/validation/test).
"""

from __future__ import annotations

import csv
from pathlib import Path

from harness.api import (
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    check_split,
    hookimpl,
    load_hf,
    load_with_subfolders,
    read_tsv,
)

LANGUAGES = ("en", "de", "es", "fr", "ja", "ko", "zh")
LABELS = ("0", "1")
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
OFFICIAL = {"train": "train.tsv", "dev": "dev_2k.tsv", "test": "test_2k.tsv"}
HOW = ("Get PAWS-X x-final (storage.googleapis.com/paws/pawsx/x-final.tar.gz) or XTREME's processed pawsx/ "
       "folder, or leave data_dir unset for the hub copy google-research-datasets/paws-x.")

SUBFOLDERS = ("xtreme",)  # tried when data_dir itself lacks the files

SPEC = TaskSpec(
    name="pawsx", kind="classification", roles=("target",), languages=LANGUAGES, labels=LABELS,
    sizes={"train": 49401, "dev": 2000, "test": 2000}, mean_tokens=55,  # cost before download: XTREME Table 1 (Hu et al. 2020); per language for dev/test
    parallel="items",  # PAWS-X dev/test: the same 2,000 pairs human-translated into 6 languages (Yang et al. 2019)
    metrics=("accuracy",), version="1", eval_splits=("test",), hf_dataset="google-research-datasets/paws-x",
    data_help=HOW, description="Paraphrase identification; train on English PAWS, test in 7 languages",
    citation="Yang et al. 2019, PAWS-X: A Cross-lingual Adversarial Dataset for Paraphrase Identification",
    license="free use, acknowledge Google (PAWS licence)",
    defaults={"lr": 2e-5, "batch_size": 32, "max_length": 128, "epochs": 5},
    benchmarks={"xtreme": BenchmarkEntry("classification", ("accuracy",), position=2, export=ExportLayout("label"))},
    aliases=("paws-x", "paws_x"),
)


def _label(raw: str | None) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if value not in LABELS:
        raise ValueError(f"pawsx: label {value!r} is not one of {LABELS}")
    return value


def read_xtreme(path: Path, language: str, split: str) -> list[dict]:
    rows = read_tsv(path, "pawsx", HOW, quoting=csv.QUOTE_MINIMAL)
    return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": r[0], "text_b": r[1],
             "label": _label(r[2]) if len(r) > 2 else None} for i, r in enumerate(rows)]


def read_official(path: Path, language: str, split: str) -> list[dict]:
    rows = read_tsv(path, "pawsx", HOW)
    header, body = rows[0], rows[1:]
    if header[:3] != ["id", "sentence1", "sentence2"]:
        raise ValueError(f"pawsx: {path} has header {header!r}; expected id, sentence1, sentence2, label")
    return [{"id": f"{split}-{language}-{r[0]}", "language": language, "text_a": r[1], "text_b": r[2],
             "label": _label(r[3]) if len(r) > 3 else None} for r in body]


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Examples of ``split`` in ``language`` (see the module docstring for the layouts and sub-folders)."""
    return load_with_subfolders(_load_dir, split, language, data_dir, SUBFOLDERS)


def _load_dir(split: str, language: str, data_dir: Path | None) -> list[dict]:
    check_split("pawsx", split, HF_SPLITS)
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, language, HF_SPLITS[split], revision=SPEC.hf_revision)
        return [{"id": f"{split}-{language}-{r['id']}", "language": language, "text_a": r["sentence1"],
                 "text_b": r["sentence2"], "label": str(r["label"]) if r["label"] in (0, 1) else None} for r in ds]
    d = Path(data_dir)
    xtreme = d / f"{split}-{language}.tsv"
    if xtreme.exists():
        return read_xtreme(xtreme, language, split)
    for base in (d / language, d / "x-final" / language):
        if (base / OFFICIAL[split]).exists():
            return read_official(base / OFFICIAL[split], language, split)
    raise DataMissing(f"pawsx: no {split!r} file for {language!r} under {d} (looked for {xtreme.name}, "
                      f"{language}/{OFFICIAL[split]}). {HOW}")


def read_labels(path: Path, language: str, split: str) -> list[dict]:
    """A label file of XTREME's ``evaluate.py`` (one gold label ``0``/``1`` per line) as examples without text."""
    return [{"id": f"{split}-{language}-{i}", "language": language, "text_a": "", "text_b": "", "label": _label(r[0])}
            for i, r in enumerate(read_tsv(path, "pawsx", HOW))]


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): XTREME's processed TSV, an x-final file, or an ``evaluate.py`` label file."""
    path = Path(path)
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    if first.startswith("id\tsentence1"):
        return read_official(path, language, split or "file")
    rows = read_tsv(path, "pawsx", HOW)
    if rows and all(len(r) == 1 for r in rows):
        return read_labels(path, language, split or "file")
    return read_xtreme(path, language, split or "file")


def fixture(data_dir: Path, n_train: int = 240, n_eval: int = 60, seed: int = 50,
            languages: tuple[str, ...] = ("en", "de", "es", "fr")) -> None:
    """SYNTHETIC XTREME-layout files (csv.writer TSV, CRLF; test keeps labels so it can be scored)."""
    import random

    from harness.api import LEXICON, SYNTHETIC_NOTE

    def rows(n: int, s: int) -> dict[str, list[list[str]]]:
        rng = random.Random(s)
        draws = [(rng.sample(range(8), 2), rng.randrange(8), rng.randrange(8), rng.randrange(2)) for _ in range(n)]
        out: dict[str, list[list[str]]] = {}
        for lang in languages:
            lx = LEXICON[lang]
            out[lang] = []
            for (n1, n2), a1, a2, label in draws:
                x = lx["is"].format(n=lx["nouns"][n1], a=lx["adjs"][a1])
                y = lx["is"].format(n=lx["nouns"][n2], a=lx["adjs"][a2])
                first = lx["and"].format(x=x, y=y)
                # paraphrase: the conjuncts swapped; not: the adjectives swapped between the nouns
                second = (lx["and"].format(x=y, y=x) if label else
                          lx["and"].format(x=lx["is"].format(n=lx["nouns"][n2], a=lx["adjs"][a1]),
                                           y=lx["is"].format(n=lx["nouns"][n1], a=lx["adjs"][a2])))
                if a1 == a2:
                    label = 1
                out[lang].append([first, '"' + second + '"' if label and n1 % 4 == 0 else second, str(label)])
        return out

    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    parts = {"train": {"en": rows(n_train, seed)["en"]}, "dev": rows(n_eval, seed + 1), "test": rows(n_eval, seed + 2)}
    for split, by_lang in parts.items():
        for lang, rs in by_lang.items():
            with open(d / f"{split}-{lang}.tsv", "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh, delimiter="\t").writerows(rs)
    (d / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME processed PAWS-X TSV (csv.writer).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
