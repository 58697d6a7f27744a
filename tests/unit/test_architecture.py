"""The shape of the code: imports point one way, settings are defined once, registries extend.

graphs → nodes → teaching (the library, plain Python) → {engine, stores, tasks, privacy} → core;
applications (CLI, harness, demo) sit on top, the benchmarks above them. Imports inside
`if TYPE_CHECKING:` count too: a type-only import is still a dependency, and a cycle through
one is still a cycle.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from sociallearn.apps.cli import build_parser
from sociallearn.apps.run import teach
from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.experiments.spec import ExperimentSpec, PrivacyConfig
from sociallearn.teaching.methods import METHODS
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.settings import ServiceConfig, Settings, TeachSettings
from sociallearn.teaching.workspace import Draft, TeacherWorkspace

ROOT = Path(__file__).resolve().parents[2]
# Where each installed package's modules live (graphs/, nodes/, stores/ install as sociallearn.*).
PACKAGES = {
    "sociallearn": ROOT / "sociallearn",
    "sociallearn.graphs": ROOT / "graphs",
    "sociallearn.nodes": ROOT / "nodes",
    "sociallearn.stores": ROOT / "stores",
    "benchmarks": ROOT / "benchmarks",
}
# Lowest layer first; a module may import its own layer or lower ones only. Each layer is a
# folder (graphs/, nodes/, stores/ install as sociallearn.*).
LAYERS: list[tuple[str, ...]] = [
    ("sociallearn.core",),  # records, the model interface, model files, prompts, literals
    ("sociallearn.engine", "sociallearn.tasks", "sociallearn.privacy", "sociallearn.stores"),
    ("sociallearn.teaching",),  # the library: plain Python, no LangGraph
    ("sociallearn.nodes",),
    ("sociallearn.graphs",),
    ("sociallearn.apps", "sociallearn.experiments"),  # applications: CLI, harness, demo
    ("benchmarks",),  # the studies, run from the repository root (`python -m benchmarks.NAME`)
]


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            if package == "sociallearn" and parts[0] in {"graphs", "nodes", "stores"}:
                continue
            modules[name] = path
    return modules


MODULES = module_files()


def project_imports(path: Path) -> set[str]:
    """The project modules `path` imports, at run time or under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            }
    return {name for name in found if name in MODULES}


def layer_of(module: str) -> int:
    layers = [
        index
        for index, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if len(layers) != 1:
        raise AssertionError(f"{module} is in {len(layers)} layers, not one: fix LAYERS")
    return layers[0]


def import_cycles(graph: dict[str, set[str]]) -> list[str]:
    """The cycles of `graph` (module → the modules it imports), each as 'a → b → a'. A package
    importing its own modules (registries) is no cycle back."""
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for target in graph.get(node, ()):
                if target == start and not all(
                    step.startswith(start + ".") or step == start for step in trail
                ):
                    cycles.append(" → ".join([*trail, target]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    return cycles


def test_every_module_has_a_layer():
    for module in MODULES:
        if module != "sociallearn":
            layer_of(module)


def test_no_module_imports_upward():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, path in MODULES.items()
        if module != "sociallearn"
        for target in project_imports(path)
        if target != "sociallearn" and layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_import_cycles():
    graph = {module: project_imports(path) - {"sociallearn"} for module, path in MODULES.items()}
    assert import_cycles(graph) == []


def test_no_test_imports_a_conftest_by_name():
    """`from conftest import` picks whichever conftest pytest loaded first: use fixtures."""
    importers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom | ast.Import)
        and any(
            name.split(".")[0] == "conftest"
            for name in (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
            )
        )
    ]
    assert importers == []


def test_the_import_checker_sees_an_upward_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "from sociallearn.graphs.social_learning import graph\n"
        "if TYPE_CHECKING:\n    from sociallearn.apps.cli import main\n"
    )
    assert project_imports(bad) == {"sociallearn.graphs.social_learning", "sociallearn.apps.cli"}
    assert layer_of("sociallearn.graphs.social_learning") > layer_of("sociallearn.teaching.student")


def test_the_cycle_checker_sees_a_type_only_cycle(tmp_path: Path):
    """The cycle the settings once made: they imported the method registry to check names, and
    the methods imported them for types only."""
    settings = tmp_path / "settings.py"
    settings.write_text("from sociallearn.teaching.methods import METHODS\n")
    method = tmp_path / "method.py"
    method.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sociallearn.teaching.settings import Settings\n"
    )
    graph = {
        "sociallearn.teaching.settings": project_imports(settings),
        "sociallearn.teaching.methods": project_imports(method),
    }
    assert (
        "sociallearn.teaching.settings → sociallearn.teaching.methods → "
        "sociallearn.teaching.settings" in import_cycles(graph)
    )


# ------------------------------------------------------------------- one settings model

SETTINGS_MODELS: list[type[BaseModel]] = [
    TeachSettings,
    Settings,
    ExperimentSpec,
    PrivacyConfig,
    ServiceConfig,
]


def test_every_setting_is_defined_once():
    owners: dict[str, list[str]] = {}
    for model in SETTINGS_MODELS:
        for name in model.__annotations__:
            owners.setdefault(name, []).append(model.__name__)
    assert {name: where for name, where in owners.items() if len(where) > 1} == {}
    for model in SETTINGS_MODELS:
        undocumented = [n for n, f in model.model_fields.items() if not f.description]
        assert undocumented == [], f"{model.__name__}: fields without a description"


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def test_cli_flags_are_the_settings_fields():
    teach_parser = subcommand(build_parser(), "teach")
    flags = {option for action in teach_parser._actions for option in action.option_strings}
    for name, field in Settings.model_fields.items():
        if name == "privacy":
            continue
        flag = "--" + name.replace("-", "_").replace("_", "-")
        if name == "final":  # a teach run never tests on the locked part: `experiment` only
            assert flag not in flags
            continue
        assert flag in flags, f"no flag for {name}"
        action = next(a for a in teach_parser._actions if flag in a.option_strings)
        assert field.description and field.description in (action.help or "")
    assert "--filter-pii" in flags and "--filter-near-copy-distance" in flags


def test_bad_settings_are_refused_with_the_flag_named(capsys):
    from sociallearn.apps.cli import main

    assert main(["teach", "--teachers", "-1"]) == 2
    assert "--teachers: Input should be greater than or equal to 0" in capsys.readouterr().err
    assert main(["teach", "--teachers", "0"]) == 2
    assert "error: Value error, no teacher: give --teachers" in capsys.readouterr().err
    assert main(["teach", "--remote-teachers", "localhost:8101"]) == 2
    assert "--remote-teachers: Value error, not an http(s) URL" in capsys.readouterr().err
    assert main(["teach", "--student-model", "missing.gguf"]) == 2
    assert "model file not found: missing.gguf" in capsys.readouterr().err
    assert main(["teach", "--method", "telepathy"]) == 2
    assert "--method: Value error, unknown method 'telepathy'" in capsys.readouterr().err


# ------------------------------------------------------------------------- registries


class EchoFirstShot(TeachingMethod):
    """A new method, for this test: share the first private example's label as a rule."""

    name: ClassVar[str] = "echo_label"
    lesson_kind = "instruction"

    def lessons_wanted(self, settings: TeachSettings) -> int:
        return 1

    def draft(self, workspace: TeacherWorkspace, feedback: list[str], seed: int) -> list[Draft]:
        return [Draft(f"When unsure, answer {workspace.shots()[0].answer}.")]


def test_a_new_method_is_one_class_and_one_registry_line(sms_file, tmp_path, monkeypatch):
    monkeypatch.setitem(METHODS, "echo_label", EchoFirstShot)  # the registry line
    settings = Settings(
        method="echo_label", data_path=str(sms_file), library=str(tmp_path / "lib"),
        test_size=4, teachers=2, shots=4,
    )  # fmt: skip
    model = ScriptedLM(lambda prompt, n: "unused")
    state = teach(settings, models=ModelPool.fixed(model), queries=["hello"])
    assert [lesson.method for lesson in state["lessons"]] == ["echo_label"]
    assert state["lessons"][0].text.startswith("When unsure, answer")
    assert state["answers"][0].answer in {"spam", "ham"}
    monkeypatch.delitem(METHODS, "echo_label")
    with pytest.raises(ValueError, match="unknown method 'echo_label'"):
        teach(settings, models=ModelPool.fixed(model), queries=["hello"])
