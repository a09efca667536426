"""The lock files in requirements/ agree with pyproject.toml: what production and the
tests install is what the project asks for, and both locks pin the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RELOCK = "run `python3 dev.py lock`"
# A pinned line: "name==version" or "name==version ; marker", then its hashes.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*==[^\s;\\]+(?: ; [^\\]+?)?)\s*\\?$")


def blocks(text: str) -> list[str]:
    """One block per pinned package: its line, its hashes and uv's notes of why."""
    return [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if not b.startswith("#")]


def pins(text: str) -> dict[str, list[Requirement]]:
    """Each package's pins (one per environment marker), every pin carrying a hash."""
    found: dict[str, list[Requirement]] = {}
    for block in blocks(text):
        first = block.splitlines()[0]
        match = PIN.match(first)
        if match is None:
            raise ValueError(f"not a pinned requirement: {first!r}")
        if "--hash=sha256:" not in block:
            raise ValueError(f"no hash for {first!r}")
        requirement = Requirement(match.group(1))
        found.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return found


def pinned_here(requirements: list[Requirement]) -> str | None:
    """The version pinned for this interpreter and platform, if any."""
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate():
            return next(iter(requirement.specifier)).version
    return None


def project() -> dict[str, list[Requirement]]:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"app": spec["dependencies"], **spec["optional-dependencies"]}
    return {name: [Requirement(line) for line in lines] for name, lines in groups.items()}


def lock(name: str) -> dict[str, list[Requirement]]:
    return pins((ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("lock_name", "groups"), [("app", ["app"]), ("dev", list(project()))], ids=["app", "dev"]
)
def test_every_dependency_is_pinned_within_its_range(lock_name: str, groups: list[str]) -> None:
    locked, asked = lock(lock_name), project()
    for group in groups:
        for wanted in asked[group]:
            if wanted.marker is not None and not wanted.marker.evaluate():
                continue
            version = pinned_here(locked.get(canonicalize_name(wanted.name), []))
            assert version is not None, f"{wanted.name} is not in {lock_name}.txt: {RELOCK}"
            assert wanted.specifier.contains(version, prereleases=True), (
                f"{lock_name}.txt pins {wanted.name}=={version}, outside {wanted}: {RELOCK}"
            )


def asked_for_directly(text: str) -> set[str]:
    """Packages the lock holds because pyproject.toml names them (uv notes each package's
    reasons under it; the project's own is "tracker (pyproject.toml)")."""
    return {
        canonicalize_name(re.split(r"[=; ]", block, maxsplit=1)[0])
        for block in blocks(text)
        if "tracker (pyproject.toml)" in block
    }


def test_production_lock_is_resolved_without_the_test_and_bench_tools() -> None:
    # pytest, Locust and the rest are not on a server; a test tool that the app also needs
    # (packaging) may be there, pinned for the app's sake.
    text = (ROOT / "requirements" / "app.txt").read_text(encoding="utf-8")
    wanted = {canonicalize_name(r.name) for r in project()["app"]}
    assert asked_for_directly(text) == wanted, RELOCK


def test_both_locks_pin_the_same_versions() -> None:
    app, dev = lock("app"), lock("dev")
    for name, requirements in app.items():
        # Markers may differ (greenlet: some platforms for SQLAlchemy, all for gevent).
        versions = {str(r.specifier) for r in requirements}
        assert versions == {str(r.specifier) for r in dev.get(name, [])}, (
            f"{name}: app.txt and dev.txt pin different versions: {RELOCK}"
        )


def test_reading_a_lock_refuses_unpinned_and_unhashed_lines() -> None:
    hashed = "flask==3.1.3 \\\n    --hash=sha256:ab\n"
    assert pinned_here(pins(hashed)["flask"]) == "3.1.3"
    with pytest.raises(ValueError, match="not a pinned requirement"):
        pins("flask>=3.1 \\\n    --hash=sha256:ab\n")
    with pytest.raises(ValueError, match="no hash"):
        pins("flask==3.1.3\n    # via tracker\n")
    marked = pins("numpy==2.4.6 ; python_full_version < '9' \\\n    --hash=sha256:ab\n")
    assert pinned_here(marked["numpy"]) == "2.4.6"
    elsewhere = pins("pywin32==312 ; sys_platform == 'nonesuch' \\\n    --hash=sha256:ab\n")
    assert pinned_here(elsewhere["pywin32"]) is None
