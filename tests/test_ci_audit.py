"""The dependency audit's fallback (.ci/latest_release_audit.py), against a fake PyPI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "latest_release_audit.py"
spec = importlib.util.spec_from_file_location("latest_release_audit", SCRIPT)
assert spec is not None and spec.loader is not None
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

LOCK = """\
# written by uv
flask==3.1.3 \\
    --hash=sha256:aa
numpy==2.4.6 ; python_full_version < '3.12' \\
    --hash=sha256:bb
numpy==2.5.5 ; python_full_version >= '3.12' \\
    --hash=sha256:cc
    # via scipy
ecdsa==0.19.2 \\
    --hash=sha256:dd
"""


def project(latest: str, *vulns: dict) -> dict:
    return {"info": {"version": latest}, "vulnerabilities": list(vulns)}


PYPI = {
    "flask": project("3.1.3"),
    "numpy": project("2.5.5"),
    "ecdsa": project(
        "0.19.2",
        {"id": "PYSEC-1", "aliases": ["GHSA-wj6h-64fc-37mp"], "fixed_in": []},
        {"id": "PYSEC-2", "aliases": [], "fixed_in": ["0.20"], "withdrawn": "2026-01-01"},
    ),
}


def fake(answers: dict[str, dict]):  # type: ignore[no-untyped-def]
    def fetch(name: str) -> dict:
        if name not in answers:
            raise OSError("no answer")
        return answers[name]

    return fetch


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "app.txt"
    path.write_text(LOCK, encoding="utf-8")
    return path


def test_pins_are_read_once_each_with_both_versions_of_a_universal_lock() -> None:
    assert audit.pins([LOCK, LOCK]) == [
        ("ecdsa", "0.19.2"),
        ("flask", "3.1.3"),
        ("numpy", "2.4.6"),
        ("numpy", "2.5.5"),
    ]


def test_a_known_vulnerability_of_a_latest_release_fails_the_audit(
    lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit.main([str(lock)], fetch=fake(PYPI)) == 1
    out = capsys.readouterr().out
    assert "checked 3 of 4 pins" in out
    assert "VULNERABLE ecdsa 0.19.2: PYSEC-1 (fixed in: no fixed release)" in out
    assert "PYSEC-2" not in out  # withdrawn
    assert "NOT CHECKED numpy 2.4.6: the latest release is 2.5.5" in out


def test_an_explained_finding_is_ignored_by_any_of_its_ids(
    lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--ignore-vuln", "GHSA-wj6h-64fc-37mp", str(lock)]
    assert audit.main(argv, fetch=fake(PYPI)) == 0
    assert "no known vulnerabilities in the pins checked" in capsys.readouterr().out


def test_pins_that_cannot_be_looked_up_are_named_never_passed_as_clean(
    lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit.main([str(lock)], fetch=fake({"flask": PYPI["flask"]})) == 0
    out = capsys.readouterr().out
    assert "checked 1 of 4 pins" in out and "NOT CHECKED ecdsa 0.19.2: lookup failed" in out
    assert audit.main([str(lock)], fetch=fake({})) == 2  # nothing checked at all
