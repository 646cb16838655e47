"""pyproject.toml's ranges, constraints.txt's pins and the installed environment agree."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, Version]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-e"), "constraints.txt must not list editable installs"
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"constraints.txt pins exact versions: {line}"
        pinned[canonicalize_name(req.name)] = Version(spec.version)
    return pinned


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_every_requirement_is_pinned_inside_its_range():
    pinned = pins()
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is in pyproject.toml but not pinned in constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"constraints.txt pins {req.name}=={pinned[name]}, outside pyproject.toml's {req.specifier}"


def test_prefect_and_its_server_libraries_are_the_verified_set():
    pinned = pins()
    assert pinned["prefect"] >= Version("3.9.1"), "prefect 3.9.0's scheduler fails on SQLAlchemy 2.1"
    for name in ("sqlalchemy", "alembic", "aiosqlite", "fastapi", "starlette", "pydantic", "uvicorn"):
        assert name in pinned, name


def test_the_installed_environment_matches_the_pins():
    """`make install` installs with -c constraints.txt: what is installed is what is pinned."""
    pinned = pins()
    mismatched = []
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in pinned and Version(dist.version) != pinned[name]:
            mismatched.append(f"{name} {dist.version} (pinned {pinned[name]})")
    assert not mismatched, "installed versions differ from constraints.txt (run make install): " + \
        ", ".join(sorted(mismatched))


def test_the_installer_that_make_install_uses_is_pinned():
    """`make install` installs uv with pip, then everything else with uv: uv is pinned too."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-c $(CONSTRAINTS) uv" in makefile and "uv pip install" in makefile
    assert "uv" in pins()


def test_the_declared_license_ships_as_a_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    installed = metadata.metadata("vigil")
    assert installed["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in (installed.get_all("License-File") or [])
