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


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(modules: dict) -> dict[str, set[str]]:
    """The project modules each module imports (at its top or inside functions), by dotted name.

    ``from data import load_images`` is an import of ``data`` (its ``__init__``), ``from data.cache import
    StoredImages`` one of ``data.cache``; relative imports are resolved against the module's package.
    """

    def project_module(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {project_module(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parents, base] if base else parents)
                found |= {project_module(f"{base}.{alias.name}") for alias in node.names}
        graph[name] = found - {None, name}
    return graph


def test_no_modules_import_each_other_round_a_circle():
    """Within a layer too: a circle of imports (inside functions included) is one module in two files."""
    paths = [path for folder in (*PACKAGES, "bench") for path in sorted((ROOT / folder).rglob("*.py"))]
    paths += [ROOT / f"{script}.py" for script in SCRIPTS]
    graph = module_imports({module_name(path): path for path in paths})
    assert {"bench.throughput", "bench.torch_reference"} <= set(graph)
    circles, done = [], set()

    def visit(module, trail):
        if module in trail:
            circles.append(trail[trail.index(module) :] + [module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not [" -> ".join(circle) for circle in circles]


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
    """requirements.txt lists pyproject.toml's dependencies and its dev and notebook extras, and installs the
    project with them (-e .[dev,notebooks]); a user of the package alone gets neither pytest nor Jupyter."""
    import tomllib

    from models.keras_workarounds import WRITTEN_FOR

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    required = [line for line in lines if line]
    assert "-e .[dev,notebooks]" in required
    extras = project["optional-dependencies"]
    developer = project["dependencies"] + [name for key in ("dev", "notebooks") for name in extras[key]]
    assert sorted(name for name in developer if not name.startswith("artgan-keras")) == sorted(
        line for line in required if not line.startswith("-e ")
    )
    assert not {name.split(">")[0] for name in project["dependencies"]} & {"pytest", "nbclient", "ipykernel"}
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
