"""XCOPA (Ponti et al., 2020): causal commonsense reasoning (COPA) in 11 languages, an XTREME-R task.

Zero-shot recipe (XTREME-R): train on English COPA (400 examples; XTREME-R first trains on SIQA — in this
harness that is the intermediate stage ``intermediate: [siqa]``, labelled as such in every row), select on
English COPA val, test on XCOPA test in et ht id it qu sw ta th tr vi zh; metric accuracy. ``en`` here is English
COPA (its test labels are hidden: the XTREME-R copy fills them with 0, so an all-zero English test loads with
``label=None``).

Example layout (``multiple_choice``): ``context`` = premise, ``question`` = "What was the cause?" or "What
happened as a result?" (for ``cause``/``effect``), ``choices`` = [choice1, choice2], ``label`` = 0/1.

Local layouts under ``data_dir`` (``dev`` is the ``val`` split):

1. official XCOPA: ``data/{lang}/{val,test}.{lang}.jsonl`` or ``{lang}/{split}.{lang}.jsonl``;
2. XTREME's download: flat ``{train,val,test}.{lang}.jsonl`` (English COPA as ``{split}.en.jsonl``);
3. the XTREME-R layout ``{split}-{lang}.jsonl`` (``train-en.jsonl``, ``val-en.jsonl``, ``test-en.jsonl``).

When ``data_dir`` lacks the files, its sub-folders ``xtreme-r/`` and ``xtreme/`` are tried.
``harness score`` also reads XTREME-R's ``evaluate.py`` files: ``{"label": x}`` lines as gold (``--data``) and as
predictions.
Hub: ``cambridgeltl/xcopa`` (config per language, splits validation/test); English COPA from ``aps/super_glue``
(config ``copa``).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.api import (
    BenchmarkEntry,
    DataMissing,
    ExportLayout,
    Task,
    TaskSpec,
    hookimpl,
    load_hf,
    load_with_subfolders,
)

TARGET_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
LANGUAGES = ("en",) + TARGET_LANGUAGES
QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
FILE_SPLITS = {"train": "train", "dev": "val", "val": "val", "test": "test"}
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
COPA_HF = "aps/super_glue"
HOW = ("Get XCOPA from github.com/cambridgeltl/xcopa (data/{lang}/{val,test}.{lang}.jsonl) and English COPA "
       "(SuperGLUE COPA.zip), or leave data_dir unset for the hub copies cambridgeltl/xcopa, aps/super_glue (copa).")

SUBFOLDERS = ("xtreme-r", "xtreme")  # tried when data_dir itself lacks the files

SPEC = TaskSpec(
    name="xcopa", kind="multiple_choice", roles=("target",), languages=LANGUAGES,
    sizes={"train": 400, "dev": 100, "test": 500}, mean_tokens=40,  # cost before download: COPA train/val (SuperGLUE card), XCOPA val/test per language (Ponti et al. 2020); mean tokens: both choices
    metrics=("accuracy",), version="1", eval_splits=("test",), hf_dataset="cambridgeltl/xcopa",
    hf_helpers={COPA_HF: None}, data_help=HOW,
    description="Causal commonsense MC; train on English COPA (XTREME-R: after SIQA), test in 11 languages",
    citation="Ponti et al. 2020, XCOPA: A Multilingual Dataset for Causal Commonsense Reasoning",
    license="CC BY 4.0 (XCOPA); BSD-2-Clause (COPA)",
    defaults={"lr": 2e-5, "batch_size": 32, "max_length": 128, "epochs": 5},
    # XTREME-R's evaluate.py reads test-LANG.jsonl files of {"label": x} lines for the 11 target languages.
    benchmarks={"xtreme-r": BenchmarkEntry("classification", ("accuracy",), position=2,
                                           export=ExportLayout("label_jsonl", "test-{language}.jsonl",
                                                               languages=TARGET_LANGUAGES))},
)


def _example(r: dict, language: str, split: str, i: int) -> dict:
    if r["question"] not in QUESTIONS:
        raise ValueError(f"xcopa: question {r['question']!r} is not one of {list(QUESTIONS)}")
    label = r.get("label")
    return {"id": f"{split}-{language}-{r.get('idx', i)}", "language": language, "context": r["premise"],
            "question": QUESTIONS[r["question"]], "choices": [r["choice1"], r["choice2"]],
            "label": int(label) if label is not None and int(label) in (0, 1) else None}


def read_jsonl(path: Path, language: str, split: str) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [_example(r, language, split, i) for i, r in enumerate(rows)]
    if language == "en" and split == "test" and len(out) >= 100 and all(e["label"] == 0 for e in out):
        for e in out:  # COPA test labels are hidden; downloads fill them with 0
            e["label"] = None
    return out


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Examples of ``split`` in ``language`` (see the module docstring for the layouts and sub-folders)."""
    return load_with_subfolders(_load_dir, split, language, data_dir, SUBFOLDERS)


def _load_dir(split: str, language: str, data_dir: Path | None) -> list[dict]:
    if split not in FILE_SPLITS:
        raise DataMissing(f"xcopa: unknown split {split!r}; allowed: train, dev, test")
    fsplit = FILE_SPLITS[split]
    if fsplit == "train" and language != "en":
        raise DataMissing(f"xcopa: train exists only in English (COPA), not {language!r}")
    if data_dir is None:
        if language == "en":
            rows = load_hf(COPA_HF, "copa", HF_SPLITS[fsplit])
        else:
            rows = load_hf(SPEC.hf_dataset, language, HF_SPLITS[fsplit], revision=SPEC.hf_revision)
        return [_example({**r, "question": r["question"]}, language, fsplit, i) for i, r in enumerate(rows)]
    d = Path(data_dir)
    name = f"{fsplit}.{language}.jsonl"
    for cand in (d / "data" / language / name, d / language / name, d / name, d / f"{fsplit}-{language}.jsonl"):
        if cand.exists():
            return read_jsonl(cand, language, fsplit)
    raise DataMissing(f"xcopa: no {split!r} file for {language!r} under {d} (looked for data/{language}/{name}, "
                      f"{name}, {fsplit}-{language}.jsonl). {HOW}")


def _label_lines(path: Path) -> list[int] | None:
    """The labels of a file of ``{"label": x}`` lines (XTREME-R's ``evaluate.py`` layout); None for other files."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows or not all(isinstance(r, dict) and "label" in r and not {"premise", "prediction"} & set(r) for r in rows):
        return None
    labels = [r["label"] for r in rows]
    bad = next((n for n, x in enumerate(labels, 1) if str(x) not in ("0", "1")), None)
    if bad is not None:
        raise ValueError(f"xcopa: {path}:{bad}: label {labels[bad - 1]!r} is not 0 or 1")
    return [int(x) for x in labels]


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): XCOPA/COPA jsonl, or a label file of XTREME-R's ``evaluate.py``."""
    path = Path(path)
    split = FILE_SPLITS.get(split or "", None) or path.name.split(".")[0].split("-")[0]
    labels = _label_lines(path)
    if labels is not None:
        return [{"id": f"{split}-{language}-{i}", "language": language, "context": "", "question": "",
                 "choices": [], "label": x} for i, x in enumerate(labels)]
    return read_jsonl(path, language, split)


def read_predictions(path: Path, examples: list[dict], language: str) -> list | None:
    """XTREME-R's prediction layout (one ``{"label": x}`` per line, in example order); None for other files."""
    path = Path(path)
    labels = _label_lines(path) if path.suffix == ".jsonl" else None
    if labels is None:
        return None
    if len(labels) != len(examples):
        raise ValueError(f"xcopa: {path}: {len(labels)} predictions for {len(examples)} examples")
    return labels


def fixture(data_dir: Path, n_train: int = 200, n_eval: int = 40, seed: int = 60,
            languages: tuple[str, ...] = ("en", "et", "id", "zh")) -> None:
    """SYNTHETIC XTREME-download layout (flat ``{split}.{lang}.jsonl``); test keeps labels."""
    import random

    words = {"en": ("the glass fell", "it broke", "it was sunny", "someone pushed it"),
             "et": ("klaas kukkus", "see purunes", "oli päikeseline", "keegi lükkas seda"),
             "id": ("gelas itu jatuh", "gelas itu pecah", "hari cerah", "seseorang mendorongnya"),
             "zh": ("杯子掉了", "它碎了", "天气晴朗", "有人推了它")}

    def rows(n: int, s: int, lang: str) -> list[dict]:
        rng = random.Random(s)
        premise, effect, distract, cause = words.get(lang, words["en"])
        out = []
        for i in range(n):
            q = rng.choice(("cause", "effect"))
            right = cause if q == "cause" else effect
            label = rng.randrange(2)
            c1, c2 = (right, distract) if label == 0 else (distract, right)
            out.append({"premise": f"{premise} ({i})", "choice1": c1, "choice2": c2, "question": q, "label": label,
                        "idx": i})
        return out

    from harness.api import SYNTHETIC_NOTE

    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    files = {("train", "en"): rows(n_train, seed, "en")}
    for lang in languages:
        files[("val", lang)] = rows(n_eval, seed + 1, lang)
        files[("test", lang)] = rows(n_eval, seed + 2, lang)
    for (split, lang), rs in files.items():
        (d / f"{split}.{lang}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rs),
                                                 encoding="utf-8")
    (d / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME download XCOPA jsonl.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file, read_predictions=read_predictions))
