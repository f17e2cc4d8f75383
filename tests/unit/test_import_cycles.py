"""No import circles between the modules of a package: every ``import`` counts, including one
inside a function (a deferred import hides a circle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("acd", "hotline", "ivr", "records", "speech")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, package: str, root: Path = ROOT) -> set[str]:
    """Every name a module imports from ``package``, as dotted module (or member) names."""
    module = module_name(path, root)
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = (here[:len(here) - node.level + 1] if node.level else [])
            target = ".".join(base + ([node.module] if node.module else []))
            names |= {target} | {f"{target}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name.split(".")[0] == package}


def import_graph(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    files = [p for p in (root / package).rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p, root): p for p in files}
    return {name: {dep for dep in imported(path, package, root)
                   if dep in modules and dep != name}
            for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        for dep in sorted(graph[module]):
            if dep in trail:
                found.append(trail[trail.index(dep):] + [dep])
            elif dep not in done:
                visit(dep, trail + [dep])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return found


def test_the_checker_sees_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "__init__.py").write_text("")
    (tmp_path / "p" / "a.py").write_text("from .b import thing\n")
    (tmp_path / "p" / "b.py").write_text("import os\n\ndef thing():\n    from p import c\n")
    (tmp_path / "p" / "c.py").write_text("from . import a\n")
    (tmp_path / "p" / "d.py").write_text("import p.a\n")
    assert circles(import_graph("p", tmp_path)) == [["p.a", "p.b", "p.c", "p.a"]]
    (tmp_path / "p" / "c.py").write_text("import json\n")
    assert circles(import_graph("p", tmp_path)) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circles(package: str) -> None:
    assert circles(import_graph(package)) == []


@pytest.mark.parametrize(("package", "foreign"), [("acd", "ivr"), ("speech", "ivr"),
                                                  ("speech", "acd")])
def test_layers_stay_apart(package: str, foreign: str) -> None:
    """The ACD and the speech of values stand without the IVR (the IVR and the ACD's
    announcements share :mod:`speech`)."""
    users = sorted(module_name(path) for path in (ROOT / package).rglob("*.py")
                   if imported(path, foreign))
    assert users == []
