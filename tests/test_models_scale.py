"""Models across scale: published parameter counts (config only, meta device), tiny configs of every
architecture training one step and evaluating, the mT5 encoder/seq2seq wrapper, and the memory estimate."""

from __future__ import annotations

import json

import pytest

from harness.modeling.memory import GIB, estimate, layer_activation_bytes, micro_batch_size

PUBLISHED = {  # model name -> size stated in the papers
    "xlm-roberta-base": 270e6, "xlm-roberta-large": 550e6, "xlm-roberta-xl": 3.5e9, "xlm-roberta-xxl": 10.7e9,
    "mt5-small": 300e6, "mt5-base": 580e6, "mt5-large": 1.2e9, "mt5-xl": 3.7e9, "mt5-xxl": 13e9,
}


def _describe(registry, name):
    spec = registry.model(name)
    return registry.family(spec.family).describe(spec)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_sizes_within_5_percent(registry, name):
    meta = _describe(registry, name)  # built on the meta device from the written-down config: no hub, no weights
    assert abs(meta["params"] / PUBLISHED[name] - 1) < 0.05, meta["params"]
    assert 0 < meta["params_nonembed"] < meta["params"]


def test_xlmr_base_counts_by_hand(registry):
    h, f, L, V, P = 768, 3072, 12, 250_002, 514
    layer = 4 * (h * h + h) + (h * f + f) + (f * h + h) + 2 * 2 * h  # attention, FFN, two LayerNorms
    nonembed = L * layer + 2 * h + (h * h + h)  # + embedding LayerNorm + pooler
    total = nonembed + (V + P + 1) * h
    meta = _describe(registry, "xlm-roberta-base")
    assert (meta["params"], meta["params_nonembed"]) == (total, nonembed) == (278_043_648, 85_646_592)
    assert (meta["layers"], meta["hidden"], meta["heads"], meta["vocab"]) == (12, 768, 12, 250_002)


def test_mt5_output_projection_is_untied(registry):
    # mT5 keeps a separate lm_head (250,112 x d_model): total = non-embedding + 2 vocab matrices + rel. buckets
    meta = _describe(registry, "mt5-small")
    emb = 250_112 * 512
    buckets = 2 * 32 * 6  # one relative-attention-bias table in the encoder and one in the decoder
    assert meta["params"] - meta["params_nonembed"] == 2 * emb + buckets
    assert (meta["layers"], meta["decoder_layers"], meta["hidden"], meta["gated_ffn"]) == (8, 8, 512, True)


def test_xlmr_xl_is_pre_layernorm(registry):
    from transformers import XLMRobertaXLModel

    from harness.modeling.encoder import load_encoder

    enc = load_encoder(registry.model("tiny-xlmr-xl"))
    assert isinstance(enc.module, XLMRobertaXLModel)
    assert _describe(registry, "xlm-roberta-xl")["hidden"] == 2560


@pytest.mark.slow
def test_every_tiny_architecture_trains_one_step_and_evaluates(tmp_path):
    from harness.orchestration.scheduler import run_plan
    from harness.planning.config import parse_config
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    models = ["tiny-xlmr", "tiny-xlmr-xl", "tiny-mbert", "tiny-mt5"]
    cfg = parse_config({
        "name": "scale-tiny", "output_dir": str(tmp_path / "run"), "models": models,
        "targets": [{"name": "xnli", "languages": ["en", "de"], "eval_splits": ["test[0:8]"],
                     "train_split": "train[0:16]", "select_split": "dev[0:8]"}],
        "data": {"xnli": "synthetic"},
        # the at-scale switches on: bf16 autocast, gradient checkpointing, accumulation to the effective batch of 8
        "train": {"max_steps": 1, "batch_size": 8, "grad_accum": 2, "max_length": 32, "lr": 1e-3, "precision": "bf16",
                  "gradient_checkpointing": True},
    })
    plan = build_plan(cfg)
    outcome = run_plan(plan, Context(cache_dir=plan.cache_dir, device="cpu"))
    assert outcome.ok, outcome.failed
    rows = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    assert sorted({(r["model"], r["language"]) for r in rows}) == sorted((m, lang) for m in models for lang in ("en", "de"))
    assert all(r["n"] == 8 and 0 <= r["value"] <= 100 for r in rows)
    for node in plan.by_stage("target"):
        summary = json.loads((plan.cache_dir / "nodes" / node.key / "train_summary.json").read_text())
        assert summary["steps"] == 1 and len(summary["losses"]) == 1


def test_mt5_wrapper_encodes_and_generates(registry):
    import torch

    from harness.modeling.encoder import ENCODER_FILE, load_encoder, load_weights, save_weights

    enc = load_encoder(registry.model("tiny-mt5"), seed=3)
    batch = enc.tokenizer(["the cat is red", "der Hund"], return_tensors="pt", padding=True)
    out = enc.module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert out.last_hidden_state.shape == (2, batch["input_ids"].shape[1], 32)
    gen = enc.module.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              max_new_tokens=4, do_sample=False)
    assert gen.shape[0] == 2 and gen.shape[1] <= 5
    assert enc.module.model.lm_head.weight is not enc.module.model.shared.weight
    # shared embeddings survive a safetensors round trip into a freshly built model
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        save_weights(enc.module, Path(d) / ENCODER_FILE)
        other = load_encoder(registry.model("tiny-mt5"), seed=4)
        load_weights(other.module, Path(d) / ENCODER_FILE)
    for a, b in zip(enc.module.state_dict().values(), other.module.state_dict().values()):
        assert torch.equal(a, b)


def test_memory_estimate_by_hand():
    shape = {"layers": 1, "hidden": 4, "heads": 1, "intermediate": 16, "vocab": 10}
    est = estimate(shape, params=100, micro_batch=2, length=3, precision="fp32")
    # layer: s*b*(11h + 5as) + s*b*(3h + 4f) + 4sbh = 6*(44+15) + 6*(12+64) + 6*16 = 906 bytes (16-bit)
    assert layer_activation_bytes(2, 3, 4, 1, 16) == 906
    # fp32 doubles activations; embedding output 2*s*b*h*2
    assert (est.weights, est.gradients, est.optimizer, est.activations) == (400, 400, 800, 2 * 906 + 96)
    assert est.total == 400 + 400 + 800 + 1908 + GIB
    bf16 = estimate(shape, params=100, micro_batch=2, length=3, precision="bf16")
    assert bf16.weights == 600 and bf16.activations == 906 + 48


def test_memory_estimate_orders_settings(registry):
    from harness.modeling.memory import estimate_for_hp

    meta = _describe(registry, "xlm-roberta-large")
    hp = {"batch_size": 32, "grad_accum": 1, "max_length": 256, "precision": "bf16"}
    plain = estimate_for_hp(meta, hp)
    ckpt = estimate_for_hp(meta, {**hp, "gradient_checkpointing": True})
    accum = estimate_for_hp(meta, {**hp, "grad_accum": 4})
    fsdp = estimate_for_hp(meta, hp, strategy="fsdp", nproc=8)
    assert ckpt.activations < accum.activations < plain.activations
    assert fsdp.optimizer * 8 == plain.optimizer and fsdp.total < plain.total
    assert 10 < plain.total_gb < 40  # 560M params in mixed precision at 32x256: tens of GiB, not hundreds
    assert micro_batch_size(32, 4, 2) == 4 and micro_batch_size(5, 2, 1) == 3
    with pytest.raises(ValueError, match="precision"):
        estimate(meta, 1, 1, 8, precision="int8")


def test_models_cli_shows_the_memory_estimate(registry):
    from click.testing import CliRunner

    from harness.cli.main import main
    from harness.modeling.memory import estimate_for_hp, parse_setting

    assert parse_setting("16x128:bf16:ckpt") == {"batch_size": 16, "grad_accum": 1, "max_length": 128,
                                                 "precision": "bf16", "gradient_checkpointing": True}
    with pytest.raises(ValueError, match="BATCHxLENGTH"):
        parse_setting("sixteen")
    result = CliRunner().invoke(main, ["models", "--memory", "32x256:bf16", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)["models"]}
    meta = _describe(registry, "xlm-roberta-large")
    expected = estimate_for_hp(meta, parse_setting("32x256:bf16")).total_gb
    assert rows["xlm-roberta-large"]["train_memory_gib"] == round(expected, 2)
    # an idle mT5 decoder (task heads on the encoder) costs weights, not activations
    mt5 = _describe(registry, "mt5-base")
    heads = estimate(mt5, mt5["params"], 32, 256, "bf16")
    seq2seq = estimate(mt5, mt5["params"], 32, 256, "bf16", decoder=True)
    assert heads.weights == seq2seq.weights and heads.activations < seq2seq.activations


def test_mt5_encoder_only_option(registry):
    from transformers import MT5EncoderModel

    from harness.modeling.encoder import load_encoder

    spec = registry.model("tiny-mt5")
    lean = spec.with_overrides(options={**spec.options, "encoder_only": True})
    enc = load_encoder(lean)
    assert isinstance(enc.module, MT5EncoderModel) and not hasattr(enc.module, "generate")
    full, half = _describe(registry, "tiny-mt5"), registry.family("tiny-mt5").describe(lean)
    assert half["params"] < full["params"] and half["decoder_layers"] == 0
    with pytest.raises(ValueError, match="sequence-to-sequence"):
        registry.task_type("generation").generate(enc, [{"source": "a", "src_lang": "eng_Latn",
                                                         "tgt_lang": "deu_Latn"}], {"prompt": "{text}"})
