"""The shape of the house, checked by the build: no import circle, no oversized module,
imports at the top, no swallowed ImportError (the layering itself is `lint-imports`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("vhs", "media", "library", "courses")
MAX_LINES = 600
HARD_CODED_ZONE = re.compile(r"""ZoneInfo\(\s*["']Europe/|\bBERLIN\b|tz=["']Europe/""")


def production_modules() -> list[Path]:
    """Every Python file of the four packages."""
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Groups of modules that import each other in a circle (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
    return groups


def test_no_import_circle_between_modules() -> None:
    """Every import counts, also those inside functions; type-checking-only imports do not."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert strongly_connected(graph) == []


def test_strongly_connected_finds_a_circle() -> None:
    """Control: the circle finder sees a circle when there is one."""
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert strongly_connected(graph) == [{"a.x", "a.y"}]


@pytest.mark.parametrize("path", production_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_is_a_room_not_a_house(path: Path) -> None:
    """A module past 600 lines wants a wall."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def _function_imports(tree: ast.AST) -> list[ast.stmt]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def test_imports_inside_functions_say_why() -> None:
    """An import inside a function carries a comment (same line or the line above) saying why."""
    unexplained = []
    for path in production_modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in _function_imports(ast.parse("\n".join(lines))):
            here, above = lines[node.lineno - 1], lines[node.lineno - 2].strip()
            if "#" not in here and not above.startswith("#"):
                unexplained.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert unexplained == []


def test_no_import_error_is_swallowed() -> None:
    """A broken import of the project's own code must fail loudly, never remove a feature."""
    offenders = []
    for path in production_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if names & {"ImportError", "ModuleNotFoundError"}:
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_the_time_zone_is_never_hard_coded() -> None:
    """Times are shown in ``VHS_TIMEZONE`` (``vhs.i18n.local_zone``); only its default names one."""
    offenders = []
    for path in production_modules():
        if path == REPO / "vhs" / "config.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if HARD_CODED_ZONE.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert offenders == []
