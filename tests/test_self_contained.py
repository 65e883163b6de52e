"""The suite runs from any clone: no paths outside the repository, fakes that never import Octopost."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
#: a path into the machine the project was written on, or a sibling of the repository
_OUTSIDE = re.compile(r"/work/|\.\./shared|/shared/conformance")
_IMPORTS_OCTOPOST = re.compile(r"^\s*(from|import) octopost", re.MULTILINE)


def _sources() -> list[Path]:
    return sorted(
        p
        for folder in ("octopost", "tests", "bench")
        for p in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def test_no_source_points_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources()
        if p != this and _OUTSIDE.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_fakes_never_import_the_code_they_check() -> None:
    fakes = sorted((ROOT / "tests" / "fakes").glob("*.py"))
    assert fakes
    assert [f.name for f in fakes if _IMPORTS_OCTOPOST.search(f.read_text("utf-8"))] == []


def test_every_vector_file_has_its_provenance() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.iterdir() if p.name != "README.md")
    assert files
    for name in files:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}`")), None)
        if row is None:  # a row may name several files: "`twitter-config-v1.json`, `-v2.json`"
            stem = name.rsplit("-", 1)[-1]
            row = next((line for line in readme.splitlines() if f"`-{stem}`" in line), None)
        assert row is not None, f"{name} is not described in tests/data/README.md"
        assert row.count("|") >= 5, name  # file, what, origin, licence


def test_vector_files_are_read_relative_to_the_tests() -> None:
    users = [p for p in _sources() if re.search(r'/ "data" /', p.read_text(encoding="utf-8"))]
    assert users, "the tests load their vectors from tests/data"
    for path in users:
        assert "Path(__file__).resolve()" in path.read_text(encoding="utf-8"), path
