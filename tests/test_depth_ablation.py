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

    from harness.models import count_parameters, describe, load_encoder
    from harness.specs import ModelSpec, depth_ablation

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


def test_depths_get_their_own_names_and_node_keys(tiny_bert, tmp_path):
    from harness.config import config_hash, parse_config
    from harness.plan import build_plan

    plan = build_plan(parse_config(_config(tiny_bert, tmp_path, [2, 3, None])))
    inter = plan.by_stage("intermediate")
    assert sorted(n.params["model"]["name"] for n in inter) == ["tiny", "tiny@L2", "tiny@L3"]
    assert len({n.key for n in inter}) == 3
    # depth is hashed only when set: a config without it keeps the hash it had before the field existed
    plain = parse_config(_config(tiny_bert, tmp_path, [None]))
    assert config_hash(plain) != config_hash(parse_config(_config(tiny_bert, tmp_path, [2])))
    real_offline = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "real-offline-mini.yaml").read_text())
    assert config_hash(parse_config(real_offline)) == "ab1daf92b7892eda"  # its hash before depth/dev_split existed


def test_depth_errors_name_the_field(tiny_bert, tmp_path):
    from harness.config import ConfigError, parse_config
    from harness.plan import build_plan

    with pytest.raises(ConfigError, match=r"models\[0\]: .*depth 5 exceeds .*4 layers"):
        build_plan(parse_config(_config(tiny_bert, tmp_path, [5])))
    with pytest.raises(ConfigError, match=r"depth"):
        parse_config({**_config(tiny_bert, tmp_path, [None]), "models": [{"name": "tiny", "depth": 0}]})


def test_report_fits_depth_on_its_own_axis():
    from harness.report.gains import trends

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
