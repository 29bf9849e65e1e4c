"""Machine-translation metrics through sacrebleu: spBLEU (FLORES-200 SentencePiece), chrF++ and BLEU-13a.

**spBLEU** is BLEU over the pieces of the FLORES-200 SentencePiece model (``sacrebleu --tokenize flores200``).
sacrebleu downloads that model on first use, which cannot happen offline, so the model file is found, in order:
an explicit path (task option ``spm_model``), the environment variable ``XLT_FLORES200_SPM``, then sacrebleu's own
cache (``$SACREBLEU/models/flores200sacrebleuspm``, default ``~/.sacrebleu``). Nothing is ever downloaded here.
The text is split into pieces exactly as sacrebleu's ``TokenizerSPM`` does (``" ".join(EncodeAsPieces(line))``)
and scored by ``BLEU(tokenize="none")``: the same computation as ``tokenize="flores200"`` with that file.

A SentencePiece model that is not declared as the FLORES-200 one (e.g. one trained on the fly for a test) gives
the metric ``spbleu_custom_spm``, never ``spbleu``; every signature names the tokenizer model and its sha256.

**chrF++** is ``CHRF(word_order=2)``; **BLEU-13a** is sacrebleu's default BLEU. Both need no model file.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.specs import Metric
from harness.metrics.base import Value

ENV_SPM = "XLT_FLORES200_SPM"
FLORES200 = "flores200"
SACREBLEU_MODEL_NAME = "flores200sacrebleuspm"  # basename of sacrebleu's download URL
MIN_FLORES200_PIECES = 200_000  # the FLORES-200 (NLLB) SentencePiece model has 256k pieces
HOW_TO_GET = (
    "download it once where a network is available (https://tinyurl.com/flores200sacrebleuspm, as sacrebleu does) "
    f"and point the task option spm_model or ${ENV_SPM} at it, or place it at "
    f"$SACREBLEU/models/{SACREBLEU_MODEL_NAME}"
)


class SpmMissing(FileNotFoundError):
    """No FLORES-200 SentencePiece model was found; the message says where it was looked for and how to get it."""


def sacrebleu_cache_model() -> Path:
    """Where sacrebleu keeps the FLORES-200 SentencePiece model after its own download."""
    root = os.environ.get("SACREBLEU", os.path.join(os.path.expanduser("~"), ".sacrebleu"))
    return Path(root) / "models" / SACREBLEU_MODEL_NAME


def resolve_spm(path: str | Path | None = None) -> tuple[Path, str]:
    """(model path, where it came from: ``option`` | ``env`` | ``sacrebleu-cache``) or :class:`SpmMissing`."""
    tried = []
    for origin, candidate in (("option", path), ("env", os.environ.get(ENV_SPM)), ("sacrebleu-cache",
                                                                                  sacrebleu_cache_model())):
        if candidate in (None, ""):
            continue
        candidate = Path(candidate).expanduser()
        if candidate.is_file():
            return candidate, origin
        tried.append(f"{origin}: {candidate}")
    raise SpmMissing(f"FLORES-200 SentencePiece model not found (looked at {'; '.join(tried)}); {HOW_TO_GET}")


@dataclass
class SpmTokenizer:
    """sacrebleu's SPM tokenization with a model read from a local file.

    ``name`` is ``flores200`` only for the FLORES-200 model; anything else is a custom model and its scores are
    labelled so (``official`` is False).
    """

    path: Path
    name: str = FLORES200
    sha256: str = ""
    pieces: int = 0
    _sp: Any = field(default=None, repr=False)

    @property
    def official(self) -> bool:
        return self.name == FLORES200

    @property
    def label(self) -> str:
        """The ``tok:`` field of the signature: ``flores200`` exactly as sacrebleu writes it for the FLORES-200
        model (its sha256 travels in ``Value.extra``); a custom model is named with its hash."""
        return FLORES200 if self.official else f"spm-custom[{self.name}]#sha256:{self.sha256[:16]}"

    def __call__(self, line: str) -> str:
        return " ".join(self._sp.EncodeAsPieces(line))


@functools.lru_cache(maxsize=8)
def _load(path: str, name: str) -> SpmTokenizer:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor()
    sp.Load(path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    tok = SpmTokenizer(Path(path), name, digest, int(sp.GetPieceSize()), sp)
    if tok.official and tok.pieces < MIN_FLORES200_PIECES:
        raise ValueError(
            f"{path} has {tok.pieces} pieces, so it is not the FLORES-200 SentencePiece model (256k pieces); "
            "load it with a name of its own (spm_name) so its scores are labelled custom"
        )
    return tok


def load_spm(path: str | Path | None = None, name: str | None = None) -> SpmTokenizer:
    """The SentencePiece tokenizer for spBLEU: ``path`` (or env / sacrebleu cache) read as ``name``.

    ``name`` defaults to ``flores200``; pass another name for any other model (its scores become
    ``spbleu_custom_spm``).
    """
    found, _ = resolve_spm(path)
    return _load(str(found.resolve()), name or FLORES200)


def _check(hypotheses: list[str], references: list[str]) -> None:
    if not references:
        raise ValueError("nothing to score: no references")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if any(r is None for r in references):
        raise ValueError("a reference is missing (None)")


def spbleu(hypotheses: list[str], references: list[str], tokenizer: SpmTokenizer) -> tuple[str, Value]:
    """(metric name, value): BLEU over SentencePiece pieces; ``spbleu`` only with the FLORES-200 model."""
    from sacrebleu.metrics import BLEU

    _check(hypotheses, references)
    bleu = BLEU(tokenize="none")
    score = bleu.corpus_score([tokenizer(h or "") for h in hypotheses], [[tokenizer(r) for r in references]])
    sig = bleu.get_signature().format().replace("tok:none", f"tok:{tokenizer.label}")
    name = "spbleu" if tokenizer.official else "spbleu_custom_spm"
    variant = None if tokenizer.official else f"custom-spm:{tokenizer.name}"
    return name, Value(score.score, variant=variant, signature=sig, n=len(references),
                       extra={"spm_sha256": tokenizer.sha256})


def chrf_pp(hypotheses: list[str], references: list[str]) -> Value:
    """chrF++ (character 6-grams + word 2-grams, beta 2), sacrebleu's implementation."""
    from sacrebleu.metrics import CHRF

    _check(hypotheses, references)
    chrf = CHRF(word_order=2)
    score = chrf.corpus_score([h or "" for h in hypotheses], [references])
    return Value(score.score, signature=chrf.get_signature().format(), n=len(references))


def bleu_13a(hypotheses: list[str], references: list[str]) -> Value:
    """BLEU with sacrebleu's default 13a tokenizer."""
    from sacrebleu.metrics import BLEU

    _check(hypotheses, references)
    bleu = BLEU()
    score = bleu.corpus_score([h or "" for h in hypotheses], [references])
    return Value(score.score, signature=bleu.get_signature().format(), n=len(references))


MT_METRICS = ("spbleu", "chrf++", "bleu_13a")


def score_mt(metrics: tuple[str, ...] | list[str], hypotheses: list[str], references: list[str],
             spm_model: str | Path | None = None, spm_name: str | None = None) -> dict[str, Value]:
    """The named MT metrics; ``spbleu`` resolves the SentencePiece model (see the module doc) and may come back
    as ``spbleu_custom_spm``."""
    out: dict[str, Value] = {}
    for metric in metrics:
        if metric == "spbleu":
            name, value = spbleu(hypotheses, references, load_spm(spm_model, spm_name))
            out[name] = value
        elif metric == "chrf++":
            out[metric] = chrf_pp(hypotheses, references)
        elif metric == "bleu_13a":
            out[metric] = bleu_13a(hypotheses, references)
        else:
            raise KeyError(f"unknown MT metric {metric!r}; available: {', '.join(MT_METRICS)}")
    return out


def records() -> tuple[Metric, ...]:
    """The corpus-level MT metrics, signed with the installed sacrebleu's version (read without importing it)."""
    from importlib.metadata import version as installed

    v = installed("sacrebleu")
    return (
        Metric("chrf++", f"sacrebleu-{v}-chrF2++", lambda golds, predictions, **_: chrf_pp(predictions, golds)),
        Metric("bleu_13a", f"sacrebleu-{v}-13a", lambda golds, predictions, **_: bleu_13a(predictions, golds)),
        Metric("spbleu", f"sacrebleu-{v}-spm", lambda golds, predictions, spm_model=None, spm_name=None, **_:
               spbleu(predictions, golds, load_spm(spm_model, spm_name))[1]),
        Metric("spbleu_custom_spm", f"sacrebleu-{v}-spm-custom"),
    )
