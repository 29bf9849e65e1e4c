"""``mlm``: continued masked-LM on user-supplied multilingual text, mixed into intermediate training (a baseline).

Phang et al. (2020) compare English intermediate training with and without continued multilingual MLM mixed in.
Point ``data.mlm`` at a folder of plain-text files, one passage per line, named by language: ``de.txt``,
``sw.txt``, ``en.txt`` … (a ``train/`` sub-folder is read instead when present). Blank lines are skipped. Each
example is tagged with the language of its file, so the zero-shot guard sees non-English text: an intermediate
setting that uses this task must declare ``exemptions: [multilingual-mlm]``, which every row then records.

The ``language`` argument of ``load`` selects one file; ``multi`` (the task's training language) reads them all,
in sorted file order. Example:

```yaml
intermediate:
  - none
  - {name: mnli+mlm, tasks: [mnli, mlm], sampling: uniform, exemptions: [multilingual-mlm]}
data: {mnli: ~/data/mnli, mlm: ~/data/wiki-sample}
```
"""

from __future__ import annotations

from pathlib import Path

from harness.api import LEXICON, SYNTHETIC_NOTE, DataMissing, Task, TaskSpec, corpus, hookimpl

HOW = ("mlm reads plain-text files named by language (de.txt, sw.txt, ...; one passage per line) from the folder "
       "given as data.mlm; there is no hub copy.")

SPEC = TaskSpec(
    name="mlm", kind="mlm", roles=("intermediate",), languages=("multi",), train_language="multi",
    metrics=("mlm_loss",), version="1", eval_splits=(), select_split="train", data_help=HOW,
    description="Continued masked-LM on user-supplied multilingual text (intermediate-stage baseline; exemption)",
    citation="Phang et al. 2020 (intermediate training with MLM mixed in)",
    defaults={"lr": 1e-5, "batch_size": 32, "max_length": 128},
)


def load(split: str = "train", language: str = "multi", data_dir: Path | None = None) -> list[dict]:
    if data_dir is None:
        raise DataMissing(f"mlm: no data folder given. {HOW}")
    folder = Path(data_dir)
    if (folder / split).is_dir():
        folder = folder / split
    files = sorted(folder.glob("*.txt"))
    if language != "multi":
        files = [f for f in files if f.stem == language]
    if not files:
        raise DataMissing(f"mlm: no {'*' if language == 'multi' else language}.txt under {folder}. {HOW}")
    out = []
    for f in files:
        lines = [s.strip() for s in f.read_text(encoding="utf-8").splitlines()]
        out += [{"id": f"{f.stem}-{i}", "language": f.stem, "text": s} for i, s in enumerate(lines) if s]
    return out


def fixture(data_dir: Path) -> None:
    """SYNTHETIC text files, one per language of the smoke lexicon."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for lang in LEXICON:
        (data_dir / f"{lang}.txt").write_text("\n".join(corpus((lang,))[:48]) + "\n", encoding="utf-8")
    (data_dir / "SYNTHETIC.md").write_text(f"# {SYNTHETIC_NOTE}\nLayout: one plain-text file per language.\n")


@hookimpl
def register_tasks(register) -> None:
    register(Task(spec=SPEC, load=load, fixture=fixture))
