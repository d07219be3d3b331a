"""Accessibility checks for the browser suite: axe-core on the page as the visitor sees it."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

# The impacts that fail a page; "minor" and "moderate" findings are printed by axe, not fatal.
FATAL_IMPACTS = frozenset({"serious", "critical"})

_axe = Axe()


def _describe(violation: dict[str, Any]) -> str:
    nodes = "\n".join(
        f"      at {', '.join(map(str, node['target']))}: {node.get('html', '')[:160]}\n"
        f"         {node.get('failureSummary', '').strip().replace(chr(10), ' / ')}"
        for node in violation["nodes"][:8]
    )
    return (
        f"  [{violation['impact']}] {violation['id']}: {violation['help']}\n"
        f"    {violation['helpUrl']}\n{nodes}"
    )


def axe_check(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on ``page``; fail on any serious or critical violation.

    Returns the remaining (minor/moderate) violations so a test can look at them if it wants.
    """
    results = _axe.run(page).response
    violations = results["violations"]
    fatal = [v for v in violations if v.get("impact") in FATAL_IMPACTS]
    assert not fatal, (
        f"axe-core: {len(fatal)} serious/critical violation(s) on {page.url}:\n"
        + "\n".join(_describe(v) for v in fatal)
    )
    return [v for v in violations if v not in fatal]
