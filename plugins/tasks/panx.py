"""PAN-X / WikiANN NER (Pan et al., 2017) with Rahimi et al.'s (2019) balanced splits, as XTREME uses them.

Zero-shot recipe: train on English, select on English dev, test in 40 (XTREME) / 48 (XTREME-R) languages;
metric seqeval entity F1 on IOB2 tags (``ner_seqeval_f1``, seqeval-0.0.12 semantics).

Local layouts under ``data_dir``:

1. XTREME's processed files ``{split}-{lang}.tsv``: ``token<TAB>tag`` per line, blank line between sentences;
   XTREME strips test labels, so one-column files load with ``tags=None`` (scoring raises ``MissingGold``) —
   unless every line is a tag: then it is a label file of XTREME's ``evaluate.py`` (one tag per line) and its
   lines are the gold tags;
2. Rahimi's raw splits (the ``{lang}.tar.gz`` members, renamed by XTREME's download to ``{lang}-{split}``, or
   ``{lang}/{split}``): ``{lang}:token<TAB>tag`` lines; the ``{lang}:`` prefix is stripped as XTREME does.

When ``data_dir`` lacks the files, its sub-folder ``xtreme/`` is tried. Hub: ``google/xtreme`` config ``PAN-X.{lang}`` (``tokens``, ``ner_tags`` class ids), splits train/validation/test.
"""

from __future__ import annotations

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
    read_conll,
    tags_from_hub,
    write_conll,
)

XTREME_LANGUAGES = ("ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de", "el",
                    "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko", "th", "sw",
                    "yo", "my", "zh", "kk", "tr", "et", "fi", "hu")
XTREME_R_EXTRA = ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")
LANGUAGES = ("en",) + tuple(lang for lang in XTREME_LANGUAGES + XTREME_R_EXTRA if lang != "en")
LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = ("Get PAN-X through google-research/xtreme's download_data.sh (AmazonPhotos.zip → panx/{split}-{lang}.tsv) "
       "or leave data_dir unset for the hub copy google/xtreme (PAN-X.{lang}).")

SUBFOLDERS = ("xtreme",)  # tried when data_dir itself lacks the files
# google/xtreme's last Parquet conversion commit ("Add udpos.Yoruba data files"): every PAN-X.<lang> folder is in
# place, and so is the loading script xtreme.py that datasets >= 4 refuses, so the Parquet files are read directly
# (docs/hub-sources.md)
XTREME_SHA = "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"

# The languages (and order) of google-research/xtreme evaluate.py's TASK2LANGS for each version.
OFFICIAL_XTREME = tuple("ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu".split(","))
OFFICIAL_XTREME_R = OFFICIAL_XTREME + ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")

SPEC = TaskSpec(
    name="panx", kind="tagging", roles=("target",), languages=LANGUAGES, labels=LABELS,
    sizes={"train": 20000, "dev": 10000, "test": 5000}, mean_tokens=15,  # cost before download: XTREME Table 1 (Hu et al. 2020): test 1,000-10,000 per language, 5,000 typical
    metrics=("ner_seqeval_f1",), version="1", eval_splits=("test",), hf_dataset="google/xtreme",
    hf_revision=XTREME_SHA, data_help=HOW,
    description="WikiANN NER (Rahimi splits); XTREME 40 languages + XTREME-R's 8 more",
    citation="Pan et al. 2017, Cross-lingual Name Tagging and Linking for 282 Languages; Rahimi et al. 2019",
    license="unknown (WikiANN); Wikipedia text CC BY-SA",
    defaults={"lr": 2e-5, "batch_size": 32, "max_length": 128, "epochs": 10},
    benchmarks={b: BenchmarkEntry("structured", ("ner_seqeval_f1", "seqeval_f1", "f1"), position=4,
                                 export=ExportLayout("tags", languages=langs))
                for b, langs in (("xtreme", OFFICIAL_XTREME), ("xtreme-r", OFFICIAL_XTREME_R))},
    aliases=("pan-x", "wikiann", "ner"),
)


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Examples of ``split`` in ``language`` (see the module docstring for the layouts and sub-folders)."""
    return load_with_subfolders(_load_dir, split, language, data_dir, SUBFOLDERS)


def _load_dir(split: str, language: str, data_dir: Path | None) -> list[dict]:
    check_split("panx", split, HF_SPLITS)
    if data_dir is None:
        if language in XTREME_R_EXTRA:  # google/xtreme has PAN-X.* for XTREME's 40 languages only
            raise DataMissing(f"panx: the hub copy google/xtreme has no PAN-X.{language} config ({language!r} is an "
                              f"XTREME-R language); give a folder of XTREME-R's panx/{{split}}-{language}.tsv. {HOW}")
        rows = load_hf(SPEC.hf_dataset, f"PAN-X.{language}", HF_SPLITS[split], revision=SPEC.hf_revision,
                       data_files=f"PAN-X.{language}/{HF_SPLITS[split]}-*.parquet")
        return tags_from_hub(rows, "ner_tags", language, split)
    d = Path(data_dir)
    xtreme = d / f"{split}-{language}.tsv"
    if xtreme.exists():
        return read_conll(xtreme, language, split, "panx", HOW, labels=LABELS)
    for raw in (d / f"{language}-{split}", d / language / split):
        if raw.is_file():
            return read_conll(raw, language, split, "panx", HOW, strip_prefix=f"{language}:")
    raise DataMissing(f"panx: no {split!r} file for {language!r} under {d} (looked for {xtreme.name}, "
                      f"{language}-{split}, {language}/{split}). {HOW}")


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): ``token<TAB>tag`` lines, Rahimi's raw lines, or a tags-only label file."""
    return read_conll(Path(path), language, split or "file", "panx", HOW, strip_prefix=f"{language}:", labels=LABELS)


# ---- SYNTHETIC fixtures -------------------------------------------------------------------------------
NAMES = {"PER": ["Anna", "Omar", "Li Wei", "Maria Lopez"], "ORG": ["Acme Corp", "Nordbank", "Unesco"],
         "LOC": ["Paris", "Nairobi", "New York", "Lima"]}
FRAMES = {"en": ("{x} met {y} in {z} .", "{x} works for {y} ."), "de": ("{x} traf {y} in {z} .", "{x} arbeitet für {y} ."),
          "es": ("{x} conoció a {y} en {z} .", "{x} trabaja para {y} ."),
          "fr": ("{x} a rencontré {y} à {z} .", "{x} travaille pour {y} .")}


def synthetic_sentences(n: int, seed: int, language: str) -> list[list[tuple[str, str]]]:
    import random

    rng = random.Random(seed)
    met, works = FRAMES.get(language, FRAMES["en"])
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            slots = {"x": ("PER", rng.choice(NAMES["PER"])), "y": ("PER", rng.choice(NAMES["PER"])),
                     "z": ("LOC", rng.choice(NAMES["LOC"]))}
            frame = met
        else:
            slots = {"x": ("PER", rng.choice(NAMES["PER"])), "y": ("ORG", rng.choice(NAMES["ORG"]))}
            frame = works
        sent = []
        for word in frame.split():
            if word.startswith("{"):
                kind, name = slots[word[1:-1]]
                for j, part in enumerate(name.split()):
                    sent.append((part, ("B-" if j == 0 else "I-") + kind))
            else:
                sent.append((word, "O"))
        out.append(sent)
    return out


def fixture(data_dir: Path, n_train: int = 200, n_eval: int = 40, seed: int = 30,
            languages: tuple[str, ...] = ("en", "de", "es", "fr")) -> None:
    """SYNTHETIC XTREME-layout PAN-X files (test files keep labels so they can be scored)."""
    from harness.api import SYNTHETIC_NOTE

    d = Path(data_dir)
    write_conll(d / "train-en.tsv", synthetic_sentences(n_train, seed, "en"))
    for lang in languages:
        write_conll(d / f"dev-{lang}.tsv", synthetic_sentences(n_eval, seed + 1, lang))
        write_conll(d / f"test-{lang}.tsv", synthetic_sentences(n_eval, seed + 2, lang))
    (d / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME processed PAN-X TSV.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
