"""The docs name only modules that exist: every ``something.py`` in README.md and docs/*.md is a
file of the repository (a bare name somewhere in it; a path under the repository root or under
src/faceattr)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "faceattr"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
NAME = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_]\.py\b")


def named_modules() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for m in NAME.finditer(doc.read_text(encoding="utf-8")):
            out.append((doc.name, m.group(0).removeprefix("/path/to/faceattr/")))
    return out


def exists(name: str) -> bool:
    if "/" not in name:
        return any(p.name == name for d in ("src", "tools", "benchmarks", "tests", "examples")
                   for p in (REPO / d).rglob(name))
    name = name.removeprefix("./")
    return any((base / name).is_file() for base in (REPO, PACKAGE, REPO / "src"))


def test_every_module_the_docs_name_exists():
    found = named_modules()
    assert len(found) > 50  # the check sees the docs
    missing = sorted({f"{doc}: {name}" for doc, name in found if not exists(name)})
    assert not missing, "\n".join(missing)


def test_the_check_notices_a_missing_module():
    assert exists("training/loader.py") and exists("heads.py")
    assert not exists("data/loader.py") and not exists("nowhere.py")
