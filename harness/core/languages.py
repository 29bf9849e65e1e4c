"""Language codes: each benchmark code (XTREME's ISO 639-1 ``ja``) beside its ISO 639-3 code and script, written
the FLORES-200 way (``jpn_Jpan``).

Tasks keep the codes their files use (``ja`` for PAWS-X, ``jpn_Jpan`` for FLORES). Wherever a user names languages
(a config's ``targets[].languages``, ``--languages``, ``--language``), :func:`resolve_language` accepts any of
``ja``, ``jpn`` and ``jpn_Jpan`` (case and ``-``/``_`` aside) and gives back the task's own code. Where FLORES-200
writes an individual language of a macrolanguage, the table follows it (``ar`` → ``arb_Arab`` Modern Standard
Arabic, ``fa`` → ``pes_Arab``, ``ms`` → ``zsm_Latn``, ``sw`` → ``swh_Latn``, ``az`` → ``azj_Latn``, ``qu`` →
``quy_Latn``, FLORES-200's one Quechua) and the macrolanguage's ISO 639-3 code is accepted too (:data:`MACRO`).
``zh`` is ``zho_Hans``: the XTREME tasks' Chinese is written in simplified characters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

# benchmark (ISO 639-1) code -> FLORES-200 code (ISO 639-3 + ISO 15924 script); tests check every value against
# the FLORES-200 codes of the flores plugin and every two-letter language of a built-in task against the keys.
ISO_CODES: dict[str, str] = {
    "af": "afr_Latn", "ar": "arb_Arab", "az": "azj_Latn", "bg": "bul_Cyrl", "bn": "ben_Beng", "de": "deu_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab",
    "fi": "fin_Latn", "fr": "fra_Latn", "gu": "guj_Gujr", "he": "heb_Hebr", "hi": "hin_Deva", "ht": "hat_Latn",
    "hu": "hun_Latn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "jv": "jav_Latn", "ka": "kat_Geor",
    "kk": "kaz_Cyrl", "ko": "kor_Hang", "lt": "lit_Latn", "ml": "mal_Mlym", "mr": "mar_Deva", "ms": "zsm_Latn",
    "my": "mya_Mymr", "nl": "nld_Latn", "pa": "pan_Guru", "pl": "pol_Latn", "pt": "por_Latn", "qu": "quy_Latn",
    "ro": "ron_Latn", "ru": "rus_Cyrl", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai",
    "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "vi": "vie_Latn", "wo": "wol_Latn",
    "yo": "yor_Latn", "zh": "zho_Hans",
}

# benchmark code -> the ISO 639-3 code of its macrolanguage, where FLORES-200 names an individual language
MACRO: dict[str, str] = {"ar": "ara", "az": "aze", "fa": "fas", "ms": "msa", "qu": "que", "sw": "swa"}

ISO_RE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
_BENCHMARK = {iso: code for code, iso in ISO_CODES.items()}


class UnknownLanguage(ValueError):
    """A language code that names none (or more than one) of a task's languages; the message lists them."""


class AmbiguousLanguage(UnknownLanguage):
    """A code that names several of a task's languages (``zho`` for ``zho_Hans`` and ``zho_Hant``)."""


def iso_code(code: str) -> str | None:
    """The ISO 639-3 + script (FLORES-200) code of a task's language code: ``ja`` → ``jpn_Jpan``; a FLORES-200 code
    is its own; None when the table does not know the code."""
    if ISO_RE.match(code):
        return code
    return ISO_CODES.get(code)


def spellings(code: str) -> set[str]:
    """Every spelling (lower case, ``_``) that means the task language ``code``: ``ja`` → {ja, jpn, jpn_jpan}."""
    out = {code.lower().replace("-", "_")}
    full = iso_code(code)
    if full is not None:
        out |= {full.lower(), full.split("_")[0]}
        bench = _BENCHMARK.get(full)
        if bench is not None:
            out |= {bench, *([MACRO[bench]] if bench in MACRO else [])}
    return out


def _norm(given: str) -> str:
    return given.strip().lower().replace("-", "_")


def resolve_language(given: str, languages: Sequence[str], task: str, where: str = "language") -> str:
    """The code among the task's ``languages`` that ``given`` names (``jpn``, ``jpn_Jpan`` or ``ja`` for a task
    whose files use ``ja``). A code naming none of them, or several (``zho`` for ``zho_Hans`` and ``zho_Hant``), is
    an error naming ``where`` and the task's languages."""
    if given in languages:
        return given
    want = _norm(given)
    hits = [lang for lang in languages if want in spellings(lang)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise AmbiguousLanguage(f"{where}: {given!r} names several languages of {task!r} ({', '.join(hits)}); give "
                              "one of them")
    close = difflib.get_close_matches(given, list(languages), n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise UnknownLanguage(f"{where}: {given!r} is not a language of {task!r}.{hint} Allowed: {', '.join(languages)} "
                          "(or their ISO 639-3 / FLORES-200 forms: ja = jpn = jpn_Jpan).")


def same_language(a: str, b: str) -> bool:
    """Whether two codes name the same language (``ja`` and ``jpn_Jpan``; ``zh`` and ``zho_Hant`` do not)."""
    fa, fb = iso_code(a), iso_code(b)
    if fa is not None and fb is not None:
        return fa == fb
    return _norm(a) in spellings(b) or _norm(b) in spellings(a)
