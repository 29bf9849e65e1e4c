"""Text generation scored against references (FLORES translation): kind ``generation``.

Example layout: ``{"id", "source", "target", "src_lang", "tgt_lang", "src_name", "tgt_name", "direction",
"lang_pair", "language", "line"}``. ``src_name``/``tgt_name`` are the languages' English names (the task's own
table): prompts use names, never raw codes. ``line`` (optional) groups the rows of one parallel sentence so that
a held-out selection slice never shares a sentence with training.

Two ways a model meets a generation task, chosen by its family:

- **sequence-to-sequence** (``mt5``): a target stage fine-tunes the full model on bitext (``harness.tasktypes.seq2seq``:
  teacher forcing, optional label smoothing, selection by chrF++ on a held-out slice), then the eval node decodes
  with beam search. Training on bitext is the declared exemption ``bitext`` (recorded in every row).
- **prompted** (a family registered with ``prompted=True``, e.g. ``causal-lm``): no training; the eval node
  prompts with ``k_shot`` demonstrations drawn from the task's training split (same direction, fixed seed).

Options (a target's ``options``; all in the node key and the rows' ``generation`` field): ``prompt`` (``str.format``
over ``text``, ``src``, ``tgt`` = language names; default per way above), ``k_shot``, ``num_beams``,
``length_penalty``, ``max_new_tokens_ratio``/``max_new_tokens_extra`` (new tokens per batch = ratio × longest
source in tokens + extra, capped by ``max_new_tokens``), ``max_source_length``, ``max_target_length`` (training),
``batch_size``, ``label_smoothing``, ``select_fraction`` (share of the training split's sentences held out for
selection when training and selection read the same split), ``select_num_beams``, ``bitext`` (a folder of
line-parallel files in the task's layout replacing the task's own training data), ``spm_model``/``spm_name``
(see ``harness.metrics.mt``). Sources longer than ``max_source_length`` and outputs that hit the new-token limit
are counted and reported in every row (``truncated_sources``, ``truncated_outputs``), never silently cut.

Scores are grouped by direction: each metric gives one :class:`harness.metrics.Value` per direction, with
``direction`` and ``extra["lang_pair"]`` set, so every leaderboard row names its language pair.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from harness.core import files
from harness.core.tasktype import TaskType, is_text
from harness.tasktypes.options import BITEXT_EXEMPTION, DEFAULT_OPTIONS, options_of  # noqa: F401

SEQ2SEQ_PROMPT = "translate {src} to {tgt}: {text}"
CAUSAL_PROMPT = "{src}: {text}\n{tgt}:"
def is_causal(module) -> bool:
    """A decoder-only model: its ``generate`` output starts with the prompt."""
    return getattr(module, "harness_generation", "seq2seq") == "causal"


def template_of(options: dict[str, Any], causal: bool) -> str:
    return options["prompt"] or (CAUSAL_PROMPT if causal else SEQ2SEQ_PROMPT)


def _names(e: dict) -> tuple[str, str]:
    try:
        return e["src_name"], e["tgt_name"]
    except KeyError:
        raise ValueError(f"generation example {e.get('id')!r} has no src_name/tgt_name: the task's loader must "
                         "name both languages (prompts never carry raw codes)") from None


def max_new_for(source_tokens: int, options: dict[str, Any]) -> int:
    """New tokens allowed for a batch whose longest source has ``source_tokens`` tokens."""
    scaled = math.ceil(float(options["max_new_tokens_ratio"]) * source_tokens + int(options["max_new_tokens_extra"]))
    return max(1, min(int(options["max_new_tokens"]), scaled))


class GenerationType(TaskType):
    kind = "generation"
    trainable = True
    fit_single_process = "the seq2seq (generation) loop runs in one process"

    def fit(self, params: dict[str, Any], work, spec, encoder, device, progress=None, resume=None) -> dict[str, Any]:
        """Fine-tune a sequence-to-sequence model on bitext (:mod:`harness.tasktypes.seq2seq`)."""
        from harness.tasktypes.seq2seq import train_generation

        return train_generation(params, work, spec, self, encoder, device, progress=progress, resume=resume)

    def trains(self, family, options: dict[str, Any] | None = None) -> bool:
        """Whether a target stage fine-tunes this model family (prompted families are only prompted)."""
        return not getattr(family, "prompted", False)

    def gold(self, example: dict) -> Any:
        return example.get("target")

    def build_head(self, spec, hidden_size: int):
        """No head: the model's own decoder generates (an empty module keeps checkpoints uniform)."""
        from torch import nn

        return nn.ModuleDict()

    # --- prompts ---------------------------------------------------------------------------------------------

    def prompt(self, e: dict, template: str) -> str:
        src, tgt = _names(e)
        return template.format(text=e["source"], src=src, tgt=tgt)

    def prompts(self, examples: list[dict], options: dict[str, Any], causal: bool = False,
                shots: dict[str, list[dict]] | None = None) -> list[str]:
        """One prompt per example; with ``shots`` (direction → demonstrations), demonstrations come first."""
        template = template_of(options, causal)
        out = []
        for e in examples:
            demos = [self.prompt(d, template) + " " + d["target"] for d in (shots or {}).get(e["direction"], [])]
            out.append("\n\n".join([*demos, self.prompt(e, template)]))
        return out

    def draw_shots(self, pool: list[dict], k: int, seed: int) -> dict[str, list[dict]]:
        """``k`` demonstrations per direction from the training split, drawn with a fixed seed."""
        if k <= 0:
            return {}
        by_dir: dict[str, list[dict]] = {}
        for e in pool:
            by_dir.setdefault(e["direction"], []).append(e)
        rng = random.Random(seed)
        out = {}
        for direction, rows in sorted(by_dir.items()):
            if len(rows) < k:
                raise ValueError(f"k_shot={k} but the training split has {len(rows)} examples for {direction}")
            out[direction] = rng.sample(rows, k)
        return out

    # --- decoding --------------------------------------------------------------------------------------------

    def generate(self, encoder, examples: list[dict], options: dict[str, Any], device=None,
                 shots: dict[str, list[dict]] | None = None, num_beams: int | None = None
                 ) -> tuple[list[str], dict[str, int]]:
        """Decode every example (batched by source length), in example order; also the truncation counts."""
        import torch

        module = encoder.module
        if not hasattr(module, "generate"):
            raise ValueError(
                f"generation needs a sequence-to-sequence or causal LM; {type(module).__name__} only encodes "
                "(use an mt5-family model without encoder_only, or a causal-lm model)"
            )
        causal = is_causal(module)
        tok = encoder.tokenizer
        device = device or torch.device("cpu")
        was_training = module.training
        module.to(device).eval()
        texts = self.prompts(examples, options, causal=causal, shots=shots)
        max_src = int(options["max_source_length"])
        lengths = [len(ids) for ids in tok(texts, add_special_tokens=True)["input_ids"]]
        counts = {"truncated_sources": sum(n > max_src for n in lengths), "truncated_outputs": 0}
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out: list[str] = [""] * len(texts)
        bs = int(options["batch_size"])
        beams = int(num_beams or options["num_beams"])
        if causal:
            tok.padding_side = "left"  # prompts end where generation starts
        eos = tok.eos_token_id
        with torch.no_grad():
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                          max_length=max_src)
                max_new = max_new_for(min(max_src, max(lengths[i] for i in idx)), options)
                gen = module.generate(input_ids=enc["input_ids"].to(device),
                                      attention_mask=enc["attention_mask"].to(device), num_beams=beams,
                                      length_penalty=float(options["length_penalty"]), do_sample=False,
                                      max_new_tokens=max_new, pad_token_id=tok.pad_token_id, eos_token_id=eos)
                new = gen[:, enc["input_ids"].shape[1]:] if causal else gen
                for i, ids, text in zip(idx, new.tolist(), tok.batch_decode(new, skip_special_tokens=True)):
                    if causal:  # a decoder-only model answers until the end of the line
                        done = "\n" in text or eos in ids
                        text = text.split("\n", 1)[0]
                    else:
                        done = eos in ids
                    produced = len([t for t in ids if t != tok.pad_token_id])
                    counts["truncated_outputs"] += int(not done and produced >= max_new)
                    out[i] = text.strip()
        module.train(was_training)
        return out, counts

    def decoding_signature(self, options: dict[str, Any], causal: bool = False) -> dict[str, str]:
        """The ``decode`` and ``prompt`` fields of a row signature (decoding, template hash and k)."""
        prompt = hashlib.sha256(template_of(options, causal).encode()).hexdigest()[:8]
        beams = int(options["num_beams"])
        decode = "greedy" if beams == 1 else f"beam{beams},lp{float(options['length_penalty']):g}"
        new = (f"min({int(options['max_new_tokens'])},{float(options['max_new_tokens_ratio']):g}*src+"
               f"{int(options['max_new_tokens_extra'])})")
        return {"decode": f"{decode},max_new={new}", "prompt": f"{prompt},k:{int(options['k_shot'])}"}

    # --- scoring ---------------------------------------------------------------------------------------------

    def score(self, examples: list[dict], predictions: list[Any], spec, language: str,
              options: dict[str, Any] | None = None, causal: bool = False,
              spm_optional: bool = False) -> dict[str, Any]:
        """Each metric of ``spec.metrics`` per direction: ``{metric: [Value(direction=...), ...]}``.

        ``spm_optional``: without the FLORES-200 SentencePiece model, spBLEU is left out (the caller says how
        to provide it) instead of failing, and the other metrics are still scored.
        """
        from harness.core.rows import signature
        from harness.metrics import Value
        from harness.metrics.mt import SpmMissing, score_mt

        options = {**DEFAULT_OPTIONS, **(options or {})}
        if len(examples) != len(predictions):
            raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
        metrics = list(spec.metrics)
        if spm_optional and "spbleu" in metrics:
            from harness.metrics.mt import resolve_spm

            try:
                resolve_spm(options["spm_model"])
            except SpmMissing:
                metrics.remove("spbleu")
        groups: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(examples):
            groups.setdefault((e["direction"], e["lang_pair"]), []).append(i)
        out: dict[str, list[Value]] = {}
        for (direction, pair), idx in groups.items():
            hyps = [predictions[i] or "" for i in idx]
            refs = [examples[i]["target"] for i in idx]
            for name, v in score_mt(metrics, hyps, refs, options["spm_model"], options["spm_name"]).items():
                sig = signature(name, spec.name, spec.version, lead=v.signature,
                                **self.decoding_signature(options, causal))
                out.setdefault(name, []).append(Value(v.value, direction=direction, variant=v.variant,
                                                      signature=sig, n=v.n,
                                                      extra={**(v.extra or {}), "lang_pair": pair,
                                                             "sacrebleu": v.signature}))
        return out

    def evaluate(self, encoder, examples: list[dict], spec, language: str, device=None,
                 params: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
        """Decode and score; every value carries ``extra["generation"]`` (template, k, decoding, truncation,
        training source and exemption) for its leaderboard row."""
        import json
        from pathlib import Path

        params = params or {}
        options = options_of(params)
        causal = is_causal(encoder.module)
        k = int(options["k_shot"])
        shots = {}
        if k:
            from harness.planning.task_data import load_split

            pool = load_split(params["task"], spec.train_split, language)
            shots = self.draw_shots(pool, k, int(params.get("seed", 0)))
        predictions, counts = self.generate(encoder, examples, options, device=device, shots=shots)
        scores = self.score(examples, predictions, spec, language, options, causal=causal)
        trained = params.get("trained_dir")
        summary = json.loads((Path(trained) / files.SUMMARY).read_text()) if trained else {}
        details = {
            "prompt": template_of(options, causal), "k_shot": k, "shot_ids": sorted(e["id"] for v in shots.values()
                                                                                  for e in v),
            "num_beams": int(options["num_beams"]), "length_penalty": float(options["length_penalty"]),
            "max_new_tokens": int(options["max_new_tokens"]), "max_new_tokens_ratio": options["max_new_tokens_ratio"],
            "max_new_tokens_extra": int(options["max_new_tokens_extra"]),
            "max_source_length": int(options["max_source_length"]), **counts,
            "trained": bool(trained), "train_source": summary.get("train_source"),
            "train_exemption": BITEXT_EXEMPTION if trained else None,
            "train_truncated": summary.get("truncated"),
        }
        from dataclasses import replace

        scores = {m: [replace(v, extra={**(v.extra or {}), "generation": details}) for v in values]
                  for m, values in scores.items()}
        return predictions, scores

    def check_example(self, example: dict, spec) -> str | None:
        for key in ("source", "target", "src_lang", "tgt_lang"):
            if not is_text(example.get(key)):
                return f"no {key!r} string"
        return None
