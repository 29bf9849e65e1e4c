"""The online preflight: before any node runs, ask the hub whether everything the plan will read is there.

For every node of a plan it collects what will be read from the hub — each model at its locked revision (config,
tokenizer and a weights file the harness may load: :func:`harness.toolkit.weights.choose_weights`) and each hub
dataset read a task's loader makes (recorded without downloading: :func:`harness.toolkit.data.recording_hub_reads`,
so helper datasets are covered) — and checks them through ``huggingface_hub`` at the locked shas: the repo and
revision exist and are not gated; a dataset read by config name holds no loading script (``datasets`` >= 4 refuses
``ID.py``), declares the config (the card's ``configs:``) or has its folder, and has files for the split; a read of
``data_files`` matches files. Auxiliary files come last: the FLORES-200 SentencePiece model spBLEU needs (fetched
here through sacrebleu's own download when the hub is online). Every problem goes into one :class:`Report`
(repo, revision, what is missing, the fix) instead of failing one node after another. Offline it lists what it
could not check. Nothing here imports torch.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.registry import registry
from harness.core.specs import ModelSpec
from harness.toolkit.data import DataMissing, SplitRef, pinned_source, recording_hub_reads
from harness.toolkit.weights import WeightsRefused, choose_weights

TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "sentencepiece.bpe.model", "vocab.txt", "vocab.json",
                   "tokenizer.model")
# sacrebleu's own address for the FLORES-200 model (sacrebleu/tokenizers/tokenizer_spm.py) answers scripted clients
# with a redirect page at times; the file it points to is tried next (docs/hub-sources.md: not confirmed offline).
SPM_FALLBACK_URL = "https://dl.fbaipublicfiles.com/large_objects/nllb/models/spm_200/flores200_sacrebleu_tokenizer_spm.model"


@dataclass
class Problem:
    """One thing a node would fail on: where (repo@revision, task, model), what is missing, the fix."""

    where: str
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.where}: {self.what}; {self.fix}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"ok: {c}" for c in self.checked]
        out += [f"not checked: {u}" for u in self.unchecked]
        out += [f"problem: {p.line()}" for p in self.problems]
        return out


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.is_offline_mode()) or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in (
        "1", "true", "yes", "on")


def _reads(plan) -> tuple[dict[str, ModelSpec], list[tuple[dict, str, str]]]:
    """The plan's hub models (by name) and its (task info, split, language) reads, each once."""
    models: dict[str, ModelSpec] = {}
    reads: dict[tuple[str, str, str], tuple[dict, str, str]] = {}
    reg = registry()

    def add(info: dict, split: str | None, language: str) -> None:
        if split and info["data"]["kind"] == "hub":
            name = SplitRef.parse(split).name
            reads.setdefault((info["name"], name, language), (info, name, language))

    for node in plan.nodes.values():
        p = node.params
        models.setdefault(p["model"]["name"], ModelSpec(**p["model"]))
        if node.stage == "intermediate":
            for t in p["tasks"]:
                spec = reg.task(t["name"]).spec
                add(t, t.get("train_split") or spec.train_split, spec.train_language)
                add(t, t.get("dev_split") or spec.select_split, spec.train_language)
        elif node.stage == "target":
            spec = reg.task(p["task"]["name"]).spec
            add(p["task"], p["train_split"], spec.train_language)
            add(p["task"], p["select_split"], spec.train_language)
        elif node.stage == "eval":
            for s in p["splits"]:
                add(p["task"], s, p["language"])
    return models, list(reads.values())


def _is_hub_model(spec: ModelSpec) -> bool:
    return not (spec.source.startswith(("local:", "/", "~", ".")) or Path(spec.source).expanduser().exists())


def check_plan(plan, offline: bool | None = None, endpoint: str | None = None, fetch_spm: bool = True) -> Report:
    """Check everything ``plan`` will read from the hub (and the auxiliary files its metrics need); one report."""
    offline = _offline() if offline is None else offline
    report = Report()
    models, reads = _reads(plan)
    hub_reads: dict[tuple, list[str]] = {}
    for info, split, language in reads:
        task = registry().task(info["name"])
        where = f"task {info['name']} · split {split} · language {language}"
        with pinned_source(info["data"]), recording_hub_reads() as got:
            try:
                task.load(split=split, language=language, data_dir=None)
            except DataMissing as err:  # the loader itself knows the hub copy lacks it (e.g. an XTREME-R language)
                report.problems.append(Problem(where, str(err).split(". ")[0],
                                               f"point data.{info['name']} at a folder of its files"))
            except Exception:  # noqa: BLE001 - a loader post-processing the empty rows of a recorded read
                pass
        for r in got:
            hub_reads.setdefault((r["dataset"], r["name"], r["split"], r["revision"], r["data_files"]), []).append(
                info["name"])
    api = None
    if offline:
        for (ds, name, split, rev, _files), _tasks in hub_reads.items():
            report.unchecked.append(f"dataset {ds}{f' ({name})' if name else ''} split {split} at {rev or 'main'} "
                                    "(hub offline: HF_HUB_OFFLINE or --offline)")
        for spec in models.values():
            if _is_hub_model(spec):
                report.unchecked.append(f"model {spec.name}: {spec.source}@{spec.revision} (hub offline)")
    else:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint)
        listing: dict[tuple[str, str, str | None], Any] = {}
        for key, tasks in hub_reads.items():
            _check_dataset(api, key, tasks, listing, report)
        for spec in models.values():
            if _is_hub_model(spec):
                _check_model(api, spec, report)
    _check_spm(plan, offline, report, fetch_spm)
    return report


def _repo_files(api, kind: str, repo: str, rev: str | None, listing: dict) -> tuple[str | None, list[str]] | str:
    """(sha, files) of a repo at ``rev``, or the one-line reason it cannot be listed."""
    key = (kind, repo, rev)
    if key not in listing:
        try:
            info = (api.dataset_info if kind == "dataset" else api.model_info)(repo, revision=rev)
            listing[key] = (info.sha, [s.rfilename for s in info.siblings or []])
        except Exception as err:  # noqa: BLE001 - unknown repo, revision, gated, network: reported, not raised
            listing[key] = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
    return listing[key]


def _card_configs(api, repo: str, sha: str, endpoint_files: list[str]) -> list[dict] | None:
    """The ``configs:`` of a dataset card's YAML header (None: no card or no such key)."""
    if "README.md" not in endpoint_files:
        return None
    import yaml

    try:
        path = api.hf_hub_download(repo, "README.md", repo_type="dataset", revision=sha)
        text = Path(path).read_text(encoding="utf-8")
    except Exception:  # noqa: BLE001
        return None
    if not text.startswith("---"):
        return None
    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return None
    configs = meta.get("configs") if isinstance(meta, dict) else None
    return configs if isinstance(configs, list) else None


def _check_dataset(api, key: tuple, tasks: list[str], listing: dict, report: Report) -> None:
    ds, name, split, rev, data_files = key
    where = f"dataset {ds}@{rev or 'main'}" + (f" ({name})" if name else "") + f" for {', '.join(sorted(set(tasks)))}"
    fix = f"point data.{tasks[0]} at a folder of its files, or pin a revision that has them"
    got = _repo_files(api, "dataset", ds, rev, listing)
    if isinstance(got, str):
        report.problems.append(Problem(where, f"cannot be listed ({got})", fix))
        return
    sha, files = got
    if data_files is not None:
        if not any(fnmatch.fnmatch(f, data_files) for f in files):
            report.problems.append(Problem(where, f"no file matches {data_files} at {sha}", fix))
        else:
            report.checked.append(f"{where}: {data_files}")
        return
    script = ds.split("/")[-1] + ".py"
    if script in files:
        report.problems.append(Problem(
            where, f"holds a loading script ({script}) at {sha}, which datasets >= 4 refuses",
            "read its Parquet conversion (refs/convert/parquet, a converted commit's data files, or a copy in "
            "another repo) pinned to a sha"))
        return
    configs = _card_configs(api, ds, sha, files)
    if configs is not None:
        by_name = {c.get("config_name"): c for c in configs if isinstance(c, dict)}
        if name is None and "default" not in by_name:  # datasets picks the card's default, or its only config
            marked = [n for n, c in by_name.items() if c.get("default")]
            name = marked[0] if marked else (next(iter(by_name)) if len(by_name) == 1 else None)
        conf = by_name.get(name or "default")
        if conf is None:
            report.problems.append(Problem(where, f"has no config {name or 'default'!r} at {sha} (configs: "
                                           f"{', '.join(sorted(map(str, by_name))[:8])}…)", fix))
            return
        entries = conf.get("data_files") or []
        paths = [e.get("path") for e in entries if isinstance(e, dict) and e.get("split") == split]
        if entries and not paths:
            report.problems.append(Problem(where, f"config {name!r} has no split {split!r} at {sha}", fix))
            return
        pats = [p for ps in paths for p in ([ps] if isinstance(ps, str) else ps)]
        if pats and not any(fnmatch.fnmatch(f, p) for f in files for p in pats):
            report.problems.append(Problem(where, f"no file matches {', '.join(pats)} at {sha}", fix))
            return
    elif name and not any(f.startswith(name + "/") for f in files):
        report.problems.append(Problem(where, f"has no folder {name}/ and no card configs at {sha}", fix))
        return
    report.checked.append(f"{where}: split {split}")


def _check_model(api, spec: ModelSpec, report: Report) -> None:
    where = f"model {spec.name} ({spec.source}@{spec.revision or 'main'})"
    got = _repo_files(api, "model", spec.source, spec.revision, {})
    if isinstance(got, str):
        report.problems.append(Problem(where, f"cannot be listed ({got})",
                                       "check the id and revision, or set the model's source to a local folder"))
        return
    sha, files = got
    expect = spec.options.get("expect_commit")
    if expect and not str(sha).startswith(str(expect)):
        report.problems.append(Problem(where, f"resolved to {sha}, not the audited commit {expect}…",
                                       "check the branch on the hub and pin the commit you mean"))
    names = {f.rsplit("/", 1)[-1] for f in files}
    if "config.json" not in names:
        report.problems.append(Problem(where, f"has no config.json at {sha}", "pin a revision that has it"))
    if not names & set(TOKENIZER_FILES):
        report.problems.append(Problem(where, f"has no tokenizer file ({', '.join(TOKENIZER_FILES)}) at {sha}",
                                       "pin a revision that has one"))
    try:
        fmt, _ = choose_weights(spec, files)
    except WeightsRefused as err:
        report.problems.append(Problem(where, str(err).split(": ", 1)[-1].split("; ")[0],
                                       str(err).split("; ", 1)[-1]))
        return
    report.checked.append(f"{where}: {fmt} weights at {sha}")


def _check_spm(plan, offline: bool, report: Report, fetch: bool) -> None:
    """The FLORES-200 SentencePiece model, when a task of the plan scores spBLEU."""
    reg = registry()
    tasks = sorted({n.params["task"]["name"] for n in plan.nodes.values() if n.stage == "eval"
                    and "spbleu" in reg.task(n.params["task"]["name"]).spec.metrics})
    if not tasks:
        return
    from harness.metrics.mt import SpmMissing, resolve_spm, sacrebleu_cache_model

    opt = next((n.params.get("options", {}).get("spm_model") for n in plan.nodes.values()
                if n.stage == "eval" and n.params.get("options", {}).get("spm_model")), None)
    where = f"FLORES-200 SentencePiece model (spBLEU of {', '.join(tasks)})"
    try:
        path, origin = resolve_spm(opt)
        report.checked.append(f"{where}: {path} ({origin})")
        return
    except SpmMissing as err:
        missing = str(err)
    if offline or not fetch:
        report.problems.append(Problem(where, missing.split(";")[0] + " and it cannot be fetched offline",
                                       "run `harness matrix check CONFIG` once online, or set XLT_FLORES200_SPM"))
        return
    target = sacrebleu_cache_model()
    error = fetch_spm(target)
    if error:
        report.problems.append(Problem(where, f"download failed ({error})",
                                       f"download it by hand to {target} or set XLT_FLORES200_SPM"))
    else:
        report.checked.append(f"{where}: downloaded to {target}")


def fetch_spm(target: Path) -> str | None:
    """Download the FLORES-200 model to ``target``: sacrebleu's own download first, then the direct address; None
    on success, else the reason."""
    reasons = []
    try:
        from sacrebleu.tokenizers.tokenizer_spm import SPM_MODELS
        from sacrebleu.utils import download_file

        target.parent.mkdir(parents=True, exist_ok=True)
        download_file(SPM_MODELS["flores200"]["url"], str(target))
        if target.is_file() and target.stat().st_size > 100_000:
            return None
        reasons.append("sacrebleu's address gave no model")
    except Exception as err:  # noqa: BLE001
        reasons.append(f"sacrebleu: {type(err).__name__}: {err}")
    try:
        import urllib.request

        tmp = target.with_suffix(".part")
        urllib.request.urlretrieve(SPM_FALLBACK_URL, tmp)  # noqa: S310 - a fixed https address
        os.replace(tmp, target)
        return None
    except Exception as err:  # noqa: BLE001
        reasons.append(f"{SPM_FALLBACK_URL}: {type(err).__name__}: {err}")
    return "; ".join(reasons)
