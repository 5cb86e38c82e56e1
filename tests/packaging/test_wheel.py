"""The wheel is the product: it must carry every file the program reads.

Builds a wheel from a clean copy of the checkout (scripts/clean-copy), then checks
that every file inside a shipped package is in it (templates, the example site
file, samples, migrations, any static folder added later) and that the installed
files alone run `broadsheet demo` from an empty directory. The full install into a
fresh venv with web and worker is scripts/installed-check (CI runs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

# Top-level folders of the repository that are not part of the installed program.
NOT_SHIPPED = ("tests", "bench", "docs", "scripts", ".ci")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("wheel")
    try:
        subprocess.run(
            [sys.executable, REPO_ROOT / "scripts" / "clean-copy", REPO_ROOT, work / "src"],
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"not a git checkout: {exc}")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist",
         work / "src"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (built,) = (work / "dist").glob("broadsheet-*.whl")
    yield built


def _tracked(top: str) -> set[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", top],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {name for name in listing if (REPO_ROOT / name).is_file()}


def test_wheel_ships_every_file_of_every_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names if "/" in n and ".dist-info/" not in n}
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} - set(NOT_SHIPPED)
    assert tops == packages  # discovered: every top-level package, nothing else
    assert {"templates", "config", "content", "db", "web"} <= tops
    missing = sorted(f for top in tops for f in _tracked(top) - names)
    assert not missing, f"files the wheel leaves out: {missing}"
    assert "config/site.example.toml" in names
    assert "templates/email/edition/body.html" in names
    assert not any(n.endswith((".pyc", "/")) or "__pycache__" in n for n in names)


def test_installed_files_alone_run_the_demo_from_an_empty_directory(
    wheel: Path, tmp_path: Path
) -> None:
    # The wheel's files go to a folder of their own that comes first on the path; the
    # dependencies come from this venv. The checkout is neither the working
    # directory nor on the path, so a file the wheel lacks makes the demo fail.
    target, empty = tmp_path / "installed", tmp_path / "empty"
    empty.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "DATABASE_URL",
           "OUTBOX_DIR", "SITE_CONFIG")}  # fmt: skip
    env["PYTHONPATH"] = str(target)
    run = [sys.executable, "-c", "from cli.main import app; app()"]
    where = subprocess.run(
        [sys.executable, "-c", "import config, templates; print(config.__file__)"],
        cwd=empty, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(target)), where

    demo = subprocess.run([*run, "demo"], cwd=empty, env=env, capture_output=True, text=True)

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "demo done" in demo.stdout
    assert len(list((empty / "var" / "demo" / "outbox").glob("*.eml"))) == 3
    assert not list(target.rglob("*.db")), "the demo wrote into the installation"


def test_every_top_level_folder_is_a_package_or_declared_not_shipped() -> None:
    # A folder of templates or static files at the top level would not ship unless it
    # is a package (an __init__.py, like templates/): say which one it is.
    folders = {name.split("/")[0] for name in _tracked(".") if "/" in name}
    strays = {
        f for f in folders - set(NOT_SHIPPED) if not (REPO_ROOT / f / "__init__.py").is_file()
    }
    assert not strays, f"top-level folders that would not ship: {sorted(strays)}"
