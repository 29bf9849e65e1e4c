"""XTREME-R retrieval regime: the dual-encoder pair loss (hand-computed), one fine-tune step through the shared
loop (changes the encoder, deterministic), a LAReQA / Mewsli-X matrix that fine-tunes then evaluates with the
regime and recipe in every row, the training-free probe keeping the numbers of before the regime existed, node
keys per regime, benchmark labels, and a few steps on the real SQuAD-format samples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from harness.core.registry import registry

# lareqa / mewslix mAP@20 of tiny-xlmr (seed 1, no intermediate) on the synthetic fixtures, computed with the code
# before retrieval_regime existed (commit 5ad140f): the training-free probe must keep them exactly.
BEFORE = {("lareqa", "de"): 17.786563156628944, ("lareqa", "en"): 30.10108677871835,
          ("mewslix", "de"): 46.78571428571429, ("mewslix", "es"): 21.473214285714285}


def test_pair_loss_on_a_fixed_two_by_two_batch():
    from harness.tasktypes.retrieval_train import pair_logits, pair_loss

    q = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # unit vectors after L2 normalisation: [1, 0], [0, 1]
    c = torch.tensor([[2.0, 0.0], [0.6, 0.8]])  # [1, 0] and [0.6, 0.8]
    assert pair_logits(q, c, 1.0).flatten().tolist() == pytest.approx([1.0, 0.6, 0.0, 0.8])
    # row 0: -log(e^1 / (e^1 + e^0.6)); row 1: -log(e^0.8 / (e^0 + e^0.8)); mean of the two
    hand = ((math.log(math.e + math.exp(0.6)) - 1.0) + (math.log(1.0 + math.exp(0.8)) - 0.8)) / 2
    assert float(pair_loss(q, c, 1.0)) == pytest.approx(hand, abs=1e-6)
    assert hand == pytest.approx(0.442058, abs=1e-6)
    # the scale multiplies the similarities: at 10, row 0's gold wins by 4 nats, row 1's by 8
    assert float(pair_loss(q, c, 10.0)) == pytest.approx((math.log1p(math.exp(-4.0)) + math.log1p(math.exp(-8.0))) / 2,
                                                         rel=1e-5)
    # d loss / d scale at 1: per row, the softmax-weighted mean similarity minus the gold one; then the mean
    scale = torch.nn.Parameter(torch.tensor([1.0]))
    pair_loss(q, c, scale).backward()
    p0, p1 = math.e / (math.e + math.exp(0.6)), math.exp(0.8) / (1 + math.exp(0.8))
    hand_grad = ((p0 * 1.0 + (1 - p0) * 0.6 - 1.0) + (p1 * 0.8 - 0.8)) / 2
    assert float(scale.grad) == pytest.approx(hand_grad, abs=1e-6) and hand_grad == pytest.approx(-0.204273, abs=1e-5)


def _one_step(pairs: list[dict]) -> tuple[dict[str, torch.Tensor], dict]:
    from harness.modeling.encoder import TaskModel, load_encoder
    from harness.planning.config import resolve_hp
    from harness.search.embed import EmbedOptions
    from harness.tasktypes.retrieval_train import LogitScale, PairObjective
    from harness.training.loop import TrainTask, train

    enc = load_encoder(registry().model("tiny-xlmr"), seed=3)
    objective = PairObjective(EmbedOptions())
    feats = objective.featurize(pairs, enc.tokenizer, 16, 32)
    model = TaskModel(enc.module, {"lareqa": LogitScale(100.0)})
    hp = resolve_hp({"lr": 1e-3, "batch_size": 4, "max_steps": 1, "warmup_ratio": 0.0, "weight_decay": 0.0})
    summary = train(model, [TrainTask("lareqa", objective, feats, 4)], hp, torch.device("cpu"), 7, enc.pad_id)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, summary


def test_one_training_step_changes_the_encoder_and_is_deterministic():
    from harness.modeling.encoder import load_encoder

    pairs = [{"id": str(i), "language": "en", "query": f"{n}?", "candidate": f"the {n} is {a}"}
             for i, (n, a) in enumerate([("cat", "red"), ("dog", "big"), ("house", "old"), ("car", "small")])]
    before = {k: v.detach().clone() for k, v in load_encoder(registry().model("tiny-xlmr"), seed=3).module.state_dict().items()}
    first, s1 = _one_step(pairs)
    second, s2 = _one_step(pairs)
    assert s1["steps"] == 1 and s1["losses"] == s2["losses"] and math.isfinite(s1["losses"][0])
    assert s1["losses"][0] > 0  # four pairs: three in-batch negatives per query
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    changed = [k for k in before if not torch.equal(before[k], first[f"encoder.{k}"])]
    assert changed, "one step left every encoder weight as it was"
    assert not torch.equal(first["heads.lareqa.logit_scale"], torch.tensor([100.0]))  # the scale is learned too


def _config(tmp_path: Path, targets: str, train: str | None = "{lr: 0.001, batch_size: 4, grad_accum: 1, "
            "max_steps: 2, max_length: 32}") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(f"""
name: xtr
output_dir: {tmp_path / 'out'}
models: [tiny-xlmr]
intermediate: [none]
targets:
{targets}
seeds: [1]
data: {{lareqa: synthetic, mewslix: synthetic, tatoeba: synthetic}}
""" + (f"train: {train}\n" if train else ""))
    return path


def _plan(path: Path):
    from harness.planning.config import load_config
    from harness.planning.plan import build_plan

    cfg, _ = load_config(str(path))
    return build_plan(cfg)


def test_recipe_defaults_regimes_and_node_keys(tmp_path):
    plan = _plan(_config(tmp_path, """  - {name: lareqa, languages: [de]}
  - {name: lareqa, languages: [de], options: {retrieval_regime: training-free}}
  - {name: mewslix, languages: [de]}
  - {name: tatoeba, languages: [de]}""", train=None))
    targets = {n.params["task"]["name"]: n for n in plan.by_stage("target")}
    assert set(targets) == {"lareqa", "mewslix"}  # the training-free probe and Tatoeba train nothing
    hp = targets["lareqa"].params["hp"]
    assert {k: hp[k] for k in ("lr", "epochs", "batch_size", "grad_accum", "warmup_ratio", "weight_decay",
                               "max_length")} == {"lr": 2e-5, "epochs": 3.0, "batch_size": 16, "grad_accum": 4,
                                                  "warmup_ratio": 0.0, "weight_decay": 0.0, "max_length": 256}
    assert (targets["lareqa"].params["train_split"], targets["lareqa"].params["select_split"]) == ("train", "dev")
    mhp = targets["mewslix"].params["hp"]
    assert (mhp["lr"], mhp["epochs"], mhp["batch_size"], mhp["grad_accum"], mhp["max_length"]) == (2e-5, 2.0, 256, 4, 64)
    assert targets["mewslix"].params["select_split"] == "wikipedia_dev"
    evals = {(n.params["task"]["name"], bool(n.params["trained"])): n for n in plan.by_stage("eval")}
    fine, probe = evals[("lareqa", True)], evals[("lareqa", False)]
    assert fine.key != probe.key and fine.deps == [targets["lareqa"].key] and probe.deps == []
    assert evals[("tatoeba", False)].deps == []


def test_xtreme_r_refused_for_a_task_without_training_pairs(tmp_path):
    with pytest.raises(ValueError, match="tatoeba.*|XTREME-R evaluates this task training-free"):
        _plan(_config(tmp_path, "  - {name: tatoeba, languages: [de], options: {retrieval_regime: xtreme-r}}"))
    with pytest.raises(ValueError, match="retrieval_regime 'finetuned' is not one of training-free, xtreme-r"):
        _plan(_config(tmp_path, "  - {name: lareqa, languages: [de], options: {retrieval_regime: finetuned}}"))


@pytest.mark.slow
def test_lareqa_and_mewslix_fine_tune_then_evaluate_and_the_probe_keeps_its_numbers(tmp_path):
    from harness.core import files
    from harness.orchestration.scheduler import run_plan
    from harness.results.aggregate import benchmark_scores
    from harness.run.context import Context

    plan = _plan(_config(tmp_path, """  - {name: lareqa, languages: [de, en]}
  - {name: lareqa, languages: [de, en], options: {retrieval_regime: training-free}}
  - {name: mewslix, languages: [de, es]}
  - {name: mewslix, languages: [de, es], options: {retrieval_regime: training-free}}"""))
    assert len(plan.by_stage("target")) == 2
    assert run_plan(plan, Context(cache_dir=plan.cache_dir)).ok
    rows = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    assert len(rows) == 8 and {r["retrieval_regime"] for r in rows} == {"xtreme-r", "training-free"}
    probe = {(r["task"], r["language"]): r for r in rows if r["retrieval_regime"] == "training-free"}
    assert {k: r["value"] for k, r in probe.items()} == pytest.approx(BEFORE, rel=1e-12)
    assert all(r["variant"] == "training-free" and "retrieval_finetune" not in r and "|regime:training-free|" in
               r["signature"] for r in probe.values())
    fine = [r for r in rows if r["retrieval_regime"] == "xtreme-r"]
    for r in fine:
        target = next(n for n in plan.by_stage("target") if n.params["task"]["name"] == r["task"])
        best = json.loads((plan.cache_dir / "nodes" / target.key / files.BEST).read_text())
        rec = r["retrieval_finetune"]
        assert r["variant"] is None and rec["checkpoint"]["step"] == best["step"] in (1, 2)
        assert rec["checkpoint"]["dev_loss"] == pytest.approx(-best["score"])
        assert {k: rec[k] for k in ("lr", "max_steps", "steps", "batch", "grad_accum", "max_len", "logit_scale_init",
                                    "epochs")} == {"lr": 0.001, "max_steps": 2, "steps": 2, "batch": 4,
                                                   "grad_accum": 1, "max_len": {"query": 32, "candidate": 32},
                                                   "logit_scale_init": 100.0, "epochs": None}
        split = "dev" if r["task"] == "lareqa" else "wikipedia_dev"
        assert rec["train_split"] == "train" and rec["select_split"] == split
        assert (f"|regime:xtreme-r|finetune:data=train/{split},lr=0.001,steps=2,bs=4,acc=1,len=32/32,"
                f"ckpt={best['step']}|") in r["signature"]
        assert r["budget"]["target_steps"] == 2
    summary = json.loads((plan.cache_dir / "nodes" / plan.by_stage("target")[0].key / files.SUMMARY).read_text())
    assert len(summary["losses"]) == 2 and all(loss > 0 for loss in summary["losses"])
    # both regimes present: the XTREME-R score reads the fine-tuned rows; the probe alone is labelled as such
    both = benchmark_scores(rows)[0]["scores"]["xtreme_r"]
    assert both["training_free"] == [] and "training-free" not in both["label"]
    alone = benchmark_scores(list(probe.values()))[0]["scores"]["xtreme_r"]
    assert alone["training_free"] == ["mewslix", "lareqa"] or alone["training_free"] == ["lareqa", "mewslix"]
    assert "training-free, not the xtreme-r fine-tune protocol" in alone["label"]
    legacy = [{k: v for k, v in r.items() if k not in ("retrieval_regime", "variant")} for r in probe.values()]
    assert benchmark_scores(legacy)[0]["scores"]["xtreme_r"]["training_free"] == alone["training_free"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_a_few_fine_tune_steps_on_the_real_squad_format_samples(shared_data, tmp_path):
    """SQuAD v1.1-format English pairs from the real XQuAD en sample (train) and the SQuAD 2.0 dev sample's
    answered questions (selection), then LAReQA on the real XQuAD-R files."""
    from xlt_harness_plugins.tasks.lareqa import squad_pairs

    from harness.orchestration.scheduler import run_plan
    from harness.run.context import Context

    data = tmp_path / "lareqa"
    (data / "squad").mkdir(parents=True)
    (data / "xquad-r").symlink_to(shared_data / "lareqa" / "xquad-r")
    (data / "squad" / "train-v1.1.json").symlink_to(shared_data / "xquad" / "xquad.en.json")
    (data / "squad" / "dev-v1.1.json").symlink_to(shared_data / "squad_v2" / "dev-v2.0.sample.json")
    train = squad_pairs(data / "squad" / "train-v1.1.json")
    assert len(train) == 177 and train[0]["candidate"].startswith("The Panthers defense gave up just 308 points")
    path = _config(tmp_path, "  - {name: lareqa, languages: [de], options: {max_length: 64}}",  # tiny: 128 positions
                   train="{lr: 0.0001, batch_size: 8, grad_accum: 1, max_steps: 3, eval_every: 3, max_length: 48}")
    path.write_text(path.read_text().replace("lareqa: synthetic", f"lareqa: {data}"))
    plan = _plan(path)
    assert run_plan(plan, Context(cache_dir=plan.cache_dir)).ok
    (row,) = [json.loads(line) for line in plan.leaderboard.read_text().splitlines()]
    assert row["retrieval_regime"] == "xtreme-r" and row["n"] == 177
    assert row["retrieval_finetune"]["checkpoint"]["step"] == 3 and 0 <= row["value"] <= 100
