"""The package's layers: a module imports only from its own layer or the ones below it, and the
base install's layers never import torch."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "faceattr"
# lowest first: storage (files, tar shards) < preprocess (decode, detect, frame) < data (labels,
# datasets, caches) < models < outputs < inference < evaluation < training < serving < cli
ORDER = ["errors", "storage", "preprocess", "data", "results", "models", "outputs", "inference",
         "evaluation", "training", "serving", "cli"]
BASE = ["storage", "preprocess", "data", "results", "outputs"]  # run in the base install (no torch)


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def test_no_import_runs_up_the_layers():
    up = []
    for f in ROOT.rglob("*.py"):
        layer = f.relative_to(ROOT).parts[0].removesuffix(".py")
        if layer not in ORDER:
            continue
        for m in imports(f):
            parts = m.split(".")
            if parts[0] == "faceattr" and len(parts) > 1 and parts[1] in ORDER \
                    and ORDER.index(parts[1]) > ORDER.index(layer):
                up.append(f"{f.relative_to(ROOT)} imports {m}")
    assert not up, "\n".join(up)


def test_base_layers_never_import_torch():
    found = [f"{f.relative_to(ROOT)}" for layer in BASE for f in (ROOT / layer).rglob("*.py")
             if any(m.split(".")[0] in ("torch", "safetensors") for m in imports(f))]
    assert not found, found


def module_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at the top or inside a function."""
    def name(f: Path) -> str:
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = {name(f): f for f in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, f in files.items():
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:  # `from faceattr.x import y`: the module y, else x
                    sub = f"{node.module}.{a.name}"
                    deps.add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[mod] = {d for d in deps if d in files and d != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_even_inside_functions():
    graph = module_graph()
    assert "faceattr.inference.recognizer" in graph["faceattr.inference.options"]  # in a function
    assert not cycles(graph), cycles(graph)


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
