"""Plugin discovery and the registries built from it.

Plugins come from the ``xlt_harness`` entry-point group (built-ins included). ``XLT_HARNESS_DISABLE_AUTOLOAD=1``
switches entry-point loading off (tests then register plugin modules by hand with :func:`register_module`);
``XLT_HARNESS_BLOCK=name1,name2`` blocks named plugins.

Hooks are dispatched by pluggy, one plugin at a time: a plugin that fails to import, implements an unknown hook,
raises inside a hook, contributes an invalid object or reuses a name another plugin registered is *broken*. It
contributes nothing, is reported in one line naming its package and the reason (:func:`broken_plugins`), and every
other plugin keeps working. Built-ins are collected first, so on a name clash the built-in wins.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import re
from dataclasses import dataclass
from typing import Any

import pluggy

from harness import __version__
from harness.core import hookspecs
from harness.core.loggers import Logger
from harness.core.specs import Metric, ModelFamily, ModelSpec, SpecError, Task

CORE_PACKAGE = "xlt-harness"
# Names become config keys, file and folder names and CLI arguments: letters, digits, '.', '_', '+', '-'.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
# hook name -> (what it contributes, the class each object must be, or None when any object goes)
HOOKS: dict[str, tuple[str, type | None]] = {
    "register_models": ("model", ModelSpec),
    "register_model_families": ("model family", ModelFamily),
    "register_tasks": ("task", Task),
    "register_task_types": ("task type", None),
    "register_metrics": ("metric", Metric),
    "register_executors": ("executor", None),
    "register_loggers": ("logger", Logger),
}

_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
# plugin name -> (distribution name, version) for entry-point plugins
_sources: dict[str, tuple[str, str]] = {}
_broken: dict[str, BrokenPlugin] = {}
# The core's own hook implementations (metrics, task types, the local executor), registered before any entry point.
BUILTIN_PLUGINS = ("harness.metrics.builtin", "harness.tasktypes", "harness.orchestration.local_executor")


class UnknownName(KeyError):
    """A name that no installed plugin provides; the message lists what is installed."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


def unknown(kind: str, name: str, known: list[str]) -> UnknownName:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    broken = f" Broken plugins (see `harness plugins`): {', '.join(sorted(_broken))}." if _broken else ""
    return UnknownName(f"unknown {kind} {name!r}.{hint} Installed: {', '.join(sorted(known)) or '(none)'}.{broken}")


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that contributes nothing because it failed; :meth:`line` is what users see."""

    name: str
    package: str | None
    version: str | None
    reason: str

    def line(self) -> str:
        source = f"package {self.package} {self.version or ''}".rstrip() if self.package else "registered by hand"
        return f"plugin {self.name!r} ({source}) is broken and was skipped: {self.reason}"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _package(name: str) -> tuple[str | None, str | None]:
    if name.startswith("harness."):  # the core's own hook implementations
        return CORE_PACKAGE, __version__
    return _sources.get(name, (None, None))


def _mark_broken(pm: pluggy.PluginManager, name: str, reason: str) -> None:
    package, version = _package(name)
    _broken[name] = BrokenPlugin(name, package, version, _one_line(reason))
    plugin = pm.get_plugin(name)
    if plugin is not None:  # so that no later hook call reaches it
        pm.unregister(plugin)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded and checked once."""
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
        _check_pending(pm)
        _pm = pm
    return _pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every ``xlt_harness`` entry point, built-ins first; one that fails to import is marked broken."""

    def dist_of(ep: md.EntryPoint) -> tuple[str | None, str | None]:
        dist = getattr(ep, "dist", None)
        return (dist.metadata["name"], dist.version) if dist is not None else (None, None)

    eps = sorted(md.entry_points(group=hookspecs.PROJECT),
                 key=lambda ep: (dist_of(ep)[0] != CORE_PACKAGE, dist_of(ep)[0] or "", ep.name))
    for ep in eps:
        package, version = dist_of(ep)
        if pm.is_blocked(ep.name):
            continue
        if pm.has_plugin(ep.name) or ep.name in _broken:
            if _sources.get(ep.name, (package,))[0] != package:  # the same distribution found twice is fine
                _broken[f"{ep.name}@{package}"] = BrokenPlugin(
                    ep.name, package, version, f"entry point name {ep.name!r} is already used by package "
                    f"{_sources[ep.name][0]}; rename the entry point")
            continue
        _sources[ep.name] = (package, version)
        try:
            plugin = ep.load()
        except Exception as err:  # a broken third-party plugin must not take the CLI down
            _mark_broken(pm, ep.name, f"import of {ep.value!r} failed: {type(err).__name__}: {err}")
            continue
        try:
            pm.register(plugin, name=ep.name)
        except (ValueError, pluggy.PluginValidationError) as err:  # e.g. an implementation with unknown arguments
            _mark_broken(pm, ep.name, f"invalid plugin: {err}")


def _check_pending(pm: pluggy.PluginManager) -> None:
    """``pm.check_pending()``; a plugin implementing a hook that has no spec (a typo, a wrong ``specname=``) is
    unregistered and marked broken, then the check runs again for the others."""
    for _ in range(len(pm.list_name_plugin()) + 1):
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as err:
            name = pm.get_name(err.plugin)
            if name is None:
                raise
            bad = sorted(hc.name for hc in pm.get_hookcallers(err.plugin) or [] if not hc.has_spec())
            hints = [f"{h!r}" + "".join(f" (did you mean {c!r}?)" for c in difflib.get_close_matches(h, HOOKS, 1))
                     for h in bad]
            _mark_broken(pm, name, f"unknown hook {', '.join(hints)}; the hooks are {', '.join(HOOKS)}")
    pm.check_pending()


def register_module(module: Any, name: str | None = None) -> None:
    """Register a plugin module or object by hand (tests, notebooks) and rebuild the registries."""
    global _registry
    pm = get_plugin_manager()
    pm.register(module, name=name)
    _check_pending(pm)
    _registry = None


def reset() -> None:
    """Forget the plugin manager, registries and broken-plugin reports (tests)."""
    global _pm, _registry
    _pm, _registry = None, None
    _broken.clear()
    _sources.clear()


@dataclass
class PluginInfo:
    name: str
    package: str | None
    version: str | None
    hooks: list[str]
    error: str | None = None


def list_plugins() -> list[PluginInfo]:
    """Every plugin with the distribution that provides it and the hooks it implements; broken ones with
    ``error`` set (and no hooks)."""
    registry()  # collecting contributions is what finds plugins that fail inside a hook
    pm = get_plugin_manager()
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        out.append(PluginInfo(name, *_package(name), hooks=hooks))
    out += [PluginInfo(b.name, b.package, b.version, hooks=[], error=b.reason) for b in _broken.values()]
    return sorted(out, key=lambda p: (p.error is not None, p.name))


def broken_plugins() -> list[BrokenPlugin]:
    """Plugins that failed on import, at the hook check, or while contributing (sorted by name)."""
    registry()
    return sorted(_broken.values(), key=lambda b: (b.name, b.package or ""))


class Registry:
    """Models, model families, tasks, task types, metrics, executors and loggers contributed by all working plugins."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.models: dict[str, ModelSpec] = {}
        self.families: dict[str, ModelFamily] = {}
        self.tasks: dict[str, Task] = {}
        self.task_types: dict[str, Any] = {}
        self.executors: dict[str, Any] = {}
        self.metrics: dict[str, Metric] = {}
        self.loggers: dict[str, Logger] = {}
        self.origin: dict[tuple[str, str], str] = {}
        self._tables = {"model": self.models, "model family": self.families, "task": self.tasks,
                        "task type": self.task_types, "executor": self.executors, "metric": self.metrics,
                        "logger": self.loggers}
        impls: dict[str, list[tuple[str, pluggy.HookImpl]]] = {}
        for hook_name in HOOKS:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                impls.setdefault(impl.plugin_name, []).append((hook_name, impl))
        # Built-ins first (they win a name clash), then the others in registration order.
        order = [name for name, _ in pm.list_name_plugin() if name in impls]
        for plugin_name in sorted(order, key=lambda n: _package(n)[0] != CORE_PACKAGE):
            try:
                found = self._contributions(plugin_name, impls[plugin_name])
                self._merge(plugin_name, found)
            except SpecError as err:
                _mark_broken(pm, plugin_name, str(err))

    @staticmethod
    def _contributions(plugin_name: str, impls: list[tuple[str, pluggy.HookImpl]]) -> list[tuple[str, str, Any]]:
        """Call this plugin's hook implementations alone and validate what they register: (kind, name, object)."""
        found: list[tuple[str, str, Any]] = []
        for hook_name, impl in impls:
            kind, cls = HOOKS[hook_name]

            def register(obj: Any, factory: Any = None, kind: str = kind, cls: type | None = cls) -> None:
                if kind == "executor":
                    key, obj = obj, factory
                    if not callable(obj):
                        raise SpecError(f"executor {key!r}: register(name, factory) needs a callable factory")
                else:
                    if cls is not None and not isinstance(obj, cls):
                        raise SpecError(f"registered {obj!r} as a {kind}; expected a {cls.__name__}")
                    key = obj.name if cls is not None else getattr(obj, "name", None) or getattr(obj, "kind", None)
                if not isinstance(key, str) or not SAFE_NAME.fullmatch(key):
                    raise SpecError(f"{kind} name {key!r} is not a safe name: use 1-100 letters, digits, "
                                    "'.', '_', '+' or '-', starting with a letter or digit")
                if kind == "model" and (obj.trust_remote_code or obj.options.get("allow_pickle_weights")
                                        or obj.options.get("use_safetensors") is False):
                    what = "trust_remote_code" if obj.trust_remote_code else "allow_pickle_weights"
                    raise SpecError(f"model {key!r} turns on {what}: only the user opts in, per model, in the "
                                    f"config (models: [{{name: {key}, {what}: true}}]); register it without")
                if any(k == kind and n == key for k, n, _ in found):
                    raise SpecError(f"{kind} {key!r} is registered twice by this plugin")
                found.append((kind, key, obj))

            if impl.hookwrapper or impl.wrapper:
                raise SpecError(f"{hook_name} is implemented as a wrapper; register_* hooks take plain functions")
            try:  # pluggy's own record of the implementation: its arguments may be a subset of the spec's
                impl.function(*[{"register": register}[arg] for arg in impl.argnames])
            except SpecError as err:
                raise SpecError(f"{hook_name}: {err}") from err
            except Exception as err:  # any failure inside a plugin's hook stays with that plugin
                raise SpecError(f"{hook_name} raised {type(err).__name__}: {err}") from err
        return found

    def _merge(self, plugin_name: str, found: list[tuple[str, str, Any]]) -> None:
        """Add one plugin's contributions, all or nothing; a name another plugin registered is an error."""
        for kind, key, _ in found:
            if key in self._tables[kind]:
                owner = self.origin[(kind, key)]
                package, version = _package(owner)
                source = f"package {package} {version or ''}".rstrip() if package else "registered by hand"
                raise SpecError(f"{kind} {key!r} is already registered by plugin {owner!r} ({source}); "
                                "rename it or uninstall one of the two")
        for kind, key, obj in found:
            self._tables[kind][key] = obj
            self.origin[(kind, key)] = plugin_name

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

    def metric(self, name: str) -> Metric:
        if name not in self.metrics:
            raise unknown("metric", name, list(self.metrics))
        return self.metrics[name]

    def executor(self, name: str) -> Any:
        if name not in self.executors:
            raise unknown("executor", name, list(self.executors))
        return self.executors[name]

    def logger(self, name: str) -> Logger:
        if name not in self.loggers:
            raise unknown("logger", name, list(self.loggers))
        return self.loggers[name]


def registry() -> Registry:
    """The registries built from every installed plugin (cached)."""
    global _registry
    if _registry is None:
        _registry = Registry(get_plugin_manager())
    return _registry
