"""Intermediate training: multi-task sampling weights, every head overfits a few batches, static MLM masking,
exemption rules (multilingual MLM, translate-train) and the budget that reaches rows."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from harness.core.specs import TaskSpec
from harness.modeling.encoder import TaskModel, load_encoder
from harness.planning.config import ConfigError, parse_config, resolve_hp
from harness.tasktypes.mlm import mask_tokens
from harness.training.loop import TrainTask, task_weights, train

# --- sampling ----------------------------------------------------------------------------------------------------


def test_task_weights_exact():
    assert task_weights([100, 400, 900], "proportional") == pytest.approx([1 / 14, 4 / 14, 9 / 14])
    # T = 2: square roots 10, 20, 30 -> 1/6, 2/6, 3/6
    assert task_weights([100, 400, 900], "temperature", 2.0) == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert task_weights([100, 400, 900], "temperature", 1.0) == pytest.approx([1 / 14, 4 / 14, 9 / 14])
    assert task_weights([100, 400, 900], "uniform") == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert task_weights([7], "temperature", 5.0) == [1.0]
    with pytest.raises(ValueError, match="not one of proportional, temperature, uniform"):
        task_weights([1, 2], "sqrt")
    with pytest.raises(ValueError, match="needs training examples"):
        task_weights([0, 2])


class _Enc(torch.nn.Module):
    """A stand-in encoder: an embedding; enough for the loop's bookkeeping."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(10, 4)

    def forward(self, input_ids, attention_mask):
        return type("Out", (), {"last_hidden_state": self.emb(input_ids)})()


def test_multitask_draws_follow_weights():
    from harness.tasktypes.classification import ClassificationType

    ct = ClassificationType()
    spec = TaskSpec(name="t", kind="classification", roles=("intermediate",), languages=("en",), labels=("a", "b"),
                    metrics=("accuracy",))
    feats = lambda n: [{"example_index": i, "input_ids": [1, 2], "attention_mask": [1, 1], "labels": i % 2}  # noqa: E731
                       for i in range(n)]
    tasks = [TrainTask("small", ct, feats(100), 4), TrainTask("big", ct, feats(900), 4)]
    model = TaskModel(_Enc(), {"small": ct.build_head(spec, 4), "big": ct.build_head(spec, 4)})
    hp = resolve_hp({"max_steps": 400, "lr": 1e-3})
    out = train(model, tasks, hp, torch.device("cpu"), seed=0, pad_id=0, sampling="temperature", temperature=2.0)
    assert out["task_weights"] == pytest.approx({"small": 0.25, "big": 0.75})  # sqrt: 10 vs 30
    assert sum(out["task_steps"].values()) == 400
    # binomial(400, 0.25): mean 100, sd 8.7; a 4-sd band
    assert 66 <= out["task_steps"]["small"] <= 134, out["task_steps"]
    again = train(TaskModel(_Enc(), {"small": ct.build_head(spec, 4), "big": ct.build_head(spec, 4)}), tasks, hp,
                  torch.device("cpu"), seed=0, pad_id=0, sampling="temperature", temperature=2.0)
    assert again["task_steps"] == out["task_steps"]  # seeded


# --- every head overfits a few batches -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_factory():
    from harness.core.registry import registry

    return lambda: load_encoder(registry().model("tiny-xlmr"), seed=0)


def _overfit(registry, enc, name: str, tmp_path, n: int, steps: int = 60, lr: float = 3e-3, max_length: int = 48):
    task = registry.task(name)
    task.fixture(data_dir=tmp_path / name)
    spec = task.spec
    examples = task.load(split="train", language=spec.train_language, data_dir=tmp_path / name)[:n]
    if spec.kind == "tagging" and not spec.labels:
        spec = dataclasses.replace(spec, labels=tuple(sorted({t for e in examples for t in e["tags"]})))
    tt = registry.task_type(spec.kind)
    feats = tt.featurize(examples, enc.tokenizer, spec, max_length)
    model = TaskModel(enc.module, {name: tt.build_head(spec, enc.hidden_size)})
    hp = resolve_hp({"lr": lr, "batch_size": len(feats), "max_steps": steps, "warmup_ratio": 0.0,
                     "weight_decay": 0.0})
    out = train(model, [TrainTask(name, tt, feats, len(feats))], hp, torch.device("cpu"), 0, enc.pad_id)
    first, last = sum(out["losses"][:3]) / 3, sum(out["losses"][-3:]) / 3
    return first, last, out["losses"]


@pytest.mark.parametrize("name,n,factor", [
    ("sst2", 16, 0.2), ("anli", 12, 0.2), ("hellaswag", 8, 0.2), ("squad_v2", 8, 0.2), ("ccg", 8, 0.2),
    ("mlm", 16, 0.5),
])
def test_each_head_overfits(registry, tiny_factory, tmp_path, name, n, factor):
    torch.manual_seed(0)
    first, last, losses = _overfit(registry, tiny_factory(), name, tmp_path, n)
    assert last < factor * first, (name, losses[:3], losses[-3:])


# --- static MLM masking --------------------------------------------------------------------------------------------


def test_mask_tokens_exact():
    ids = list(range(100, 122))  # 22 pieces, the first and last special
    special = [1] + [0] * 20 + [1]
    inputs, labels = mask_tokens(ids, special, mask_id=4, vocab_size=50, seed="x")
    chosen = [i for i, y in enumerate(labels) if y != -100]
    assert len(chosen) == 3  # round(0.15 * 20)
    assert 0 not in chosen and 21 not in chosen
    assert all(labels[i] == ids[i] for i in chosen)
    assert all(inputs[i] == ids[i] for i in range(22) if i not in chosen)
    assert (inputs, labels) == mask_tokens(ids, special, 4, 50, seed="x")  # static, seeded by id
    assert mask_tokens([1, 2], [1, 1], 4, 50, "y") == ([1, 2], [-100, -100])
    # one masked piece at least, even in a two-piece sentence
    assert sum(y != -100 for y in mask_tokens([0, 7, 8, 2], [1, 0, 0, 1], 4, 50, "z")[1]) == 1
    # BERT's 80/10/10 split over many draws
    rng_outcomes = {"mask": 0, "random_or_keep": 0}
    for k in range(400):
        inp, lab = mask_tokens(ids, special, 4, 50, seed=str(k))
        for i, y in enumerate(lab):
            if y != -100:
                rng_outcomes["mask" if inp[i] == 4 else "random_or_keep"] += 1
    share = rng_outcomes["mask"] / sum(rng_outcomes.values())
    assert 0.74 < share < 0.86


def test_mlm_loader_languages(registry, tmp_path):
    (tmp_path / "de.txt").write_text("Hallo Welt\n\nGuten Tag\n")
    (tmp_path / "sw.txt").write_text("Habari\n")
    task = registry.task("mlm")
    exs = task.load(split="train", language="multi", data_dir=tmp_path)
    assert [(e["id"], e["language"], e["text"]) for e in exs] == [
        ("de-0", "de", "Hallo Welt"), ("de-2", "de", "Guten Tag"), ("sw-0", "sw", "Habari")]
    assert len(task.load(split="train", language="sw", data_dir=tmp_path)) == 1


# --- exemptions and config -----------------------------------------------------------------------------------------


def _base(tmp_path, inter) -> dict:
    return {"name": "x", "output_dir": str(tmp_path / "out"), "models": ["tiny-xlmr"], "intermediate": inter,
            "targets": [{"name": "xnli", "languages": ["en"]}], "data": {"xnli": "synthetic", "mnli": "synthetic",
                                                                         "mlm": "synthetic"}}


def test_exemption_rules(tmp_path):
    from harness.planning.plan import build_plan

    with pytest.raises(ConfigError, match="exemption 'mlm' is not one of multilingual-mlm, translate-train"):
        parse_config(_base(tmp_path, [{"name": "m", "tasks": ["mnli"], "exemptions": ["mlm"]}]))
    with pytest.raises(ConfigError, match=r"declare exemptions: \[translate-train\]"):
        parse_config(_base(tmp_path, [{"name": "m", "tasks": ["mnli"], "translated": {"mnli": {"de": "x"}}}]))
    with pytest.raises(ConfigError, match="'en' is the original data"):
        parse_config(_base(tmp_path, [{"name": "m", "tasks": ["mnli"], "exemptions": ["translate-train"],
                                       "translated": {"mnli": {"en": "x"}}}]))
    with pytest.raises(ConfigError, match=r"declare exemptions: \[multilingual-mlm\]"):
        build_plan(parse_config(_base(tmp_path, [{"name": "mnli+mlm", "tasks": ["mnli", "mlm"]}])))
    with pytest.raises(ConfigError, match="translated.mnli.de: folder"):
        build_plan(parse_config(_base(tmp_path, [{"name": "m", "tasks": ["mnli"], "exemptions": ["translate-train"],
                                                  "translated": {"mnli": {"de": str(tmp_path / "nope")}}}])))


def test_per_model_and_per_task_hyperparameters(tmp_path):
    from harness.planning.plan import build_plan

    cfg = _base(tmp_path, ["none", "squad_v2"])
    cfg["models"] = [{"name": "tiny-xlmr", "train": {"lr": 5e-4}}, "tiny-xlmr-large"]
    cfg["data"]["squad_v2"] = "synthetic"
    plan = build_plan(parse_config(cfg))
    inter = {n.params["model"]["name"]: n.params["hp"]["squad_v2"] for n in plan.by_stage("intermediate")}
    assert inter["tiny-xlmr"]["lr"] == 5e-4 and inter["tiny-xlmr-large"]["lr"] == 1e-5
    # the paper's QA recipe comes from the task's defaults
    assert inter["tiny-xlmr-large"]["batch_size"] == 16 and inter["tiny-xlmr-large"]["max_length"] == 384
    target = {n.params["model"]["name"]: n.params["hp"] for n in plan.by_stage("target")}
    assert target["tiny-xlmr"]["lr"] == 5e-4 and target["tiny-xlmr-large"]["max_length"] == 128  # xnli's own


def test_translate_train_and_mlm_mix_run(tmp_path):
    """A translate-train setting and an MNLI+MLM mix train; rows record exemptions and the intermediate budget."""
    from harness.core.rows import read_jsonl
    from harness.orchestration.scheduler import run_plan
    from harness.planning.plan import build_plan
    from harness.run.context import Context
    from harness.toolkit.synthetic import nli_rows

    de = tmp_path / "mnli-de"
    de.mkdir()
    header = "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label"
    rows = [f"{i}\t{i}\t{i}d\tsynthetic\t\t\t\t\t{p}\t{h}\t{y}\t{y}" for i, (p, h, y) in
            enumerate(nli_rows(30, 7, ("de",))["de"])]
    (de / "train.tsv").write_text("\n".join([header, *rows]) + "\n")
    cfg = _base(tmp_path, [
        {"name": "mnli-tt", "tasks": ["mnli"], "exemptions": ["translate-train"], "translated": {"mnli": {"de": str(de)}}},
        {"name": "mnli+mlm", "tasks": ["mnli", "mlm"], "sampling": "uniform", "exemptions": ["multilingual-mlm"]},
    ])
    cfg.update({"train": {"lr": 1e-3, "batch_size": 8, "max_steps": 6, "max_length": 32}, "device": "cpu"})
    plan = build_plan(parse_config(cfg))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name="x", config_hash=plan.config_hash)
    assert run_plan(plan, ctx).ok
    rows = {r["intermediate"]: r for r in read_jsonl(plan.leaderboard)}
    assert rows["mnli-tt"]["exemptions"] == ["translate-train"]
    assert rows["mnli+mlm"]["exemptions"] == ["multilingual-mlm"]
    assert rows["mnli-tt"]["budget"]["intermediate_n_train"] == {"mnli": 320 + 30}
    assert rows["mnli+mlm"]["budget"]["intermediate_steps"] == 6
    assert sum(rows["mnli+mlm"]["budget"]["intermediate_task_steps"].values()) == 6
    assert rows["mnli+mlm"]["budget"]["target_steps"] == 6


@pytest.mark.slow
def test_ccg_open_tag_set_and_squad_mix_run_in_the_stage(tmp_path):
    """The intermediate stage sizes CCG's head from the training tags and trains it beside SQuAD v2.0."""
    import json

    from harness.orchestration.scheduler import run_plan
    from harness.planning.plan import build_plan
    from harness.run.context import Context

    cfg = _base(tmp_path, [{"name": "ccg+squad", "tasks": ["ccg", "squad_v2"], "sampling": "uniform"}])
    cfg["data"].update(ccg="synthetic", squad_v2="synthetic")
    cfg.update({"train": {"lr": 1e-3, "batch_size": 8, "max_steps": 4, "max_length": 64}, "device": "cpu"})
    plan = build_plan(parse_config(cfg))
    ctx = Context(cache_dir=plan.cache_dir, device="cpu", config_name="x", config_hash=plan.config_hash)
    assert run_plan(plan, ctx).ok
    (inter,) = plan.by_stage("intermediate")
    summary = json.loads((ctx.node_dir(inter.key) / "train_summary.json").read_text())
    assert summary["steps"] == 4 and set(summary["task_steps"]) == {"ccg", "squad_v2"}
    assert summary["n_train"]["ccg"] == 60  # one feature per short synthetic sentence
