"""The browser reader's libraries are committed as ``make assets`` copies them: the versions in
``vhs/static/vendor/manifest.json`` are the ones package-lock.json pins, each copied file is
the one the manifest describes, and the reader page loads every script from there (no CDN)."""

from __future__ import annotations

import hashlib
import json

from vhs.config import REPO_ROOT

ASSETS = REPO_ROOT / "vhs" / "assets"
VENDOR = REPO_ROOT / "vhs" / "static" / "vendor"


def test_the_committed_libraries_are_the_versions_package_lock_pins():
    lock = json.loads((ASSETS / "package-lock.json").read_text())
    wanted = json.loads((ASSETS / "package.json").read_text())["dependencies"]
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    assert set(manifest) == set(wanted)
    for name, entry in manifest.items():
        locked = lock["packages"][f"node_modules/{name}"]["version"]
        assert entry["version"] == locked == wanted[name], name
        for file_name, sha256 in entry["files"].items():
            data = (VENDOR / name / file_name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha256, f"{name}/{file_name} was changed"
        assert "LICENSE.txt" in entry["files"], f"{name} ships without its licence text"


def test_nothing_else_lies_in_vendor():
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    listed = {f"{name}/{f}" for name, entry in manifest.items() for f in entry["files"]}
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert present == listed


def test_jszip_says_its_version_itself():
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    head = (VENDOR / "jszip" / "jszip.min.js").read_text()[:200]
    assert f"JSZip v{manifest['jszip']['version']}" in head
