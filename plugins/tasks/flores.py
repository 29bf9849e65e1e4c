"""FLORES-200 (NLLB Team 2022): English → X and X → English translation for any FLORES-200 language code.

Local layout (the ``flores200_dataset`` release tarball): ``dev/{code}.dev`` and ``devtest/{code}.devtest``, one
sentence per line, line *i* parallel across languages. Splits are ``dev`` and ``devtest``. ``load(split,
language="deu_Latn")`` returns both directions for that language (line by line: English → X, then X → English;
a row slice ``devtest[0:2N]`` is the first N sentences), each row with ``direction`` and ``lang_pair``; scoring is per direction (spBLEU with the FLORES-200 SentencePiece model,
chrF++), so every leaderboard row carries its language pair. ``language`` may be any code of the form
``xxx_Yyyy`` that has files; ``LANGUAGES`` lists the release's 204 codes (plus NLLB's ``sat_Beng``).

Evaluation only (kind ``generation``): no target training, the eval node decodes with the pretrained or
intermediate-trained sequence-to-sequence model (e.g. ``mt5-*``). FLORES+ on the hub (``openlanguagedata/
flores_plus``) is gated and ships parquet, so only local files are read here.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.data import DataMissing
from harness.formats import read_lines as read_text_lines
from harness.hookspecs import hookimpl
from harness.specs import Task, TaskSpec
from harness.synthetic import LEXICON, SYNTHETIC_NOTE

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
    version="1", train_language=ENGLISH, train_split="dev", select_split="dev", eval_splits=("devtest",),
    average="unweighted", data_help=HOW,
    description="FLORES-200 translation, English→X and X→English; spBLEU (flores200 SPM) and chrF++ per direction",
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
    """Both directions between English and ``language``: for each line *i*, its ``en->xx`` row then its ``xx->en``
    row (so ``devtest[0:200]`` is the first 100 sentences in both directions)."""
    if data_dir is None:
        raise DataMissing(f"flores: no local folder given and FLORES+ on the hub is gated parquet. {HOW}")
    if language == ENGLISH:
        raise ValueError("flores: language must be the non-English side (e.g. 'deu_Latn'); English is the pivot")
    eng = read_lines(data_dir, split, ENGLISH)
    other = read_lines(data_dir, split, language)
    if len(eng) != len(other):
        raise ValueError(f"flores: {split}/{language}.{split} has {len(other)} lines but "
                         f"{ENGLISH}.{split} has {len(eng)}; the files must be line-parallel")
    rows = []
    for i, (en, xx) in enumerate(zip(eng, other)):  # sentence by sentence, so a row slice keeps both directions
        for direction, src, tgt, s, t in (("en->xx", ENGLISH, language, en, xx), ("xx->en", language, ENGLISH, xx, en)):
            rows.append({"id": f"{split}-{src}-{tgt}-{i}", "language": language, "source": s, "target": t,
                         "src_lang": src, "tgt_lang": tgt, "direction": direction, "lang_pair": f"{src}-{tgt}"})
    return rows


FIXTURE_CODES = {"en": "eng_Latn", "de": "deu_Latn", "es": "spa_Latn", "fr": "fra_Latn"}


def fixture(data_dir: Path, n_dev: int = 12, n_devtest: int = 10, seed: int = 0) -> None:
    """SYNTHETIC line-parallel files in the release layout (templated sentences from ``harness.synthetic``)."""
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
    register(Task(spec=SPEC, load=load, fixture=fixture))
