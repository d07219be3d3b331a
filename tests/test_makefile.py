"""The Makefile's promises to a newcomer: ``make run PORT=...`` links to the port it serves,
``make test`` without Chromium stops at once with one message, and every target is phony.

The checks run GNU make itself (``-n`` where a real run would serve or test).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess

import pytest

from vhs.config import REPO_ROOT, Settings

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="GNU make is not installed")
MISSING = "/nonexistent/chromium"


def make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run make in the checkout with ``args``; ``env`` is added to a clean environment."""
    base = {k: v for k, v in os.environ.items() if k not in {"VHS_BROWSER_OPTIONAL", "MAKEFLAGS"}}
    return subprocess.run(
        [str(MAKE), "--no-print-directory", *args],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def served_settings(*args: str) -> Settings:
    """The settings ``flask run`` would get from ``make run *args`` (read from ``make -n``)."""
    result = make("-n", "-s", "run", *args)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if re.search(r"/flask run\b", x))
    assignments = itertools.takewhile(lambda word: "=" in word, shlex.split(line))
    env = dict(word.split("=", 1) for word in assignments)
    return Settings.from_env(env)


def test_make_run_links_point_at_the_port_it_serves():
    assert served_settings("PORT=5101").public_base_url == "http://127.0.0.1:5101"
    assert served_settings().public_base_url == "http://127.0.0.1:5000"
    assert served_settings("HOST=localhost", "PORT=8080").public_base_url == (
        "http://localhost:8080"
    )


def test_make_test_without_chromium_stops_before_ruff_with_one_message():
    # BIN points nowhere, so a command run after the check would fail fast, not test for minutes.
    result = make("test", f"CHROMIUM={MISSING}", "BIN=/nonexistent/bin")
    assert result.returncode != 0
    assert result.stderr.count("apt-get install chromium") == 1, result.stderr
    assert "VHS_BROWSER_OPTIONAL=1 make test" in result.stderr
    assert "ruff" not in result.stdout + result.stderr
    assert "/nonexistent/bin" not in result.stdout + result.stderr


@pytest.mark.parametrize("target", ["pytest", "test-browser"])
def test_the_other_test_targets_check_for_chromium_too(target):
    result = make(target, f"CHROMIUM={MISSING}", "BIN=/nonexistent/bin")
    assert result.returncode != 0
    assert result.stderr.count("apt-get install chromium") == 1, result.stderr
    assert "/nonexistent/bin" not in result.stdout + result.stderr


def test_browser_optional_lets_the_check_pass():
    result = make("check-chromium", f"CHROMIUM={MISSING}", VHS_BROWSER_OPTIONAL="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""


def test_every_target_is_phony():
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, re.M))
    phony_text = re.search(r"^\.PHONY:((?:.*\\\n)*.*)$", text, re.M)
    assert phony_text
    phony = set(phony_text.group(1).replace("\\\n", " ").split())
    assert targets - phony == set()
    assert phony - targets == set()
