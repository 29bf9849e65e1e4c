"""FLORES-200 (NLLB Team 2022): English → X and X → English translation for any FLORES-200 language code.

Local layout (the ``flores200_dataset`` release tarball): ``dev/{code}.dev`` and ``devtest/{code}.devtest``, one
sentence per line, line *i* parallel across languages. Splits are ``dev`` and ``devtest``. ``load(split,
language="deu_Latn")`` returns both directions for that language (line by line: English → X, then X → English;
a row slice ``devtest[0:2N]`` is the first N sentences), each row with ``direction`` and ``lang_pair``; scoring is per direction (spBLEU with the FLORES-200 SentencePiece model,
chrF++), so every leaderboard row carries its language pair. ``language`` may be any code of the form
``xxx_Yyyy`` that has files; ``LANGUAGES`` lists the release's 204 codes (plus NLLB's ``sat_Beng``). A pair
``"deu_Latn-fra_Latn"`` gives both directions between two non-English languages (direction ``deu->fra``).
Every row names both languages in English (``src_name``, ``tgt_name``, from ``flores_languages``) for prompts.

A trained target (kind ``generation``, Isik et al. 2024): by default the sequence-to-sequence model is
fine-tuned on ``dev`` (both directions for every language of the target entry), selected by chrF++ on a held-out
slice of ``dev``'s sentences, and evaluated on ``devtest``; training on bitext is the declared exemption ``bitext``
in every row. Prompted families (``causal-lm``) are not trained: their k-shot demonstrations come from ``dev``.
FLORES+ on the hub (``openlanguagedata/flores_plus``) is gated and ships parquet, so only local files are read.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.api import LEXICON, SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, hookimpl
from harness.api import read_lines as read_text_lines

from .flores_languages import name_of

ENGLISH = "eng_Latn"
CODE_RE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
SPLITS = ("dev", "devtest")
# The 204 language files of flores200_dataset (NLLB's 202 codes; sat_Olck is the release's file name for
# NLLB's sat_Beng, kept too; arb_Latn and min_Arab are evaluation-only).
LANGUAGES = tuple("""
ace_Arab ace_Latn acm_Arab acq_Arab aeb_Arab afr_Latn ajp_Arab aka_Latn als_Latn amh_Ethi apc_Arab arb_Arab arb_Latn
ars_Arab ary_Arab arz_Arab asm_Beng ast_Latn awa_Deva ayr_Latn azb_Arab azj_Latn bak_Cyrl bam_Latn ban_Latn bel_Cyrl
bem_Latn ben_Beng bho_Deva bjn_Arab bjn_Latn bod_Tibt bos_Latn bug_Latn bul_Cyrl cat_Latn ceb_Latn ces_Latn cjk_Latn
ckb_Arab crh_Latn cym_Latn dan_Latn deu_Latn dik_Latn dyu_Latn dzo_Tibt ell_Grek eng_Latn epo_Latn est_Latn eus_Latn
ewe_Latn fao_Latn fij_Latn fin_Latn fon_Latn fra_Latn fur_Latn fuv_Latn gaz_Latn gla_Latn gle_Latn glg_Latn grn_Latn
guj_Gujr hat_Latn hau_Latn heb_Hebr hin_Deva hne_Deva hrv_Latn hun_Latn hye_Armn ibo_Latn ilo_Latn ind_Latn isl_Latn
ita_Latn jav_Latn jpn_Jpan kab_Latn kac_Latn kam_Latn kan_Knda kas_Arab kas_Deva kat_Geor kaz_Cyrl kbp_Latn kea_Latn
khk_Cyrl khm_Khmr kik_Latn kin_Latn kir_Cyrl kmb_Latn kmr_Latn knc_Arab knc_Latn kon_Latn kor_Hang lao_Laoo lij_Latn
lim_Latn lin_Latn lit_Latn lmo_Latn ltg_Latn ltz_Latn lua_Latn lug_Latn luo_Latn lus_Latn lvs_Latn mag_Deva mai_Deva
mal_Mlym mar_Deva min_Arab min_Latn mkd_Cyrl mlt_Latn mni_Beng mos_Latn mri_Latn mya_Mymr nld_Latn nno_Latn nob_Latn
npi_Deva nso_Latn nus_Latn nya_Latn oci_Latn ory_Orya pag_Latn pan_Guru pap_Latn pbt_Arab pes_Arab plt_Latn pol_Latn
por_Latn prs_Arab quy_Latn ron_Latn run_Latn rus_Cyrl sag_Latn san_Deva sat_Beng sat_Olck scn_Latn shn_Mymr sin_Sinh
slk_Latn slv_Latn smo_Latn sna_Latn snd_Arab som_Latn sot_Latn spa_Latn srd_Latn srp_Cyrl ssw_Latn sun_Latn swe_Latn
swh_Latn szl_Latn tam_Taml taq_Latn taq_Tfng tat_Cyrl tel_Telu tgk_Cyrl tgl_Latn tha_Thai tir_Ethi tpi_Latn tsn_Latn
tso_Latn tuk_Latn tum_Latn tur_Latn twi_Latn tzm_Tfng uig_Arab ukr_Cyrl umb_Latn urd_Arab uzn_Latn vec_Latn vie_Latn
war_Latn wol_Latn xho_Latn ydd_Hebr yor_Latn yue_Hant zho_Hans zho_Hant zsm_Latn zul_Latn
""".split())
HOW = ("Get flores200_dataset.tar.gz from facebookresearch/flores (flores200 README) and point data.flores at its "
       "folder (dev/{code}.dev, devtest/{code}.devtest).")

SPEC = TaskSpec(
    name="flores", kind="generation", roles=("target",), languages=LANGUAGES, metrics=("spbleu", "chrf++"),
    sizes={"dev": 1994, "devtest": 2024}, mean_tokens=35,  # cost before download: FLORES-200 (NLLB Team 2022): 997 dev / 1,012 devtest sentences per language, both directions
    parallel="items",  # FLORES-200: the same sentences in every language, line i parallel (NLLB Team 2022)
    train_language=ENGLISH, train_split="dev", select_split="dev", eval_splits=("devtest",),
    average="unweighted", data_help=HOW, version="2",
    defaults={"lr": 5e-4, "batch_size": 16, "epochs": 3.0, "warmup_ratio": 0.1, "weight_decay": 0.0},
    description="FLORES-200 translation, English→X and X→English, fine-tuned on dev (bitext exemption); "
                "spBLEU (flores200 SPM) and chrF++ per direction",
    citation="NLLB Team et al. 2022, No Language Left Behind; Goyal et al. 2022, The FLORES-101 Evaluation Benchmark",
    license="CC BY-SA 4.0",
)


def read_lines(data_dir: Path, split: str, code: str) -> list[str]:
    """The sentences of one language file (``dev/{code}.dev``), trailing newline stripped, blank lines kept."""
    if split not in SPLITS:
        raise ValueError(f"flores: split {split!r} is not one of {', '.join(SPLITS)}")
    if not CODE_RE.match(code):
        raise ValueError(f"flores: language {code!r} is not a FLORES-200 code like 'deu_Latn' (lang_Script)")
    return read_text_lines(Path(data_dir) / split / f"{code}.{split}", "flores", HOW)


def load(split: str, language: str, data_dir: Path | None = None) -> list[dict]:
    """Both directions between English and ``language`` (or between the two codes of a pair ``a-b``): for each
    line *i*, its ``a->b`` row then its ``b->a`` row (so ``devtest[0:200]`` is the first 100 sentences in both
    directions)."""
    if data_dir is None:
        raise DataMissing(f"flores: no local folder given and FLORES+ on the hub is gated parquet. {HOW}")
    first, _, second = language.partition("-")
    first, second = (first, second) if second else (ENGLISH, first)
    if first == second:
        raise ValueError(f"flores: language must be the non-English side (e.g. 'deu_Latn') or a pair of two "
                         f"different codes ('deu_Latn-fra_Latn'), got {language!r}; English is the pivot")
    a_lines = read_lines(data_dir, split, first)
    b_lines = read_lines(data_dir, split, second)
    if len(a_lines) != len(b_lines):
        raise ValueError(f"flores: {split}/{second}.{split} has {len(b_lines)} lines but "
                         f"{first}.{split} has {len(a_lines)}; the files must be line-parallel")
    english = first == ENGLISH
    forward = "en->xx" if english else f"{first[:3]}->{second[:3]}"
    backward = "xx->en" if english else f"{second[:3]}->{first[:3]}"
    names = {first: name_of(first), second: name_of(second)}
    rows = []
    for i, (a, b) in enumerate(zip(a_lines, b_lines)):  # sentence by sentence, so a row slice keeps both
        for direction, src, tgt, s, t in ((forward, first, second, a, b), (backward, second, first, b, a)):
            rows.append({"id": f"{split}-{src}-{tgt}-{i}", "language": language, "source": s, "target": t,
                         "src_lang": src, "tgt_lang": tgt, "src_name": names[src], "tgt_name": names[tgt],
                         "direction": direction, "lang_pair": f"{src}-{tgt}", "line": i})
    return rows


def load_file(path: Path, language: str, split: str = "devtest") -> list[dict]:
    """A single reference file (``deu_Latn.devtest``, one sentence per line) as gold for ``harness score``:
    every line is a target in ``language``; the source side is not needed to score (``lang_pair`` ``*-code``)."""
    path = Path(path)
    if not path.is_file():
        raise DataMissing(f"flores: reference file {path} not found")
    lines = path.read_text(encoding="utf-8").split("\n")
    lines = lines[:-1] if lines and lines[-1] == "" else lines
    direction = "xx->en" if language == ENGLISH else "en->xx"
    return [{"id": f"{path.name}-{i}", "language": language, "source": "", "target": t, "src_lang": None,
             "tgt_lang": language, "direction": direction, "lang_pair": f"*-{language}", "line": i}
            for i, t in enumerate(lines)]


FIXTURE_CODES = {"en": "eng_Latn", "de": "deu_Latn", "es": "spa_Latn", "fr": "fra_Latn"}


def fixture(data_dir: Path, n_dev: int = 12, n_devtest: int = 10, seed: int = 0) -> None:
    """SYNTHETIC line-parallel files in the release layout (templated sentences from ``harness.toolkit.synthetic``)."""
    import random

    data_dir = Path(data_dir)
    rng = random.Random(seed)
    for split, n in (("dev", n_dev), ("devtest", n_devtest)):
        draws = [(rng.randrange(8), rng.randrange(8), rng.randrange(8), rng.randrange(8)) for _ in range(n)]
        (data_dir / split).mkdir(parents=True, exist_ok=True)
        for lang, code in FIXTURE_CODES.items():
            lx = LEXICON[lang]
            lines = [lx["and"].format(x=lx["is"].format(n=lx["nouns"][n1], a=lx["adjs"][a1]),
                                      y=lx["not"].format(n=lx["nouns"][n2], a=lx["adjs"][a2])).capitalize() + "."
                     for n1, a1, n2, a2 in draws]
            (data_dir / split / f"{code}.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: flores200_dataset dev/devtest files.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture, read_file=load_file))
