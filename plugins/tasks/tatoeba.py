"""Tatoeba (Artetxe & Schwenk 2019; XTREME): bitext retrieval between a language and English, accuracy.

Local layouts under ``data_dir`` (the ``test`` split is the only one):

1. LASER's release ``data/tatoeba/v1``: ``tatoeba.{xxx}-eng.{xxx}`` and ``tatoeba.{xxx}-eng.eng`` (ISO 639-3,
   line-aligned, 1000 lines except a few languages);
2. XTREME's renamed copy: ``{lg}-en.{lg}`` and ``{lg}-en.en`` (ISO 639-1 names, same content).

Languages are XTREME's 36 two-letter codes (a LASER three-letter code is accepted too). With no ``data_dir``
the hub copy ``mteb/tatoeba-bitext-mining`` (configs ``xxx-eng``, columns ``sentence1``/``sentence2``) is used.

Metrics (each labelled with its direction): ``tatoeba_accuracy_xx2en`` (the non-English sentence is the query;
the direction MTEB reports; main score), ``tatoeba_accuracy_en2xx``, and ``tatoeba_accuracy_avg_both_directions``
(XTREME/LASER's two-direction average). Nearest neighbour by cosine, no margin.

``harness score`` also reads XTREME's ``evaluate.py`` files: a label file (``tatoeba/test-{lg}.tsv``, per query
line the line index of its translation) as ``--data``, and predictions of one retrieved line index per query
line (the xx→en direction, so only ``tatoeba_accuracy_xx2en`` is scored).
"""

from __future__ import annotations

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
    hookimpl,
    load_hf,
    nn_accuracy,
)

# XTREME's Tatoeba languages (ISO 639-1) and LASER's file codes.
LASER = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa", "et": "est",
    "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind",
    "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar",
    "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh", "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl",
    "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn",
}
ISO1 = {v: k for k, v in LASER.items()}
LANGUAGES = tuple(LASER)
HOW = ("Get LASER's data/tatoeba/v1 files (github.com/facebookresearch/LASER) or XTREME's download "
       "(google-research/xtreme scripts/download_data.sh); or leave data_dir unset for mteb/tatoeba-bitext-mining.")

# The languages (and order) of google-research/xtreme evaluate.py's TASK2LANGS for each version.
OFFICIAL_XTREME = tuple("ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu".split(","))
OFFICIAL_XTREME_R = OFFICIAL_XTREME + ("az", "lt", "pl", "uk", "ro")

SPEC = TaskSpec(
    name="tatoeba", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    sizes={"test": 1000}, mean_tokens=15,  # cost before download: XTREME Table 1 (Hu et al. 2020): 1,000 sentence pairs per language
    parallel="english-side",  # Tatoeba: each language pairs with its own English sentences (LASER v1 files share <=16 of 1000)
    metrics=("tatoeba_accuracy_xx2en", "tatoeba_accuracy_en2xx", "tatoeba_accuracy_avg_both_directions"),
    version="1", eval_splits=("test",), select_split="test",
    hf_dataset="mteb/tatoeba-bitext-mining", hf_revision="69e8f12da6e31d59addadda9a9c8a2e601a0e282",
    data_help=HOW, description="Bitext retrieval xx<->en (nearest neighbour, cosine); accuracy per direction",
    citation="Artetxe & Schwenk 2019, Massively Multilingual Sentence Embeddings for Zero-Shot Cross-Lingual "
             "Transfer and Beyond", license="CC BY 2.0 FR (Tatoeba)",
    defaults={"retrieval": {"protocol": "bitext", "max_length": 128, "pooling": "mean"},
              "retrieval_regime": "training-free"},  # as XTREME and Phang et al.: no task training
    benchmarks={"xtreme": BenchmarkEntry("retrieval", ("tatoeba_accuracy_xx2en", "accuracy", "tatoeba_accuracy"),
                                          position=9, export=ExportLayout("line_index", languages=OFFICIAL_XTREME)),
                "xtreme-r": BenchmarkEntry("retrieval", ("tatoeba_accuracy_xx2en", "accuracy", "tatoeba_accuracy"),
                                           position=8,
                                           export=ExportLayout("line_index", languages=OFFICIAL_XTREME_R))},
)


def codes(language: str) -> tuple[str, str]:
    """(ISO 639-1, LASER code) of a language given by either."""
    if language in LASER:
        return language, LASER[language]
    if language in ISO1:
        return ISO1[language], language
    raise DataMissing(f"tatoeba: unknown language {language!r}; allowed: {', '.join(LANGUAGES)} (or LASER codes)")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    iso, laser = codes(language)
    if split != "test":
        raise DataMissing(f"tatoeba: split {split!r} does not exist; Tatoeba has only 'test'")
    if data_dir is None:
        ds = load_hf(SPEC.hf_dataset, f"{laser}-eng", "test", revision=SPEC.hf_revision)
        pairs = [(r["sentence1"], r["sentence2"]) for r in ds]
    else:
        data_dir = Path(data_dir)
        layouts = [(data_dir / f"tatoeba.{laser}-eng.{laser}", data_dir / f"tatoeba.{laser}-eng.eng"),
                   (data_dir / f"{iso}-en.{iso}", data_dir / f"{iso}-en.en")]
        for src, trg in layouts:
            if src.exists() and trg.exists():
                xs, es = _lines(src), _lines(trg)
                if len(xs) != len(es):
                    raise ValueError(f"tatoeba: {src} has {len(xs)} lines but {trg} has {len(es)}")
                pairs = list(zip(xs, es))
                break
        else:
            raise DataMissing(f"tatoeba: no files for {language!r} under {data_dir} (looked for "
                              f"{layouts[0][0].name}/.eng and {layouts[1][0].name}/.en). {HOW}")
    return [{"id": f"tatoeba-{iso}-{i}", "language": iso, "source": s, "target": t} for i, (s, t) in enumerate(pairs)]


def load_file(path: Path, language: str, split: str | None = None) -> list[dict]:
    """One file (``harness score``): a label file of XTREME's ``evaluate.py`` (per query line the line index of
    its English translation) as examples without text; any other file is read with its sibling by :func:`load`."""
    path = Path(path)
    iso, _ = codes(language)
    lines = [x.strip() for x in _lines(path)]
    if lines and all(x.isdigit() for x in lines):
        return [{"id": f"tatoeba-{iso}-{i}", "language": iso, "source": "", "target": "",
                 "gold": f"tatoeba-{iso}-{int(x)}"} for i, x in enumerate(lines)]
    return load("test", language, path.parent)


def read_predictions(path: Path, examples: list[dict], language: str) -> list | None:
    """XTREME's prediction layout (one retrieved line index per query line) as ``{"fwd": id}`` (xx→en);
    None for a run's ``.jsonl``/``.json``."""
    path = Path(path)
    if path.suffix in (".jsonl", ".json"):
        return None
    lines = [x.strip() for x in _lines(path)]
    bad = next((n for n, x in enumerate(lines, 1) if not x.lstrip("-").isdigit()), None)
    if bad is not None:
        raise ValueError(f"{path}:{bad}: {lines[bad - 1]!r} is not a line index (XTREME's tatoeba layout: per "
                         "query line the index of the retrieved English line)")
    if len(lines) != len(examples):
        raise ValueError(f"{path}: {len(lines)} predictions for {len(examples)} queries")
    ids = [e["id"] for e in examples]
    return [{"fwd": ids[int(x)] if 0 <= int(x) < len(ids) else f"line-{x}"} for x in lines]


def score(examples: list[dict], predictions: list, language: str = "", **_) -> dict[str, Value]:
    """Accuracy per direction from stored predictions (``fwd`` = xx→en, ``bwd`` = en→xx); predictions with
    only ``fwd`` (XTREME's files) give ``tatoeba_accuracy_xx2en`` alone."""
    if not examples:
        raise MissingGold("tatoeba: no examples")
    gold = [e.get("gold", e["id"]) for e in examples]
    n = len(examples)
    xx2en = nn_accuracy(gold, [p["fwd"] for p in predictions])
    out = {"tatoeba_accuracy_xx2en": Value(xx2en, direction="xx->en", n=n)}
    if all("bwd" in p for p in predictions):
        en2xx = nn_accuracy(gold, [p["bwd"] for p in predictions])
        out["tatoeba_accuracy_en2xx"] = Value(en2xx, direction="en->xx", n=n)
        out["tatoeba_accuracy_avg_both_directions"] = Value((xx2en + en2xx) / 2, direction="avg(xx->en,en->xx)", n=n)
    return out


def fixture(data_dir: Path) -> None:
    """SYNTHETIC LASER-layout files for de/es/fr: every (noun, adjective) sentence of the smoke lexicon."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    en = LEXICON["en"]
    for iso in ("de", "es", "fr"):
        lx, laser = LEXICON[iso], LASER[iso]
        xs, es = [], []
        for ni in range(len(en["nouns"])):
            for ai in range(len(en["adjs"])):
                xs.append(lx["is"].format(n=lx["nouns"][ni], a=lx["adjs"][ai]))
                es.append(en["is"].format(n=en["nouns"][ni], a=en["adjs"][ai]))
        (data_dir / f"tatoeba.{laser}-eng.{laser}").write_text("\n".join(xs) + "\n", encoding="utf-8")
        (data_dir / f"tatoeba.{laser}-eng.eng").write_text("\n".join(es) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: LASER tatoeba.xxx-eng.{{xxx,eng}}.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture, read_file=load_file, read_predictions=read_predictions))
