"""The package's import rules (pyproject.toml's [tool.importlinter]) hold, and the core
reads no wall clock: what docs/architecture.md promises, checked on every run."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "amqpmock"
# A module-size budget: one idea per module. A few lines over is fine; a second idea is not.
MAX_MODULE_LINES = 820


def _lint_imports() -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "lint-imports (import-linter) missing: pip install -e '.[test]'"
    return subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert result.stdout.count("KEPT") >= 3, result.stdout


def test_a_core_module_that_imports_a_socket_breaks_the_contract(tmp_path: Path) -> None:
    # the checker itself must be able to fail: a copy of the package with one bad import
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "amqpmock", ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "amqpmock" / "fake" / "_state.py").open("a") as f:
        f.write("\nimport socket  # noqa\n")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run(
        [exe, "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(copy), "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode != 0
    assert "amqpmock.fake._state -> socket" in result.stdout


_WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def test_the_core_reads_no_wall_clock() -> None:
    found = []
    for path in sorted((PACKAGE / "fake").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Attribute | ast.Name)
            ):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else owner.id
                if (name, node.func.attr) in _WALL_CLOCK_CALLS:
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, f"the core reads the wall clock at {found}; take time from its Clock"


def test_no_module_grows_past_the_budget() -> None:
    big = {
        str(path.relative_to(ROOT)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def test_every_folder_says_what_it_is_and_what_it_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init.relative_to(ROOT)} has no docstring"
        assert "import" in doc.lower(), f"{init.relative_to(ROOT)} does not say what it may import"
