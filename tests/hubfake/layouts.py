"""Recorded hub layouts for :class:`tests.hubfake.FakeHub`: file lists at real commit shas, tiny bodies.

Each repo names the page its file list was read from (docs/hub-sources.md has the full evidence). Bodies are tiny
stand-ins in the real schema: a 2-layer mT5 config and its safetensors/pickle weights, a SentencePiece model trained
on a few lines, Parquet files with the real columns. Where a full sha could not be read offline the stand-in sha
keeps the readable prefix and says so (``STANDIN``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from hubfake import Repo

STANDIN = "0" * 33  # padding after a 7-hex prefix that was all the tree page showed

MT5_BASE_MAIN = "2eb15465c5dd7f72a8f7984306ad05ebc3dd1e1f"  # huggingface.co/google/mt5-base/tree/2eb1546… (7 commits)
MT5_BASE_PR5 = "78f6d82" + STANDIN  # huggingface.co/google/mt5-base/tree/refs%2Fpr%2F5 (commit 78f6d82, SFconvertbot)
MT5_SMALL = "6f9238ffa7de159b1245f899909bac7f40de53ae"  # huggingface.co/google/mt5-small/tree/6f9238f…
MT5_LARGE_PR2 = "839af365b2edcc42e5872afa8c03418b76e96583"  # huggingface.co/google/mt5-large/tree/refs%2Fpr%2F2
MT5_LARGE_MAIN = "fec3088c" + "0" * 32  # a main-line commit (pickle only); only the prefix was readable
MT5_XL_PR2 = "2568b91ebe41c97510f5633ddb3f3bc5ae2f78c5"  # huggingface.co/google/mt5-xl/tree/2568b91e… (refs/pr/2)
MT5_XL_MAIN = "1" * 40  # stand-in: the main sha of google/mt5-xl was not read offline (pickle only, like its peers)
MT5_XXL = "d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b"  # huggingface.co/google/mt5-xxl/tree/d4ac5e6… (pickle only)
XTREME = "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"  # huggingface.co/datasets/google/xtreme/commit/68bd9e0…
MLQA_SCRIPT = "397ed406c1a7902140303e7faf60fff35b58d285"  # facebook/mlqa: the revision lighteval pins (script repo)
XQUAD = "51adfef1c1287aab1d2d91b5bead9bcfb9c68583"  # stand-in sha for google/xquad (not read offline)
SQUAD = "7b6d24c440a36b6815f21b70d25016731768db1f"  # stand-in sha for rajpurkar/squad (not read offline)
COPA = "3de24cf8022e94f4ed4c9d83d9c2dd1ea8c8e0b5"  # stand-in sha for aps/super_glue (not read offline)

# the files of google/mt5-* at main (tree pages above): no model.safetensors
MT5_MAIN_FILES = (".gitattributes", "README.md", "config.json", "flax_model.msgpack", "generation_config.json",
                  "pytorch_model.bin", "special_tokens_map.json", "spiece.model", "tf_model.h5",
                  "tokenizer_config.json")


def _spm(tmp: Path) -> bytes:
    """A tiny SentencePiece unigram model with mT5's special ids (pad 0, eos 1, unk 2)."""
    import sentencepiece as spm

    text = tmp / "corpus.txt"
    text.write_text("\n".join(["the cat sat on the mat", "der Hund lief schnell", "el perro come pan",
                               "a quick brown fox jumps", "über den Berg und Tal"] * 20), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp / "spiece"), vocab_size=40, hard_vocab_limit=False,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   character_coverage=1.0, minloglevel=2)
    return (tmp / "spiece.model").read_bytes()


def mt5_files(tmp: Path, safetensors: bool, pickle: bool) -> dict[str, bytes]:
    """A 2-layer mT5 in the layout of google/mt5-*: config, tokenizer files, and the weights asked for."""
    import torch
    from safetensors.torch import save_file
    from transformers import MT5Config, MT5ForConditionalGeneration

    tmp.mkdir(parents=True, exist_ok=True)
    config = MT5Config(vocab_size=160, d_model=16, d_ff=32, num_layers=2, num_decoder_layers=2, num_heads=2, d_kv=8,
                       feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
                       pad_token_id=0, eos_token_id=1)
    torch.manual_seed(0)
    model = MT5ForConditionalGeneration(config)
    state = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
    files = {name: b"(not served: stand-in for a large file)" for name in MT5_MAIN_FILES}
    files.update({
        "config.json": json.dumps({**config.to_dict(), "architectures": ["MT5ForConditionalGeneration"]}).encode(),
        "generation_config.json": json.dumps({"decoder_start_token_id": 0, "eos_token_id": 1,
                                              "pad_token_id": 0}).encode(),
        "special_tokens_map.json": json.dumps({"eos_token": "</s>", "unk_token": "<unk>",
                                               "pad_token": "<pad>"}).encode(),
        "tokenizer_config.json": json.dumps({"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                                             "extra_ids": 0, "tokenizer_class": "T5Tokenizer"}).encode(),
        "spiece.model": _spm(tmp),
    })
    if pickle:
        buf = io.BytesIO()
        torch.save(state, buf)
        files["pytorch_model.bin"] = buf.getvalue()
    else:
        files.pop("pytorch_model.bin")
    if safetensors:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        files["model.safetensors"] = (tmp / "model.safetensors").read_bytes()
    return files


def _parquet(rows: list[dict], features) -> bytes:
    from datasets import Dataset

    buf = io.BytesIO()
    Dataset.from_list(rows, features=features).to_parquet(buf)
    return buf.getvalue()


def squad_rows(lang: str, n: int = 3) -> list[dict]:
    ctx = {"en": "The cat sat on the mat in Paris.", "de": "Die Katze sass in Berlin auf der Matte."}[lang]
    ans = {"en": "Paris", "de": "Berlin"}[lang]
    return [{"id": f"{lang}-{i}", "title": "t", "context": ctx, "question": f"Where? {i}",
             "answers": {"text": [ans], "answer_start": [ctx.index(ans)]}} for i in range(n)]


def card(configs: dict[str, dict[str, str]]) -> bytes:
    """A dataset card whose YAML ``configs:`` maps config -> {split: path glob} (the layout the converter writes)."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {s}\n    path: {p}" for s, p in splits.items()]
    return ("\n".join(lines) + "\n---\n# recorded stand-in card\n").encode()


def repos(tmp: Path) -> list[Repo]:
    """Every recorded repo (weights built once into ``tmp``)."""
    from hub_schemas import SQUAD_V1

    base_pr = mt5_files(tmp / "mt5-base", safetensors=True, pickle=True)
    base_main = {k: v for k, v in base_pr.items() if k != "model.safetensors"}
    xxl = mt5_files(tmp / "mt5-xxl", safetensors=False, pickle=True)
    mlqa = {f"MLQA.{lang}.{lang}/{split}-00000-of-00001.parquet": _parquet(squad_rows(lang), SQUAD_V1)
            for lang in ("en", "de") for split in ("validation", "test")}
    from hub_schemas import PANX

    panx = {f"PAN-X.en/{split}-00000-of-00001.parquet": _parquet(
        [{"tokens": ["Anna", "in", "Paris"], "ner_tags": [1, 0, 5], "langs": ["en"] * 3}], PANX)
        for split in ("train", "validation", "test")}
    xtreme_card = card({f"MLQA.{lang}.{lang}": {s: f"MLQA.{lang}.{lang}/{s}-*" for s in ("validation", "test")}
                        for lang in ("en", "de")})
    squad = {"README.md": card({"plain_text": {"train": "plain_text/train-*", "validation": "plain_text/validation-*"}}),
             "plain_text/train-00000-of-00001.parquet": _parquet(squad_rows("en", 4), SQUAD_V1),
             "plain_text/validation-00000-of-00001.parquet": _parquet(squad_rows("en", 2), SQUAD_V1)}
    return [
        Repo("model", "google/mt5-base", {"main": MT5_BASE_MAIN, "refs/pr/5": MT5_BASE_PR5},
             {MT5_BASE_MAIN: base_main, MT5_BASE_PR5: base_pr},
             source="https://huggingface.co/google/mt5-base/tree/2eb15465c5dd7f72a8f7984306ad05ebc3dd1e1f and "
                    "/tree/refs%2Fpr%2F5"),
        Repo("model", "google/mt5-small", {"main": MT5_SMALL}, {MT5_SMALL: base_pr},
             source="https://huggingface.co/google/mt5-small/tree/6f9238ffa7de159b1245f899909bac7f40de53ae"),
        Repo("model", "google/mt5-large", {"main": MT5_LARGE_MAIN, "refs/pr/2": MT5_LARGE_PR2},
             {MT5_LARGE_MAIN: base_main, MT5_LARGE_PR2: base_pr},
             source="https://huggingface.co/google/mt5-large/tree/refs%2Fpr%2F2 (/commits/839af365…/model.safetensors)"),
        Repo("model", "google/mt5-xl", {"main": MT5_XL_MAIN, "refs/pr/2": MT5_XL_PR2},
             {MT5_XL_MAIN: base_main, MT5_XL_PR2: base_pr},
             source="https://huggingface.co/google/mt5-xl/tree/2568b91ebe41c97510f5633ddb3f3bc5ae2f78c5"),
        Repo("model", "google/mt5-xxl", {"main": MT5_XXL}, {MT5_XXL: xxl},
             source="https://huggingface.co/google/mt5-xxl/tree/d4ac5e6d5125f8d30cba8763cd0ad71e5d34c17b"),
        Repo("dataset", "google/xtreme", {"main": XTREME},
             {XTREME: {"README.md": xtreme_card, "xtreme.py": b"# the loading script, still in this commit", **mlqa,
                      **panx}},
             source="https://huggingface.co/datasets/google/xtreme/commit/68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"),
        Repo("dataset", "facebook/mlqa", {"main": MLQA_SCRIPT},
             {MLQA_SCRIPT: {"README.md": b"---\npretty_name: MLQA\n---\n", "mlqa.py": b"# loading script"}},
             source="lm-evaluation-harness mlqa_common_yaml (dataset_kwargs trust_remote_code: true); lighteval pin"),
        Repo("dataset", "google/xquad", {"main": XQUAD}, {XQUAD: {
            "README.md": card({"xquad.de": {"validation": "xquad.de/validation-*"}}),
            "xquad.de/validation-00000-of-00001.parquet": _parquet(squad_rows("de"), SQUAD_V1)}},
             source="stand-in layout (config xquad.<lang>, one validation split: hub_schemas.XQUAD)"),
        Repo("dataset", "rajpurkar/squad", {"main": SQUAD}, {SQUAD: squad}, source="stand-in layout"),
    ]
