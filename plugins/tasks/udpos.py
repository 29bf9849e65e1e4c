"""UD-POS: universal part-of-speech tagging on Universal Dependencies treebanks, as XTREME/XTREME-R use it.

Zero-shot recipe: train on English (all English UD treebanks), select on English dev, test in 33 (XTREME) /
38 (XTREME-R) languages. Two metrics, reported apart: ``pos_seqeval_f1`` — the number XTREME publishes
(seqeval-0.0.12 chunk F1 on raw UPOS tags, see ``harness.metrics.seqeval_compat``) — and ``pos_accuracy``,
the true token accuracy.

Local layouts under ``data_dir``:

1. XTREME's processed files ``{split}-{lang}.tsv`` (``token<TAB>UPOS``, blank line between sentences; test files
   without tags load with ``tags=None``; a file of tags only — a label file of XTREME's ``evaluate.py`` — loads
   them as the gold tags);
2. CoNLL-U treebanks ``{lang}_{treebank}-ud-{split}.conllu`` (any sub-folder): every treebank of the language is
   read, in sorted path order, and concatenated as XTREME does. Comment lines, multiword-token ranges
   (``1-2``) and empty nodes (``8.1``) are skipped, so the words are UD's syntactic words with their UPOS
   (column 4); spaces and U+200C inside a form are removed as XTREME's preprocessing does. (XTREME-R's download
   additionally replaced sub-tokens by fused forms with ``conllu_to_conll.py``; that step is not reproduced.)

When ``data_dir`` lacks the files, its sub-folder ``xtreme/`` is tried (e.g. XTREME's ``train-en.tsv`` beside
current CoNLL-U test treebanks). Hub: ``google/xtreme`` config ``udpos.{English name}`` (XTREME's 33 languages only).
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
    read_conllu,
    tags_from_hub,
    write_conll,
)

XTREME_LANGUAGES = ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id",
                    "it", "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh")
XTREME_R_EXTRA = ("lt", "pl", "uk", "wo", "ro")
LANGUAGES = ("en",) + tuple(lang for lang in XTREME_LANGUAGES + XTREME_R_EXTRA if lang != "en")
LABELS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
          "SCONJ", "SYM", "VERB", "X")
HF_NAMES = {"af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
            "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
            "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
            "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
            "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
            "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese"}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HOW = ("Get UD treebanks (universaldependencies.org; XTREME used v2.5, XTREME-R v2.7) as .conllu files or "
       "XTREME's processed udpos/{split}-{lang}.tsv, or leave data_dir unset for the hub copy google/xtreme "
       "(udpos.<Language>, XTREME's 33 languages).")

SUBFOLDERS = ("xtreme",)  # tried when data_dir itself lacks the files
# google/xtreme "Add udpos.Yoruba data files", the last Parquet conversion commit: every udpos.<Language> folder in
# place, and xtreme.py too, which datasets >= 4 refuses, so the Parquet files are read directly (docs/hub-sources.md)
XTREME_SHA = "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"

# The languages (and order) of google-research/xtreme evaluate.py's TASK2LANGS for each version.
OFFICIAL_XTREME = tuple("af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh".split(","))
OFFICIAL_XTREME_R = OFFICIAL_XTREME + ("lt", "pl", "uk", "wo", "ro")

SPEC = TaskSpec(
    name="udpos", kind="tagging", roles=("target",), languages=LANGUAGES, labels=LABELS,
    sizes={"train": 21253, "dev": 3974, "test": 3000}, mean_tokens=25,  # cost before download: XTREME Table 1 (Hu et al. 2020): test 47-20,436 sentences per language, 3,000 typical
    metrics=("pos_seqeval_f1", "pos_accuracy"), version="1", eval_splits=("test",), hf_dataset="google/xtreme",
    hf_revision=XTREME_SHA, data_help=HOW,
    description="UD part-of-speech tagging; XTREME 33 languages + XTREME-R's 5 more",
    citation="Nivre et al. 2020, Universal Dependencies v2; Hu et al. 2020, XTREME",
    license="per treebank (mostly CC BY-SA)",
    defaults={"lr": 2e-5, "batch_size": 32, "max_length": 128, "epochs": 10},
    benchmarks={"xtreme": BenchmarkEntry("structured", ("pos_seqeval_f1", "f1"), position=3,
                                         export=ExportLayout("tags", languages=OFFICIAL_XTREME)),
                "xtreme-r": BenchmarkEntry("structured", ("pos_accuracy", "accuracy"), position=3,
                                           export=ExportLayout("tags", languages=OFFICIAL_XTREME_R))},
    aliases=("pos", "ud_pos", "ud-pos"),
)


def conllu_files(data_dir: Path, language: str, split: str) -> list[Path]:
    return sorted(p for p in Path(data_dir).rglob(f"{language}_*-ud-{split}.conllu"))


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Examples of ``split`` in ``language`` (see the module docstring for the layouts and sub-folders)."""
    return load_with_subfolders(_load_dir, split, language, data_dir, SUBFOLDERS)


def _load_dir(split: str, language: str, data_dir: Path | None) -> list[dict]:
    check_split("udpos", split, HF_SPLITS)
    if data_dir is None:
        if language not in HF_NAMES:
            raise DataMissing(f"udpos: the hub copy google/xtreme has no UD-POS data for {language!r} (XTREME-R "
                              f"language); give a folder of UD v2.7 .conllu files. {HOW}")
        rows = load_hf(SPEC.hf_dataset, f"udpos.{HF_NAMES[language]}", HF_SPLITS[split], revision=SPEC.hf_revision,
                       data_files=f"udpos.{HF_NAMES[language]}/{HF_SPLITS[split]}-*.parquet")
        return tags_from_hub(rows, "pos_tags", language, split)
    d = Path(data_dir)
    xtreme = d / f"{split}-{language}.tsv"
    if xtreme.exists():
        return read_conll(xtreme, language, split, "udpos", HOW, labels=LABELS)
    files = conllu_files(d, language, split)
    if files:
        return read_conllu(files, language, split)
    raise DataMissing(f"udpos: no {split!r} data for {language!r} under {d} (looked for {xtreme.name} and "
                      f"{language}_*-ud-{split}.conllu). {HOW}")


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    path = Path(path)
    if path.suffix == ".conllu":
        return read_conllu([path], language, split or "file")
    return read_conll(path, language, split or "file", "udpos", HOW, labels=LABELS)


# ---- SYNTHETIC fixtures -------------------------------------------------------------------------------
POS_LEXICON = {
    "en": {"DET": ["the", "a"], "NOUN": ["cat", "dog", "house", "tree"], "ADJ": ["red", "big", "old"],
           "VERB": ["sees", "likes"], "AUX": ["is"], "PUNCT": ["."], "SCONJ": ["because"], "PRON": ["it"]},
    "de": {"DET": ["die", "eine"], "NOUN": ["Katze", "Hund", "Haus", "Baum"], "ADJ": ["rot", "groß", "alt"],
           "VERB": ["sieht", "mag"], "AUX": ["ist"], "PUNCT": ["."], "SCONJ": ["weil"], "PRON": ["es"]},
    "es": {"DET": ["el", "un"], "NOUN": ["gato", "perro", "casa", "árbol"], "ADJ": ["rojo", "grande", "viejo"],
           "VERB": ["ve", "quiere"], "AUX": ["es"], "PUNCT": ["."], "SCONJ": ["porque"], "PRON": ["lo"]},
    "zh": {"DET": ["这", "那"], "NOUN": ["猫", "狗", "房子", "树"], "ADJ": ["红", "大", "老"], "VERB": ["看见", "喜欢"],
           "AUX": ["是"], "PUNCT": ["。"], "SCONJ": ["因为"], "PRON": ["它"]},
}
PATTERNS = (("DET", "NOUN", "VERB", "DET", "NOUN", "PUNCT"), ("DET", "NOUN", "AUX", "ADJ", "PUNCT"),
            ("PRON", "VERB", "DET", "ADJ", "NOUN", "SCONJ", "DET", "NOUN", "AUX", "ADJ", "PUNCT"))


def synthetic_sentences(n: int, seed: int, language: str) -> list[list[tuple[str, str]]]:
    import random

    rng = random.Random(seed)
    lex = POS_LEXICON.get(language, POS_LEXICON["en"])
    return [[(rng.choice(lex[t]), t) for t in rng.choice(PATTERNS)] for _ in range(n)]


def fixture(data_dir: Path, n_train: int = 200, n_eval: int = 40, seed: int = 40,
            languages: tuple[str, ...] = ("en", "de", "es", "zh")) -> None:
    """SYNTHETIC files: XTREME-layout English train TSV, CoNLL-U dev/test per language."""
    from harness.api import SYNTHETIC_NOTE

    d = Path(data_dir)
    write_conll(d / "train-en.tsv", synthetic_sentences(n_train, seed, "en"))
    for i, split in enumerate(("dev", "test")):
        for lang in languages:
            lines = []
            for k, sent in enumerate(synthetic_sentences(n_eval, seed + 1 + i, lang)):
                lines += [f"# sent_id = syn-{k}", "# text = " + " ".join(w for w, _ in sent)]
                lines += [f"{j + 1}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_" for j, (w, t) in enumerate(sent)]
                lines.append("")
            (d / f"{lang}_synthetic-ud-{split}.conllu").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: XTREME TSV (train) + CoNLL-U (dev/test).\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
