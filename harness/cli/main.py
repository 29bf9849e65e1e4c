"""The ``harness`` command line: plugins, models, tasks, matrix plan|run, leaderboard, score, retrieve."""

from __future__ import annotations

import importlib
from dataclasses import asdict

import click
from rich.table import Table

from harness import __version__
from harness.cli.console import console, emit_json, err_console, esc, fail, warn_broken  # noqa: F401 - re-exported

# Command groups that live in their own modules, imported only when invoked (keeps start-up fast).
LAZY_COMMANDS = {
    "leaderboard": "harness.cli.leaderboard:leaderboard",
    "score": "harness.cli.score:score",
    "retrieve": "harness.cli.retrieve:retrieve",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            module, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """xlt-harness: English intermediate-task training × zero-shot cross-lingual transfer × model scale."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins(as_json: bool) -> None:
    """List discovered plugins, the package that provides each, and the hooks they implement."""
    from harness.core.registry import list_plugins, registry

    infos = list_plugins()
    reg = registry()
    contributed: dict[str, list[str]] = {}
    for (kind, name), plugin in reg.origin.items():
        contributed.setdefault(plugin, []).append(f"{kind}:{name}")
    if as_json:  # broken plugins are rows with an "error"
        emit_json([{**asdict(p), "contributes": sorted(contributed.get(p.name, []))} for p in infos])
        return
    table = Table("plugin", "package", "version", "contributes")
    for p in infos:
        if p.error is None:
            table.add_row(*esc(p.name, p.package or "-", p.version or "-",
                               ", ".join(sorted(contributed.get(p.name, [])))))
    console.print(table)
    warn_broken()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--describe", is_flag=True, help="compute parameter counts from configs (may need the hub)")
@click.option("--memory", default=None, metavar="BxL[:PREC][:ckpt]",
              help="estimated training memory per GPU at this setting, e.g. 32x256:bf16 (implies --describe)")
def models(as_json: bool, describe: bool, memory: str | None) -> None:
    """List registered models and model families."""
    from harness.core.registry import registry
    from harness.toolkit.units import fmt_params

    reg = registry()
    warn_broken()
    if memory is not None:
        from harness.modeling.memory import estimate_for_hp, parse_setting

        try:
            memory_hp = parse_setting(memory)
        except ValueError as err:
            fail(str(err))
        describe = True
    rows = []
    for name, spec in sorted(reg.models.items()):
        row = {k: v for k, v in asdict(spec).items()}
        row["plugin"] = reg.origin[("model", name)]
        if describe:
            from harness.modeling.meta import describe as describe_model

            row.update({k: v for k, v in describe_model(spec).items() if v is not None})
            if memory is not None:
                try:
                    row["train_memory_gib"] = round(estimate_for_hp(row, memory_hp).total_gb, 2)
                except ValueError:
                    row["train_memory_gib"] = None
        rows.append(row)
    families = [{"name": f.name, "description": f.description, "plugin": reg.origin[("model family", f.name)]}
                for f in reg.families.values()]
    if as_json:
        emit_json({"models": rows, "families": families})
        return
    table = Table("model", "family", "source", "params", "layers", "hidden", "plugin",
                  *([f"train GiB @{memory}"] if memory else []))
    for r in rows:
        params = fmt_params(r.get("params"))
        mem = [f"{r['train_memory_gib']:,.1f}" if r.get("train_memory_gib") else "-"] if memory else []
        table.add_row(*esc(r["name"], r["family"], r["source"], params, r.get("layers") or "-",
                           r.get("hidden") or "-", r["plugin"], *mem))
    console.print(table)
    console.print("families: " + ", ".join(f"{f['name']} ({f['plugin']})" for f in families), markup=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def tasks(as_json: bool) -> None:
    """List registered tasks with their kind, roles, languages (with --json, each one's ISO 639-3 + script code
    too: ja → jpn_Jpan) and metrics."""
    from harness.core.languages import iso_code
    from harness.core.registry import registry

    reg = registry()
    warn_broken()
    rows = []
    for name, task in sorted(reg.tasks.items()):
        row = asdict(task.spec)
        # each language's ISO 639-3 + script (FLORES-200) code beside the task's own (null: not in the table)
        row["language_codes"] = {lang: iso_code(lang) for lang in task.spec.languages}
        row["plugin"] = reg.origin[("task", name)]
        rows.append(row)
    if as_json:
        emit_json(rows)
        return
    table = Table("task", "version", "kind", "roles", "languages", "metrics", "plugin")
    for r in rows:
        langs = r["languages"]
        table.add_row(*esc(r["name"], r["version"], r["kind"], ",".join(r["roles"]),
                           f"{len(langs)}: " + ",".join(langs[:8]) + ("…" if len(langs) > 8 else ""),
                           ",".join(r["metrics"]), r["plugin"]))
    console.print(table)


from harness.cli import matrix_store  # noqa: E402,F401 - registers matrix status|prune
from harness.cli.matrix import matrix, plan_summary  # noqa: E402,F401 - the matrix group; plan_summary re-exported

main.add_command(matrix)


if __name__ == "__main__":  # pragma: no cover
    main()
