"""The packages' layers: what each may import, read from the source (imports inside functions count too)."""

import ast
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGES = ("base", "data", "losses", "models", "sampling", "evaluation", "training")
# users run these
SCRIPTS = ("train_dcgan", "train_wgan_gp", "pretrain_critic", "evaluate", "sample", "export", "fid_stats")
FORBIDDEN = {
    "base": set(PACKAGES) - {"base"},  # the bottom layer
    "data": {"losses", "models", "sampling", "evaluation", "training"},
    "losses": {"data", "models", "sampling", "evaluation", "training"},
    "models": {"data", "sampling", "evaluation", "training"},
    "sampling": {"data", "evaluation", "training"},
    "evaluation": {"training"},
}

# Modules held below their package's line: the runner trains any recipe; what a run writes besides its config,
# its log and its checkpoints' restoring (sample grids, figures) is the recipe's, through its hooks.
MODULE_FORBIDDEN = {
    "training/runner.py": {"sampling", "evaluation"},
}


def imported_names(path) -> set[str]:
    """The top-level names a module imports, at its top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def project_imports(package: str) -> dict[str, set[str]]:
    """Top-level project packages imported by each module of ``package``, its subpackages included."""
    return {
        path.relative_to(ROOT).as_posix(): imported_names(path) & set(PACKAGES)
        for path in sorted((ROOT / package).rglob("*.py"))
    }


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_no_layer_above_it(package):
    wrong = {module: sorted(names & FORBIDDEN[package]) for module, names in project_imports(package).items()}
    assert not {module: names for module, names in wrong.items() if names}


@pytest.mark.parametrize("folder", [*PACKAGES, "bench"])
def test_no_library_module_or_bench_imports_a_script(folder):
    """Scripts are thin: what a bench or the library needs of one lives in a recipe or a package."""
    wrong = {
        path.relative_to(ROOT).as_posix(): sorted(imported_names(path) & set(SCRIPTS))
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert not {module: names for module, names in wrong.items() if names}


@pytest.mark.parametrize("module", sorted(MODULE_FORBIDDEN))
def test_a_module_held_below_its_package_imports_none_of_what_it_leaves_to_others(module):
    assert not sorted(imported_names(ROOT / module) & MODULE_FORBIDDEN[module])


def test_an_import_inside_a_function_of_the_runner_would_be_caught(tmp_path):
    """The check reads every import of the file, not only those at its top."""
    runner = (ROOT / "training" / "runner.py").read_text()
    added = tmp_path / "runner.py"
    inside_a_function = "\n\ndef grids():\n    from sampling.grids import fixed_noise\n\n    return fixed_noise\n"
    added.write_text(runner + inside_a_function)
    assert imported_names(added) & MODULE_FORBIDDEN["training/runner.py"] == {"sampling"}
    added.write_text(runner + "\nimport evaluation.callback\n")
    assert imported_names(added) & MODULE_FORBIDDEN["training/runner.py"] == {"evaluation"}


def test_the_subpackages_are_checked_too():
    assert "training/recipes/wgan_gp.py" in project_imports("training")
    assert "models/trainers/wgan_gp.py" in project_imports("models")


def test_the_run_directory_layout_and_the_recipes_load_without_tensorflow():
    """--help, flag errors and the viewers stay instant."""
    code = (
        "import sys, base.rundir, sampling, training.recipes.dcgan, training.recipes.wgan_gp, "
        "training.recipes.critic_pretraining; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_the_project_declares_the_requirements_it_installs():
    """pyproject.toml's dependencies are requirements.txt's, which also installs the project (-e .)."""
    import tomllib

    from models.keras_workarounds import WRITTEN_FOR

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    required = [line for line in lines if line]
    assert "-e ." in required
    assert sorted(project["dependencies"]) == sorted(line for line in required if line != "-e .")
    assert f"keras>={WRITTEN_FOR}" in ",".join(project["dependencies"])  # the release the workarounds are for
    assert project["requires-python"] == ">=3.11"


def test_a_bench_runs_from_any_folder_without_editing_sys_path(tmp_path):
    """bench/ imports the installed project's packages (requirements.txt installs it editable)."""
    for path in sorted((ROOT / "bench").glob("*.py")):
        assert "sys.path.insert" not in path.read_text(), path.name
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "quality.py"), "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Sample quality of a conditional GAN" in result.stdout
