"""The installable package (pyproject.toml) and the scripts that rely on it being installed."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>!~\[; ]", line)[0].lower().replace("_", "-"))
    return names


def test_console_scripts_point_at_callables():
    scripts = PYPROJECT["project"]["scripts"]
    assert {"ecg-image-kit", "ecgpaper-demo", "ecgpaper-prepare"} <= set(scripts)
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), name


def test_every_package_folder_is_installed():
    """Each top-level folder with an __init__.py (but tests) matches the find patterns."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    folders = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests")
    assert folders == ["ecg_image_kit", "ecgcore", "ecgpaper"]
    for name in folders:
        assert any(pat == name or pat == name + "*" for pat in include), name


def test_pytest_collects_the_doctests_of_every_package():
    import configparser

    ini = configparser.ConfigParser()
    ini.read(ROOT / "pytest.ini")
    paths = ini["pytest"]["testpaths"].split()
    assert {"tests", "ecgcore", "ecgpaper", "ecg_image_kit"} <= set(paths)


def test_dependencies_and_version_come_from_one_place():
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    assert dynamic["dependencies"] == {"file": ["requirements.txt"]}
    assert dynamic["version"] == {"attr": "ecgpaper.__version__"}
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_constraints_pin_only_transitive_dependencies():
    """constraints.txt pins exact versions, none of a package that requirements*.txt pins
    (two pins of one package would drift apart)."""
    pins = [ln for ln in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*", p) for p in pins)
    names = {p.split("==")[0].lower().replace("_", "-") for p in pins}
    direct = _requirement_names(ROOT / "requirements.txt") | _requirement_names(
        ROOT / "requirements-dev.txt")
    assert not names & direct
    assert "ecgpaper" not in names


def test_benchmarks_and_scripts_use_the_installed_packages():
    """No sys.path edits, and no benchmark imports another one (shared code: ecgpaper.benchutil)."""
    files = sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    bench_names = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert files
    for path in files:
        source = path.read_text(encoding="utf-8")
        assert "sys.path" not in source, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & bench_names, path
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in bench_names, path


def test_benchmark_scripts_are_named_bench_and_listed():
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        assert path.name.startswith("bench_"), path
        assert f"`{path.name}`" in readme, path
