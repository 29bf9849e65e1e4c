"""Plugin discovery and the registries built from it.

Plugins come from the ``xlt_harness`` entry-point group (built-ins included). ``XLT_HARNESS_DISABLE_AUTOLOAD=1``
switches entry-point loading off (tests then register plugin modules by hand with :func:`register_module`);
``XLT_HARNESS_BLOCK=name1,name2`` blocks named plugins.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from . import __version__, hookspecs
from .specs import ModelFamily, ModelSpec, SpecError, Task

_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
# plugin name -> (distribution name, version) for entry-point plugins; plugin name -> error for broken ones
_sources: dict[str, tuple[str, str]] = {}
load_errors: dict[str, str] = {}
# The core's own hook implementations (task types, the local executor), registered before any entry point.
BUILTIN_PLUGINS = ("harness.tasktypes", "harness.local_executor")


class UnknownName(KeyError):
    """A name that no installed plugin provides; the message lists what is installed."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def unknown(kind: str, name: str, known: list[str]) -> UnknownName:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return UnknownName(f"unknown {kind} {name!r}.{hint} Installed: {', '.join(sorted(known)) or '(none)'}")


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded once."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        for name in BUILTIN_PLUGINS:  # loaded by name, like entry points: those modules use the registry
            pm.register(importlib.import_module(name), name=name)
        for blocked in filter(None, os.environ.get("XLT_HARNESS_BLOCK", "").split(",")):
            pm.set_blocked(blocked.strip())
        if os.environ.get("XLT_HARNESS_DISABLE_AUTOLOAD") != "1":
            _load_entry_points(pm)
        _pm = pm
    return _pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every ``xlt_harness`` entry point; a plugin that fails to import is reported, not fatal."""
    for ep in md.entry_points(group=hookspecs.PROJECT):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as err:  # a broken third-party plugin must not take the CLI down
            load_errors[ep.name] = f"{type(err).__name__}: {err}"
            warnings.warn(f"xlt-harness plugin {ep.name!r} ({ep.value}) failed to load: {err}", stacklevel=2)
            continue
        pm.register(plugin, name=ep.name)
        if ep.dist is not None:
            _sources[ep.name] = (ep.dist.metadata["name"], ep.dist.version)


def register_module(module: Any, name: str | None = None) -> None:
    """Register a plugin module or object by hand (tests, notebooks) and rebuild the registries."""
    global _registry
    get_plugin_manager().register(module, name=name)
    _registry = None


def reset() -> None:
    """Forget the plugin manager and registries (tests)."""
    global _pm, _registry
    _pm, _registry = None, None


@dataclass
class PluginInfo:
    name: str
    package: str | None
    version: str | None
    hooks: list[str]


def list_plugins() -> list[PluginInfo]:
    """Every registered plugin with the distribution that provides it and the hooks it implements."""
    pm = get_plugin_manager()
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        package, version = _sources.get(name, (None, None))
        if name.startswith("harness."):  # the core's own hook implementations
            package, version = "xlt-harness", __version__
        hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        out.append(PluginInfo(name=name, package=package, version=version, hooks=hooks))
    return sorted(out, key=lambda p: p.name)


class Registry:
    """Models, model families, tasks, task types and executors contributed by all plugins."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.models: dict[str, ModelSpec] = {}
        self.families: dict[str, ModelFamily] = {}
        self.tasks: dict[str, Task] = {}
        self.task_types: dict[str, Any] = {}
        self.executors: dict[str, Any] = {}
        self.origin: dict[tuple[str, str], str] = {}
        for plugin_name, plugin in pm.list_name_plugin():
            if plugin is None:
                continue
            self._collect(pm, plugin_name, plugin)

    def _collect(self, pm: pluggy.PluginManager, plugin_name: str, plugin: Any) -> None:
        def adder(kind: str, table: dict, cls: type | None):
            def register(obj: Any, factory: Any = None) -> None:
                if kind == "executor":
                    key, obj = obj, factory
                else:
                    if cls is not None and not isinstance(obj, cls):
                        raise SpecError(f"plugin {plugin_name!r} registered {obj!r} as a {kind}; expected {cls.__name__}")
                    key = getattr(obj, "name", None) or obj.kind
                if key in table:
                    raise SpecError(
                        f"{kind} {key!r} is registered twice: by {self.origin[(kind, key)]!r} and by {plugin_name!r}"
                    )
                table[key] = obj
                self.origin[(kind, key)] = plugin_name

            return register

        hooks = {
            "register_models": adder("model", self.models, ModelSpec),
            "register_model_families": adder("model family", self.families, ModelFamily),
            "register_tasks": adder("task", self.tasks, Task),
            "register_task_types": adder("task type", self.task_types, None),
            "register_executors": adder("executor", self.executors, None),
        }
        for hook_name, register in hooks.items():
            impl = getattr(plugin, hook_name, None)
            if impl is None or not hasattr(impl, hookspecs.PROJECT + "_impl"):
                continue
            impl(register=register)

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise unknown("model", name, list(self.models))
        return self.models[name]

    def family(self, name: str) -> ModelFamily:
        if name not in self.families:
            raise unknown("model family", name, list(self.families))
        return self.families[name]

    def task(self, name: str) -> Task:
        if name not in self.tasks:
            raise unknown("task", name, list(self.tasks))
        return self.tasks[name]

    def task_type(self, kind: str) -> Any:
        if kind not in self.task_types:
            raise unknown("task type", kind, list(self.task_types))
        return self.task_types[kind]

    def executor(self, name: str) -> Any:
        if name not in self.executors:
            raise unknown("executor", name, list(self.executors))
        return self.executors[name]


def registry() -> Registry:
    """The registries built from every installed plugin (cached)."""
    global _registry
    if _registry is None:
        _registry = Registry(get_plugin_manager())
    return _registry
