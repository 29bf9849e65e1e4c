"""What plugins contribute, as validated data: tasks, models and model families.

A task is a :class:`TaskSpec` (pure metadata, versioned: a behaviour change bumps ``version``) plus a loader
that turns a split of one language into a list of example dicts whose layout is fixed by the task's ``kind``
(see ``harness.tasktypes``). A model is a :class:`ModelSpec` that names the :class:`ModelFamily` able to
load it. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("intermediate", "target")
AVERAGES = ("unweighted", "size_weighted")
# How a task's test sets relate across languages (``TaskSpec.parallel``): ``""`` each language has its own items;
# ``items``: the same items translated into every language (an item's id, with the language code removed, is
# the same in every language: the bootstrap resamples items jointly across languages); ``english-side``: every
# language pairs its own sentences with English ones, which are not one shared set (resampled per language).
PARALLEL = ("", "items", "english-side")
# How a task's predictions are written in a benchmark's submission folder (one file per language):
# ``label``: one prediction per line (a list is tab-joined); ``tags``: one tag per line, a blank line between
# sentences; ``json``: ``{example id: prediction}`` (QA answers, ranked candidate ids); ``line_index``: per query
# line the line index of the retrieved sentence (the ``fwd`` neighbour of a two-way prediction); ``mined_pairs``:
# ``src<TAB>tgt`` per pair mined above the dev-chosen threshold; ``label_jsonl``: one ``{"label": x}`` JSON object
# per line (XTREME-R's XCOPA files).
EXPORT_LINES = ("label", "tags", "json", "line_index", "mined_pairs", "label_jsonl")


class SpecError(ValueError):
    """A plugin contributed an invalid spec."""


@dataclass(frozen=True)
class ExportLayout:
    """Where and how a task's predictions go in a benchmark's submission folder.

    ``file`` is a file name pattern with ``{language}``; ``folder`` defaults to the task name;
    ``lines`` is one of :data:`EXPORT_LINES`; ``languages``: the languages the benchmark's official script
    reads from the folder, in its order (empty: the task's own ``languages``).
    """

    lines: str
    file: str = "test-{language}.tsv"
    folder: str | None = None
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.lines not in EXPORT_LINES:
            raise SpecError(f"export lines {self.lines!r} is not one of {', '.join(EXPORT_LINES)}")
        if "{language}" not in self.file:
            raise SpecError(f"export file pattern {self.file!r} must contain {{language}}")


@dataclass(frozen=True)
class BenchmarkEntry:
    """How a task counts in one benchmark score (e.g. ``xtreme``, ``xtreme-r``).

    ``metrics``: the row metric names that give the task score, first present wins (the first must be one the
    task writes; later ones read older or published rows). A QA task also names ``em_metrics``: its score is then
    (F1 + EM) / 2 as the official ``evaluate.py`` reports it (an F1-only variant is reported beside it).
    Languages are averaged as the task's ``average`` says (XTREME: unweighted, English included), then tasks
    unweighted. ``position`` orders the benchmark's tasks as its official script lists them; ``export`` is the
    task's layout in the benchmark's submission folder (None: not exported).
    """

    category: str
    metrics: tuple[str, ...]
    em_metrics: tuple[str, ...] = ()
    position: int = 0
    export: ExportLayout | None = None

    @property
    def qa(self) -> bool:
        return bool(self.em_metrics)


@dataclass(frozen=True)
class TaskSpec:
    """Metadata of one task: everything a leaderboard row or a cache key needs to know about it.

    ``languages`` are the evaluation languages (``train_language`` is where training and checkpoint selection
    happen); ``metrics[0]`` is the main score; ``average`` says how languages are averaged (XTREME:
    unweighted, English reported apart); ``hf_dataset``/``hf_revision`` name the hub copy, ``data_help`` says
    where users get the official files. ``parallel`` says whether the test sets are translations of one
    another (:data:`PARALLEL`; a fact of the benchmark, from its paper). ``benchmarks`` says which benchmark scores include the task and how
    (:class:`BenchmarkEntry`); ``aliases`` are other names rows may give the task (published or older rows).
    """

    name: str
    kind: str
    roles: tuple[str, ...]
    languages: tuple[str, ...]
    metrics: tuple[str, ...]
    version: str = "1"
    train_language: str = "en"
    train_split: str = "train"
    select_split: str = "dev"
    eval_splits: tuple[str, ...] = ("test",)
    labels: tuple[str, ...] = ()
    average: str = "unweighted"
    hf_dataset: str | None = None
    hf_revision: str | None = None
    # other hub datasets the task's loader reads (English training sets, COPA, …): id -> revision (None: main),
    # resolved to a commit sha through the lock file like ``hf_dataset`` and recorded in rows (``data_helpers``)
    hf_helpers: dict[str, str | None] = field(default_factory=dict)
    data_help: str = ""
    description: str = ""
    citation: str = ""
    license: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    benchmarks: dict[str, BenchmarkEntry] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    parallel: str = ""
    # Declared size, for cost estimates before any data is downloaded (``harness.planning.cost``): examples per
    # split name (per language for evaluation splits), and the mean tokens the model encodes for one example (all
    # its choices for multiple choice; None: unknown). Built-in tasks cite their sizes; their mean tokens are
    # approximate (mean words per example in the source paper x ~1.3 subword tokens), not measured.
    sizes: dict[str, int] = field(default_factory=dict)
    mean_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.parallel not in PARALLEL:
            raise SpecError(f"task {self.name!r}: parallel {self.parallel!r} is not one of {PARALLEL}")
        if not isinstance(self.kind, str) or not self.kind:
            raise SpecError(f"task {self.name!r}: name its kind (a registered task type, see `harness plugins`)")
        bad = [r for r in self.roles if r not in ROLES]
        if bad or not self.roles:
            raise SpecError(f"task {self.name!r}: roles {self.roles!r} must be a non-empty subset of {ROLES}")
        if self.average not in AVERAGES:
            raise SpecError(f"task {self.name!r}: average {self.average!r} is not one of {AVERAGES}")
        if not self.metrics:
            raise SpecError(f"task {self.name!r}: declare at least one metric")
        # Retrieval targets are not trained, so their evaluation languages need not include the training language.
        if self.train_language not in self.languages and "target" in self.roles and self.kind != "retrieval":
            raise SpecError(f"task {self.name!r}: train_language {self.train_language!r} not in languages")
        for bench, entry in self.benchmarks.items():
            where = f"task {self.name!r}: benchmarks[{bench!r}]"
            if not isinstance(entry, BenchmarkEntry):
                raise SpecError(f"{where}: must be a harness.core.specs.BenchmarkEntry, not {type(entry).__name__}")
            if not bench or bench != bench.lower() or "_" in bench:
                raise SpecError(f"{where}: name benchmarks in lower case with '-', e.g. 'xtreme-r'")
            if not entry.category or not entry.metrics:
                raise SpecError(f"{where}: give a category and at least one metric name")
            for first in (entry.metrics[0], *entry.em_metrics[:1]):
                if first not in self.metrics:
                    raise SpecError(f"{where}: metric {first!r} is not one this task writes "
                                    f"({', '.join(self.metrics)}); list the task's own metric name first")

    @property
    def main_metric(self) -> str:
        return self.metrics[0]


Loader = Callable[..., list[dict]]
Scorer = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class Task:
    """A task a plugin registers: its spec, a loader and (optionally) its own scorer.

    ``load(split=..., language=..., data_dir=Path | None) -> list[dict]`` reads local official-format files
    under ``data_dir`` (or, when ``data_dir`` is None and the spec names one, the Hugging Face dataset) and must
    raise :class:`harness.toolkit.data.DataMissing` naming the path and how to get it. ``score(examples=...,
    predictions=..., language=...) -> {metric: value}`` defaults to the kind's scorer over ``spec.metrics``.
    ``fixture(data_dir=Path)`` optionally writes small synthetic files in the official layout (for tests and
    the quickstart; labelled synthetic).

    What ``harness score`` reads, declared here (the core never looks a task's module up by name):
    ``read_file(path, language, split=None) -> list[dict]`` reads one gold file in any of the task's layouts
    (None: ``load`` on the file's folder); ``read_predictions(path, examples, language) -> list | None`` reads
    a predictions file in the benchmark's own layout, in example order (None, or returning None: the generic
    readers, matched by id).
    """

    spec: TaskSpec
    load: Loader
    score: Scorer | None = None
    fixture: Callable[..., None] | None = None
    read_file: Callable[..., list[dict]] | None = None
    read_predictions: Callable[..., list | None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Metric:
    """A metric a plugin registers (``register_metrics``): how a value is computed, labelled and resampled.

    ``score(golds, predictions, **context) -> float | Value`` is the corpus scorer tasks call (None: the task
    type computes the value itself, e.g. BUCC mining, and the record names and resamples it). ``signature`` goes
    into each row's signature: what the number is bit-compatible with (e.g. ``seqeval-0.0.12-semantics-micro``).

    How ``leaderboard report`` resamples it (the first that applies, each checked against the row value):
    ``per_example(gold, prediction)`` gives one example's score, and the corpus value is their mean; or it gives
    a tuple of counts and ``aggregate(sums)`` maps the counts summed over a sample, an ``(B, k)`` array, to
    ``(B,)`` values (micro F1 from true positives, predicted and gold chunks); or ``resample(lines)`` builds,
    from a predictions file's lines, an object with ``ids`` and ``values(weights) -> (B,)`` for ``(B, n)``
    example multiplicities (a threshold re-chosen on every resample). With none of them, the report re-scores
    ``score`` one example at a time and uses that when it averages back to the value.
    """

    name: str
    signature: str
    score: Callable[..., Any] | None = None
    per_example: Callable[[Any, Any], Any] | None = None
    aggregate: Callable[[Any], Any] | None = None
    resample: Callable[[list[dict]], Any] | None = None
    higher_is_better: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if not self.signature:
            raise SpecError(f"metric {self.name!r}: give a signature (what the value is bit-compatible with)")
        if self.aggregate is not None and self.per_example is None:
            raise SpecError(f"metric {self.name!r}: aggregate combines per_example counts; give per_example too")


@dataclass(frozen=True)
class ModelSpec:
    """A named model: which family loads it, from where (hub id or local path) and what it is.

    Parameter counts may be filled by the family's ``describe`` from the config alone (no weights).
    ``trust_remote_code`` stays False unless a user opts in for this model.
    """

    name: str
    family: str
    source: str
    revision: str | None = None
    trust_remote_code: bool = False
    params: int | None = None
    params_nonembed: int | None = None
    layers: int | None = None
    hidden: int | None = None
    vocab: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # The registered tiny model of the same architecture that replaces this one under `--models-as tiny`
    # (harness.planning.standins); None: a model of the same family that names one lends its own.
    stand_in: str | None = None

    def with_overrides(self, **changes: Any) -> ModelSpec:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data.update(changes)
        return ModelSpec(**data)


@dataclass(frozen=True)
class ModelFamily:
    """How to load and describe an architecture.

    ``load(spec, seed=int) -> harness.modeling.encoder.Encoder`` returns the encoder module and its tokenizer;
    ``describe(spec) -> dict`` returns metadata (params, params_nonembed, layers, hidden, vocab) computed
    from the config without weights; ``save_tokenizer`` is handled by the core through the tokenizer object.
    ``needs_source``: whether a config's new model of this family must give ``source`` (False for a family
    that builds its models locally; the source then defaults to ``local:FAMILY``).
    ``any_folder``: the family loads any local Hugging Face model folder (used for a bare folder path given on
    the command line).
    ``prompted`` families (decoder-only LLMs) are k-shot prompted on generation tasks, never fine-tuned there.
    ``depth``: the family can keep only the first k transformer layers (a config's ``depth``; the spec then
    carries ``options["depth"]``, see :func:`depth_ablation`).
    """

    name: str
    load: Callable[..., Any]
    describe: Callable[[ModelSpec], dict[str, Any]] | None = None
    description: str = ""
    needs_source: bool = True
    any_folder: bool = False
    prompted: bool = False
    depth: bool = False


def depth_ablation(spec: ModelSpec, layers: int) -> ModelSpec:
    """``spec`` cut to its first ``layers`` transformer layers: a depth ablation of one model, named
    ``NAME@L<layers>``, with its parameter counts left to the family's ``describe`` (they shrink with depth) and
    ``options["depth"]`` = ``{layers, of, of_layers, axis}`` (recorded in every row; the report's x-axis)."""
    if spec.layers is not None and layers > spec.layers:
        raise SpecError(f"model {spec.name!r}: depth {layers} exceeds its {spec.layers} layers")
    depth = {"layers": layers, "of": spec.name, "of_layers": spec.layers,
             "axis": f"depth (layers of {spec.name})"}
    return spec.with_overrides(name=f"{spec.name}@L{layers}", layers=layers, params=None, params_nonembed=None,
                               options={**spec.options, "depth": depth})


def resolve_path(p: str | Path | None, base: Path | None = None) -> Path | None:
    """Expand ``~`` and make ``p`` absolute relative to ``base`` (the config file's folder)."""
    if p is None:
        return None
    path = Path(p).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return path
