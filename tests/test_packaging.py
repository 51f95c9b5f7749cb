"""Project-level checks: dependency lists in step, import layers, CLI entry point."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement):
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _bound(requirement):
    match = re.search(r">=\s*([\w.]+)", requirement)
    return match.group(1) if match else None


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {
        _name(dep): _bound(dep)
        for dep in env["dependencies"]
        if isinstance(dep, str) and _name(dep) not in {"python", "pip"}
    }
    pip = {_name(dep): _bound(dep) for dep in project["dependencies"]}
    assert conda == pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    assert _bound(python) == project["requires-python"].removeprefix(">=")
    assert env["channels"] == ["conda-forge"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    test_command = next(c for c in commands if "pytest" in c).strip().splitlines()[-1]
    assert test_command.strip() in ci


def test_import_layers():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run(
        [lint, "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_top_level_import_is_lazy():
    code = (
        "import sys, brainctrl; "
        "heavy = [m for m in ('nilearn', 'sklearn', 'statsmodels', 'brainctrl.control') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "brainctrl.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("demo", "validate"):
        assert command in out.stdout
    import brainctrl

    out = subprocess.run(
        [sys.executable, "-m", "brainctrl.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"brainctrl {brainctrl.__version__}"


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [ruff, *command, "brainctrl", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
