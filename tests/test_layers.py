"""The packages' layers: what each may import, read from the source (imports inside functions count too)."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGES = ("base", "data", "losses", "models", "sampling", "evaluation", "training")
FORBIDDEN = {
    "base": set(PACKAGES) - {"base"},  # the bottom layer
    "data": {"losses", "models", "sampling", "evaluation", "training"},
    "losses": {"data", "models", "sampling", "evaluation", "training"},
    "models": {"data", "sampling", "evaluation", "training"},
    "sampling": {"data", "evaluation", "training"},
    "evaluation": {"training"},
}


def project_imports(package: str) -> dict[str, set[str]]:
    """Top-level project packages imported by each module of ``package``."""
    found = {}
    for path in sorted((ROOT / package).glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[f"{package}/{path.name}"] = names & set(PACKAGES)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_no_layer_above_it(package):
    wrong = {module: sorted(names & FORBIDDEN[package]) for module, names in project_imports(package).items()}
    assert not {module: names for module, names in wrong.items() if names}


def test_the_run_directory_layout_loads_without_tensorflow():
    code = "import sys, base.rundir, sampling; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
