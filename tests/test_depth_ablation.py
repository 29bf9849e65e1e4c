"""Depth ablation: a config's ``depth: k`` keeps the first k layers of one model (hf-encoder), names it NAME@Lk,
gives it its own node keys and parameter counts, and the report fits it on its own axis.

A tiny BERT (4 layers, hidden 8) with a 9-word WordPiece vocabulary is built in the test's folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "mat"]
# one BERT layer at hidden 8, FFN 16: attention 4·(8·8+8) + LN 16 + FFN (8·16+16) + (16·8+8) + LN 16
PER_LAYER = 4 * (8 * 8 + 8) + 16 + (8 * 16 + 16) + (16 * 8 + 8) + 16


@pytest.fixture
def tiny_bert(tmp_path) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path / "tiny-bert"
    folder.mkdir()
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=4, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    BertModel(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


def _config(folder: Path, tmp_path: Path, depths: list[int | None]) -> dict:
    return {"output_dir": str(tmp_path / "out"), "data": {"xnli": "synthetic", "sst2": "synthetic"}, "seeds": [1],
            "models": [{"name": "tiny", "family": "hf-encoder", "source": str(folder),
                        **({"depth": d} if d else {})} for d in depths],
            "intermediate": ["none", "sst2"], "targets": [{"name": "xnli", "languages": ["en", "de"]}]}


def test_depth_keeps_the_first_layers_exactly(tiny_bert):
    import torch

    from harness.core.specs import ModelSpec, depth_ablation
    from harness.modeling.encoder import count_parameters, describe, load_encoder

    full_spec = ModelSpec("tiny", family="hf-encoder", source=str(tiny_bert), layers=4)
    cut_spec = depth_ablation(full_spec, 2)
    assert cut_spec.name == "tiny@L2" and cut_spec.layers == 2
    assert cut_spec.options["depth"] == {"layers": 2, "of": "tiny", "of_layers": 4, "axis": "depth (layers of tiny)"}
    full, cut = load_encoder(full_spec), load_encoder(cut_spec)
    assert len(cut.module.encoder.layer) == 2 and cut.module.config.num_hidden_layers == 2
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        want = full.module(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[2]
        got = cut.module(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.equal(got, want)  # the same weights, the same first two blocks
    total_full, _ = count_parameters(full.module)
    meta = describe(cut_spec)
    assert meta["params"] == count_parameters(cut.module)[0] == total_full - 2 * PER_LAYER
    assert meta["layers"] == 2


def test_a_depth_load_is_quiet_and_checked(tiny_bert, tmp_path, capfd):
    """The dropped layers' weights are expected to stay unread (no transformers load report); a checkpoint whose
    other weights do not fit the model is an error naming them, not a silently re-initialised layer."""
    import torch
    from transformers import BertModel

    from harness.core.specs import ModelSpec, depth_ablation
    from harness.modeling.encoder import load_encoder

    full_spec = ModelSpec("tiny", family="hf-encoder", source=str(tiny_bert), layers=4)
    capfd.readouterr()
    load_encoder(depth_ablation(full_spec, 2))
    err = capfd.readouterr().err
    assert "UNEXPECTED" not in err and "LOAD REPORT" not in err, err
    # a checkpoint without the first block's query weights: missing, so not a clean depth cut
    broken = tmp_path / "broken"
    model = BertModel.from_pretrained(str(tiny_bert))
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in model.state_dict().items() if "layer.0.attention.self.query" not in k}
    broken.mkdir()
    save_file(state, str(broken / "model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (tiny_bert / f).exists():
            (broken / f).write_bytes((tiny_bert / f).read_bytes())
    bad = depth_ablation(ModelSpec("tiny", family="hf-encoder", source=str(broken), layers=4), 2)
    with pytest.raises(ValueError, match=r"tiny.*depth 2 of 4.*missing: \['encoder.layer.0.attention.self.query"):
        load_encoder(bad)
    assert torch.is_tensor(state["embeddings.word_embeddings.weight"])


def test_model_pooling_option_reaches_sentence_heads(tiny_bert):
    """``options.pooling`` of an hf-encoder model is what its sentence-level heads pool (multilingual-E5: mean),
    unless a task sets one; a value outside cls/mean is an error naming the model."""
    from harness.core.registry import registry
    from harness.core.specs import ModelSpec
    from harness.modeling.encoder import load_encoder, resolve_pooling

    enc = load_encoder(ModelSpec("tiny", family="hf-encoder", source=str(tiny_bert), options={"pooling": "mean"}))
    assert enc.module.harness_pooling == "mean" and resolve_pooling(None, enc.module) == "mean"
    assert resolve_pooling("cls", enc.module) == "cls"  # a task's or target's own choice still wins
    plain = load_encoder(ModelSpec("tiny", family="hf-encoder", source=str(tiny_bert)))
    assert resolve_pooling(None, plain.module) == "cls"
    with pytest.raises(ValueError, match="'tiny': options.pooling 'max' is not one of cls, mean"):
        load_encoder(ModelSpec("tiny", family="hf-encoder", source=str(tiny_bert), options={"pooling": "max"}))
    assert registry().model("multilingual-e5-small").options["pooling"] == "mean"


def test_depths_get_their_own_names_and_node_keys(tiny_bert, tmp_path):
    from harness.planning.config import config_hash, parse_config
    from harness.planning.plan import build_plan

    plan = build_plan(parse_config(_config(tiny_bert, tmp_path, [2, 3, None])))
    inter = plan.by_stage("intermediate")
    assert sorted(n.params["model"]["name"] for n in inter) == ["tiny", "tiny@L2", "tiny@L3"]
    assert len({n.key for n in inter}) == 3
    # depth is hashed only when set: a config without it keeps the hash it had before the field existed
    plain = parse_config(_config(tiny_bert, tmp_path, [None]))
    assert config_hash(plain) != config_hash(parse_config(_config(tiny_bert, tmp_path, [2])))
    mini = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "real-offline-mini.yaml").read_text())
    mini.update(name="real-offline", output_dir="runs/real-offline")  # as it was named before the rename
    assert config_hash(parse_config(mini)) == "ab1daf92b7892eda"  # its hash before depth/dev_split existed


def test_depth_errors_name_the_field(tiny_bert, tmp_path):
    from harness.planning.config import ConfigError, parse_config
    from harness.planning.plan import build_plan

    with pytest.raises(ConfigError, match=r"models\[0\]: .*depth 5 exceeds .*4 layers"):
        build_plan(parse_config(_config(tiny_bert, tmp_path, [5])))
    with pytest.raises(ConfigError, match=r"depth"):
        parse_config({**_config(tiny_bert, tmp_path, [None]), "models": [{"name": "tiny", "depth": 0}]})


def test_report_fits_depth_on_its_own_axis():
    from harness.results.gains import trends

    def rec(model, layers, gain):
        import numpy as np

        return ({"task": "xnli", "split": "dev", "metric": "accuracy", "direction": None, "variant": None,
                 "lang_pair": None, "intermediate": "sst2", "model": model, "model_params": 1000 * layers,
                 "seeds": [1, 2], "axis": {"family": "depth ablation of m", "label": "depth (layers of m)",
                                           "log": False, "unit": "layer", "x": layers},
                 "xx": {"gain": gain}}, {"xx": np.full(4, gain)})

    recs, reps = zip(rec("m@L4", 4, 1.0), rec("m@L8", 8, 3.0), rec("m@L12", 12, 5.0))
    (t,) = trends(list(recs), dict(enumerate(reps)))
    assert (t["family"], t["axis"], t["n_sizes"]) == ("depth ablation of m", "depth (layers of m)", 3)
    assert t["slope"] == pytest.approx(0.5) and t["intercept"] == pytest.approx(-1.0)  # 0.5 points per layer
    assert [p["x"] for p in t["points"]] == [4, 8, 12]
    assert "per layer" in t["verdict"] and "grows with depth" in t["verdict"]
    from harness.results.axis import axis_title

    assert axis_title(list(recs)) == axis_title([t]) == "depth (layers of m)"  # titles never say "model size"
    (two,) = trends(list(recs[:2]), {0: reps[0], 1: reps[1]})
    assert "two depths only" in two["verdict"] and "size" not in two["verdict"]
    assert axis_title([{"model_params": 10}]) == "model size"
