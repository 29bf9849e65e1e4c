"""Text generation scored against references (FLORES translation): kind ``generation``.

Example layout: ``{"id", "source", "target", "src_lang", "tgt_lang", "direction" ("en->xx" | "xx->en"),
"lang_pair" ("eng_Latn-deu_Latn"), "language"}``. The model is the encoder a model family returns, which must
also ``generate`` (a sequence-to-sequence model such as the ``mt5`` family's). Evaluation only (``trainable =
False``): the eval node reads the pretrained or intermediate-trained checkpoint and decodes every example.

Options (the target's ``options`` in a matrix config; all recorded in the node key and in every signature):
``prompt`` (a ``str.format`` template over ``text``, ``src``, ``tgt``, ``src_code``, ``tgt_code``; default
``"translate {src} to {tgt}: {text}"``), ``num_beams`` (1 = greedy), ``max_new_tokens`` (128),
``max_source_length`` (256), ``batch_size`` (16), ``spm_model`` / ``spm_name`` (see ``harness.metrics.mt``).

Scores are grouped by direction: each metric gives one :class:`harness.metrics.Value` per direction, with
``direction`` and ``extra["lang_pair"]`` set, so every leaderboard row names its language pair.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .base import TaskType, is_text

DEFAULT_OPTIONS: dict[str, Any] = {
    "prompt": "translate {src} to {tgt}: {text}", "num_beams": 1, "max_new_tokens": 128, "max_source_length": 256,
    "batch_size": 16, "spm_model": None, "spm_name": None,
}


def options_of(params: dict[str, Any] | None) -> dict[str, Any]:
    """Generation options from an eval node's params, over the defaults; unknown keys are an error."""
    given = dict((params or {}).get("options") or {})
    unknown = set(given) - set(DEFAULT_OPTIONS)
    if unknown:
        raise ValueError(f"generation options {sorted(unknown)} are unknown; allowed: {', '.join(DEFAULT_OPTIONS)}")
    return {**DEFAULT_OPTIONS, **given}


def language_name(code: str) -> str:
    """English name of a FLORES-200 code where known (for prompts), else the code itself."""
    return LANGUAGE_NAMES.get(code, code)


LANGUAGE_NAMES = {
    "eng_Latn": "English", "deu_Latn": "German", "fra_Latn": "French", "spa_Latn": "Spanish",
    "rus_Cyrl": "Russian", "hin_Deva": "Hindi", "urd_Arab": "Urdu", "zho_Hans": "Chinese", "arb_Arab": "Arabic",
    "swh_Latn": "Swahili", "jpn_Jpan": "Japanese", "kor_Hang": "Korean", "por_Latn": "Portuguese",
    "ita_Latn": "Italian", "tur_Latn": "Turkish", "vie_Latn": "Vietnamese", "tha_Thai": "Thai",
}


class GenerationType(TaskType):
    kind = "generation"
    trainable = False

    def gold(self, example: dict) -> Any:
        return example.get("target")

    def prompts(self, examples: list[dict], options: dict[str, Any]) -> list[str]:
        return [options["prompt"].format(text=e["source"], src=language_name(e["src_lang"]),
                                         tgt=language_name(e["tgt_lang"]), src_code=e["src_lang"],
                                         tgt_code=e["tgt_lang"]) for e in examples]

    def generate(self, encoder, examples: list[dict], options: dict[str, Any], device=None) -> list[str]:
        """Decode every example (batched by source length), in example order."""
        import torch

        module = encoder.module
        if not hasattr(module, "generate"):
            raise ValueError(
                f"generation needs a sequence-to-sequence model; {type(module).__name__} only encodes "
                "(use an mt5-family model without encoder_only)"
            )
        tok = encoder.tokenizer
        device = device or torch.device("cpu")
        module.to(device).eval()
        texts = self.prompts(examples, options)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[str] = [""] * len(texts)
        bs = int(options["batch_size"])
        with torch.no_grad():
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                          max_length=int(options["max_source_length"]))
                gen = module.generate(input_ids=enc["input_ids"].to(device),
                                      attention_mask=enc["attention_mask"].to(device),
                                      num_beams=int(options["num_beams"]), do_sample=False,
                                      max_new_tokens=int(options["max_new_tokens"]))
                for i, text in zip(idx, tok.batch_decode(gen, skip_special_tokens=True)):
                    out[i] = text.strip()
        return out

    def decoding_signature(self, options: dict[str, Any]) -> dict[str, str]:
        """The ``decode`` and ``prompt`` fields of a row signature."""
        prompt = hashlib.sha256(options["prompt"].encode()).hexdigest()[:8]
        decode = "greedy" if int(options["num_beams"]) == 1 else f"beam{int(options['num_beams'])}"
        return {"decode": f"{decode},max_new={int(options['max_new_tokens'])}", "prompt": prompt}

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str,
              options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Each metric of ``spec.metrics`` per direction: ``{metric: [Value(direction=...), ...]}``."""
        from ..metrics import Value
        from ..metrics.mt import score_mt
        from ..results import signature

        options = {**DEFAULT_OPTIONS, **(options or {})}
        if len(examples) != len(predictions):
            raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
        groups: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(examples):
            groups.setdefault((e["direction"], e["lang_pair"]), []).append(i)
        out: dict[str, list[Value]] = {}
        for (direction, pair), idx in groups.items():
            hyps = [predictions[i] or "" for i in idx]
            refs = [examples[i]["target"] for i in idx]
            for name, v in score_mt(spec.metrics, hyps, refs, options["spm_model"], options["spm_name"]).items():
                sig = signature(name, spec.name, spec.version, lead=v.signature, **self.decoding_signature(options))
                out.setdefault(name, []).append(Value(v.value, direction=direction, variant=v.variant,
                                                      signature=sig, n=v.n, extra={"lang_pair": pair}))
        return out

    def evaluate(self, encoder, examples: list[dict], spec, language: str, device=None,
                 params: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
        options = options_of(params)
        predictions = self.generate(encoder, examples, options, device=device)
        return predictions, self.score(examples, predictions, spec, language, options)

    def check_example(self, example: dict, spec) -> str | None:
        for key in ("source", "target", "src_lang", "tgt_lang"):
            if not is_text(example.get(key)):
                return f"no {key!r} string"
        return None
