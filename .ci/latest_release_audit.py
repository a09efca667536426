#!/usr/bin/env python3
"""The dependency audit's fallback, for machines where pip-audit has no service to ask.

PyPI's per-release JSON (pip-audit's default) and OSV may be out of reach while PyPI's
per-project JSON answers. That one lists the known vulnerabilities of the project's latest
release only, so it can audit exactly the pins that are the latest release; every other pin
is named as not checked, never passed as clean. Exit 1 when a checked pin has a known
vulnerability that is not ignored, 2 when no pin could be checked at all.

    python3 .ci/latest_release_audit.py [--ignore-vuln ID ...] requirements/app.txt ...
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
Fetch = Callable[[str], dict]


def pins(texts: Iterable[str]) -> list[tuple[str, str]]:
    """Every distinct name==version of the lock files (a universal lock may pin two)."""
    return sorted(
        {(name.lower(), version) for text in texts for name, version in PIN.findall(text)}
    )


def pypi_project(name: str) -> dict:
    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as answer:
        return json.load(answer)


def audit(
    locked: list[tuple[str, str]], fetch: Fetch, ignore: set[str]
) -> tuple[list[str], list[str], int]:
    """(findings, pins not checked with the reason, number of pins checked)."""
    findings, unchecked, checked = [], [], 0
    for name, version in locked:
        try:
            project = fetch(name)
        except (OSError, ValueError) as exc:  # unreachable, or not JSON
            unchecked.append(f"{name} {version}: lookup failed ({exc})")
            continue
        latest = project["info"]["version"]
        if latest != version:
            unchecked.append(f"{name} {version}: the latest release is {latest}")
            continue
        checked += 1
        for vuln in project.get("vulnerabilities") or []:
            ids = {vuln["id"], *(vuln.get("aliases") or [])}
            if not vuln.get("withdrawn") and not ids & ignore:
                fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
                findings.append(f"{name} {version}: {vuln['id']} (fixed in: {fixed})")
    return findings, unchecked, checked


def main(argv: list[str] | None = None, fetch: Fetch = pypi_project) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ignore-vuln", action="append", default=[], metavar="ID")
    parser.add_argument("locks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    locked = pins(path.read_text(encoding="utf-8") for path in args.locks)
    findings, unchecked, checked = audit(locked, fetch, set(args.ignore_vuln))
    print(f"checked {checked} of {len(locked)} pins against PyPI's advisories")
    for line in unchecked:
        print(f"!! NOT CHECKED {line}")
    for line in findings:
        print(f"!! VULNERABLE {line}")
    if findings:
        return 1
    if not checked:
        return 2
    print("no known vulnerabilities in the pins checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
