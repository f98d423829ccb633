"""The import graph of the project's own modules: no cycles, imports run one way, no module too long.

The graph counts every import statement anywhere in a module (``ast.walk``), function-local imports
included: a local import hides a cycle from Python at import time, not from the design. Allowed
directions: apps (``app.py``, ``gradio_app.py``, ``app_pages``) -> ``pipeline``, ``labeling``;
``labeling`` -> ``pipeline``; inside ``pipeline`` nothing in ``core`` imports another room.
``tools`` (the sample-media generator) may import ``pipeline`` but nothing at run time imports it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "labeling", "app_pages", "tools")
"""The project's own packages, as folders under the repository root."""
SCRIPTS = ("app.py", "gradio_app.py")
"""The project's own top-level modules."""
APPS = ("app_pages", "app", "gradio_app")
"""Modules (and packages) of the apps, which nothing in ``pipeline`` or ``labeling`` may import."""
MAX_LINES = 600


# ------------------------------------------------------------------------------------- graph builder


def project_modules(root: Path, packages=PACKAGES, scripts=SCRIPTS) -> dict[str, Path]:
    """The project's modules by dotted name (a package by its ``__init__.py``).

    Args:
        root: the repository root.
        packages: package folders under ``root`` to walk (missing ones are skipped).
        scripts: single-file modules under ``root`` (missing ones are skipped).

    Returns:
        Dotted name -> path, e.g. ``"pipeline.core.types"`` -> ``root/pipeline/core/types.py``.
    """
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if any(part.startswith(".") or part == "__pycache__" for part in parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    for script in scripts:
        if (root / script).is_file():
            found[Path(script).stem] = root / script
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which of ``modules`` each one imports, by any import statement anywhere in its file.

    ``from a.b import c`` counts as an import of ``a.b.c`` when that is a module, else of ``a.b``;
    relative imports are resolved against the importing module's package.

    Args:
        modules: from :func:`project_modules`.

    Returns:
        Module -> the set of other modules of ``modules`` it imports.
    """

    def resolve(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    up = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if base else alias.name for alias in node.names] + [base]
            else:
                continue
            for target in targets:
                module = resolve(target)
                if module is not None and module != name:
                    graph[name].add(module)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan, iterative).

    A package and its own submodules importing each other through its ``__init__`` is not counted: it
    is how a package exposes its parts, not a design cycle.

    Args:
        graph: from :func:`import_graph`.

    Returns:
        Each cycle as a sorted list of module names, the cycles sorted.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(c for c in components if not all(m.startswith(min(c, key=len)) for m in c))


def edges_between(graph: dict[str, set[str]], source: str, target: str, allow: tuple[str, ...] = ()) -> list[str]:
    """The imports from modules inside ``source`` to modules inside ``target``, as ``"a -> b"`` lines.

    Args:
        graph: from :func:`import_graph`.
        source: a dotted prefix (``"pipeline"`` means the package and everything under it).
        target: a dotted prefix.
        allow: prefixes of targets that are fine after all (e.g. a room's own modules).

    Returns:
        Sorted ``"module -> imported"`` lines.
    """

    def inside(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    return sorted(
        f"{a} -> {b}"
        for a, targets in graph.items() if inside(a, source)
        for b in targets if inside(b, target) and not any(inside(b, p) for p in allow)
    )


def cycle_report(cycles: list[list[str]]) -> str:
    """One line per cycle, naming its modules (what a failing test prints)."""
    return "\n".join("import cycle: " + " <-> ".join(cycle) for cycle in cycles)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(project_modules(REPO))


# ------------------------------------------------------------------------------------------ project


def test_the_graph_sees_the_project(graph):
    """A sanity check on the builder: the known packages are found, with their known imports."""
    known = {"pipeline.core.types", "labeling", "app_pages.analyze", "app", "gradio_app", "tools.samplegen.cli"}
    assert known <= set(graph)
    assert "pipeline.core.types" in graph["pipeline.timeline.analyze"]


def test_no_import_cycle(graph):
    cycles = find_cycles(graph)
    assert not cycles, cycle_report(cycles)


def test_pipeline_never_imports_labeling(graph):
    assert edges_between(graph, "pipeline", "labeling") == []


@pytest.mark.parametrize("package", ["pipeline", "labeling"])
def test_core_packages_never_import_the_apps(graph, package):
    assert [edge for app in APPS for edge in edges_between(graph, package, app)] == []


@pytest.mark.parametrize("package", ["pipeline", "labeling"])
def test_run_time_code_never_imports_the_sample_generator(graph, package):
    """``tools.samplegen`` renders the sample media offline; the apps and models never load it."""
    assert edges_between(graph, package, "tools") == []


def test_pipeline_core_imports_no_other_pipeline_room(graph):
    assert edges_between(graph, "pipeline.core", "pipeline", allow=("pipeline.core",)) == []


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(REPO)): n
        for path in project_modules(REPO, scripts=()).values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# ------------------------------------------------------------------------- the builder, on scratch


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_hidden_in_a_function_is_found(tmp_path):
    _write(tmp_path, {
        "pipeline/__init__.py": "",
        "pipeline/a.py": "from pipeline.b import g\n\ndef f():\n    return g()\n",
        "pipeline/b.py": "def g():\n    from pipeline import a  # local: Python never trips over it\n    return a\n",
        "pipeline/c.py": "import pipeline.a\n",
    })
    graph = import_graph(project_modules(tmp_path, packages=("pipeline",)))
    # ``from pipeline import a`` imports the package too (its __init__ runs)
    assert graph["pipeline.a"] == {"pipeline.b"} and graph["pipeline.b"] == {"pipeline", "pipeline.a"}
    cycles = find_cycles(graph)
    assert cycles == [["pipeline.a", "pipeline.b"]]
    assert cycle_report(cycles) == "import cycle: pipeline.a <-> pipeline.b"
    with pytest.raises(AssertionError, match="pipeline.a <-> pipeline.b"):
        test_no_import_cycle(graph)


def test_relative_imports_and_longer_cycles_are_resolved(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from . import core\n",
        "pkg/core/__init__.py": "",
        "pkg/core/x.py": "from ..room import y\n",
        "pkg/room/__init__.py": "",
        "pkg/room/y.py": "from .z import thing\n",
        "pkg/room/z.py": "thing = 1\n\ndef back():\n    from pkg.core.x import y\n    return y\n",
        "labeling/__init__.py": "",
    })
    graph = import_graph(project_modules(tmp_path, packages=("pkg", "labeling")))
    assert graph["pkg"] == {"pkg.core"} and graph["pkg.core.x"] == {"pkg.room", "pkg.room.y"}
    assert graph["pkg.room.y"] == {"pkg.room.z"}
    # a package importing its own submodule is not a cycle; the three modules are
    assert find_cycles(graph) == [["pkg.core.x", "pkg.room.y", "pkg.room.z"]]
    assert edges_between(graph, "pkg.core", "pkg", allow=("pkg.core",)) == [
        "pkg.core.x -> pkg.room", "pkg.core.x -> pkg.room.y"
    ]


def test_a_pipeline_to_labeling_edge_is_found(tmp_path):
    _write(tmp_path, {
        "pipeline/__init__.py": "",
        "pipeline/studio.py": "def f():\n    import labeling.store\n",
        "labeling/__init__.py": "",
        "labeling/store.py": "import pipeline\n",
    })
    graph = import_graph(project_modules(tmp_path, packages=("pipeline", "labeling")))
    assert edges_between(graph, "pipeline", "labeling") == ["pipeline.studio -> labeling.store"]
    assert find_cycles(graph) == []  # labeling.store -> pipeline (the package) does not close a loop


def test_an_acyclic_graph_has_no_cycle():
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"a"}}) == []  # a module never imports itself in this graph


if __name__ == "__main__":  # pragma: no cover - a quick look without pytest
    found = find_cycles(import_graph(project_modules(REPO)))
    print(cycle_report(found) or "no import cycle")
    sys.exit(1 if found else 0)
