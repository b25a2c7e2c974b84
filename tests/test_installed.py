"""Installed like any tool: the wheel built from the project, installed in a fresh virtualenv, runs `demo` from an
empty directory and a reset from a directory `init` wrote, with a flow of that directory replacing a packaged one.

Offline: the wheel is built with the build backend already installed (--no-build-isolation) and installed with
--no-index --no-deps; the fresh virtualenv reaches the dependencies already installed through a .pth line (as a
--system-site-packages virtualenv would), never the project's checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT, Portal

SOURCES = ("robots", "fixtures", "flows", "selectors", "config", "schema", "examples")
SOURCE_FILES = ("pyproject.toml", "setup.py", "README.md")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The `bin/` of a fresh virtualenv holding the wheel."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"  # a copy: the build's build/ and egg-info stay out of the checkout
    for name in SOURCES:
        shutil.copytree(PROJECT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in SOURCE_FILES:
        shutil.copy(PROJECT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                  "--no-index", "-q", "-w", str(root / "dist")], cwd=root)  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("chorus_robot-*.whl"))

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
                 "--ignore-installed", "-q", str(wheel)], cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    yield venv / "bin"


def _environment(**extra: str) -> dict[str, str]:
    """The person's environment: no configuration named (the tests' CHORUS_ROBOT_CONFIG), no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("CHORUS_ROBOT_CONFIG", "PYTHONPATH")}
    return {**env, **extra}


def test_the_wheel_carries_its_files_and_runs_the_demo_from_an_empty_directory(installed: Path, tmp_path: Path):
    where = _run([str(installed / "python"), "-c", "import robots.config as c; print(c.packaged('flows'))"], tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the installed wheel, not the checkout"
    assert Path(where.stdout.strip(), "reset_technical_password.yaml").is_file()

    done = _run([str(installed / "chorus-robot"), "demo"], tmp_path, _environment())

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Vérification API (tauxtva) avec le nouveau mot de passe : acceptée" in done.stdout
    assert (tmp_path / "var" / "demo" / "technical-accounts.json").is_file()


def test_a_reset_from_a_directory_init_wrote_uses_its_files(
    installed: Path, tmp_path: Path, portal: Portal, syndicate: dict
):
    robot = str(installed / "chorus-robot")
    workdir = tmp_path / "robot"
    assert _run([robot, "init", str(workdir)], tmp_path, _environment()).returncode == 0
    login = workdir / "flows" / "common" / "login.yaml"
    login.parent.mkdir()
    shipped = (PROJECT / "flows" / "common" / "login.yaml").read_text(encoding="utf-8")
    login.write_text(shipped.replace("steps:\n", "steps:\n  - label: Note\n    log: connexion du dossier\n"), "utf-8")
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]

    done = _run([robot, "run", "reset_technical_password", "--portal-url", portal.url, "--var",
                 f"structure={structure}"], workdir, _environment())  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "connexion du dossier" in done.stdout + done.stderr, "the directory's login.yaml, called as a sub-flow"
    assert (workdir / "var" / "vault" / "technical-accounts.json").is_file(), "robot.yaml's vault, in the directory"
