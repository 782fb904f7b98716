"""The package layers: ``ecgcore`` at the bottom, ``ecg_image_kit`` on it, ``ecgpaper`` on both.

Read from the source (the AST of every ``.py`` file), not from ``sys.modules``: an import
inside a function or behind a condition counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each package and the project packages it must never import (one direction only).
FORBIDDEN = {
    "ecgcore": {"ecgpaper", "ecg_image_kit"},
    "ecg_image_kit": {"ecgpaper"},
}


def imported_packages(source: str) -> set[str]:
    """Top-level names of the absolute imports in ``source`` (``import a.b``, ``from a.b import
    c``, ``importlib.import_module("a.b")``, ``__import__("a")``); relative imports stay in their
    own package and are left out."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                names.add(node.args[0].value.split(".")[0])
    return names


def test_imported_packages_sees_every_form():
    src = ("import ecgpaper.digitize as d\n"
           "from . import sibling\n"
           "def f():\n"
           "    from ecg_image_kit.render import render\n"
           "    import importlib\n"
           "    return importlib.import_module('wfdb.io')\n")
    assert imported_packages(src) == {"ecgpaper", "ecg_image_kit", "importlib", "wfdb"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_import_nothing_from_the_upper_ones(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    bad = {str(p.relative_to(ROOT)): sorted(imported_packages(p.read_text(encoding="utf-8"))
                                            & FORBIDDEN[package])
           for p in files}
    assert not {k: v for k, v in bad.items() if v}


def test_base_modules_have_one_import_path():
    """constants and wfdbio live in ecgcore only (no copy or re-export shim in ecgpaper)."""
    for name in ("constants", "wfdbio"):
        assert (ROOT / "ecgcore" / f"{name}.py").is_file()
        assert not (ROOT / "ecgpaper" / f"{name}.py").exists()
