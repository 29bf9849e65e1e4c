"""FLORES-200 bitext retrieval (xsim-style error rate, as LASER's ``xsim`` tool reports it) between two languages.

Local layout: the FLORES-200 release ``dev/{code}.dev`` and ``devtest/{code}.devtest`` (line-parallel, codes like
``deu_Latn``) under ``data_dir``, or the files directly in ``data_dir``. Splits: ``dev`` and ``devtest``.

A language is a FLORES code, paired with English (``deu_Latn`` means deu_Latn→eng_Latn), or an explicit pair
``src-tgt`` (``deu_Latn-fra_Latn``, any two FLORES languages; usable from ``harness retrieve``). The source
sentences are the queries. Metrics: ``flores_xsim_error_margin_ratio_src2tgt`` (main: nearest neighbour by ratio
margin, k=4 both directions), ``flores_xsim_error_cosine_src2tgt`` (plain cosine), and the same two for
tgt→src; percent of sentences whose retrieved neighbour is not their translation. Rows carry the pair.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import LEXICON, SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, Value, hookimpl, nn_accuracy

LANGUAGES = (
    "arb_Arab", "deu_Latn", "fra_Latn", "hin_Deva", "rus_Cyrl", "spa_Latn", "swh_Latn", "urd_Arab", "zho_Hans",
    "afr_Latn", "ben_Beng", "bul_Cyrl", "ell_Grek", "est_Latn", "eus_Latn", "fin_Latn", "heb_Hebr", "hun_Latn",
    "ind_Latn", "ita_Latn", "jav_Latn", "jpn_Jpan", "kat_Geor", "kaz_Cyrl", "kor_Hang", "mal_Mlym", "mar_Deva",
    "nld_Latn", "pes_Arab", "por_Latn", "tam_Taml", "tel_Telu", "tgl_Latn", "tha_Thai", "tur_Latn", "vie_Latn",
    "yor_Latn",
)
PIVOT = "eng_Latn"
HOW = "Get the FLORES-200 release (github.com/facebookresearch/flores, flores200_dataset/{dev,devtest}/)."

SPEC = TaskSpec(
    name="flores-retrieval", kind="retrieval", roles=("target",), languages=LANGUAGES, train_language="en",
    sizes={"dev": 997, "devtest": 1012}, mean_tokens=35,  # cost before download: FLORES-200 (NLLB Team 2022): 997 dev / 1,012 devtest sentences per language
    parallel="items",  # FLORES-200: line i parallel across languages (NLLB Team 2022)
    metrics=("flores_xsim_error_margin_ratio_src2tgt", "flores_xsim_error_cosine_src2tgt",
             "flores_xsim_error_margin_ratio_tgt2src", "flores_xsim_error_cosine_tgt2src"),
    version="1", eval_splits=("devtest",), select_split="dev", data_help=HOW,
    description="Bitext retrieval between FLORES languages; xsim error rate (lower is better)",
    citation="NLLB Team 2022, No Language Left Behind; Artetxe & Schwenk 2019 (margin)", license="CC BY-SA 4.0",
    defaults={"retrieval": {"protocol": "bitext", "max_length": 256, "pooling": "mean"}},
)


def pair_of(language: str) -> tuple[str, str]:
    src, _, tgt = language.partition("-")
    return src, tgt or PIVOT


def _read(data_dir: Path, code: str, split: str) -> list[str]:
    for p in (data_dir / split / f"{code}.{split}", data_dir / f"{code}.{split}"):
        if p.exists():
            return p.read_text(encoding="utf-8").rstrip("\n").split("\n")
    raise DataMissing(f"flores-retrieval: data file {data_dir / split / (code + '.' + split)} not found. {HOW}")


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    if split not in ("dev", "devtest"):
        raise DataMissing(f"flores-retrieval: split {split!r} is not 'dev' or 'devtest'")
    if data_dir is None:
        raise DataMissing(f"flores-retrieval: give a folder of FLORES-200 files. {HOW}")
    src, tgt = pair_of(language)
    xs, ys = _read(Path(data_dir), src, split), _read(Path(data_dir), tgt, split)
    if len(xs) != len(ys):
        raise ValueError(f"flores-retrieval: {src}.{split} has {len(xs)} lines but {tgt}.{split} has {len(ys)}")
    return [{"id": f"{split}-{i}", "language": src, "source": x, "target": y} for i, (x, y) in enumerate(zip(xs, ys))]


def score(examples: list[dict], predictions: list, language: str = "", **_) -> dict[str, Value]:
    src, tgt = pair_of(language)
    gold = [e["id"] for e in examples]
    n = len(examples)
    out = {}
    for name, key, direction in (("margin_ratio_src2tgt", "fwd_margin", f"{src}->{tgt}"),
                                 ("cosine_src2tgt", "fwd", f"{src}->{tgt}"),
                                 ("margin_ratio_tgt2src", "bwd_margin", f"{tgt}->{src}"),
                                 ("cosine_tgt2src", "bwd", f"{tgt}->{src}")):
        err = 100.0 - nn_accuracy(gold, [p[key] for p in predictions])
        out[f"flores_xsim_error_{name}"] = Value(err, direction=direction, n=n, extra={"lang_pair": f"{src}-{tgt}"})
    return out


def fixture(data_dir: Path) -> None:
    """SYNTHETIC FLORES-layout dev/devtest files for eng_Latn, deu_Latn, fra_Latn, spa_Latn."""
    data_dir = Path(data_dir)
    codes = {"en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn", "es": "spa_Latn"}
    for split, frame in (("dev", "is"), ("devtest", "not")):
        (data_dir / split).mkdir(parents=True, exist_ok=True)
        for lang, code in codes.items():
            lx = LEXICON[lang]
            lines = [lx[frame].format(n=n, a=a) for n in lx["nouns"] for a in lx["adjs"]]
            (data_dir / split / f"{code}.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: FLORES-200 {{dev,devtest}}/CODE.SPLIT.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, score=score, fixture=fixture))
