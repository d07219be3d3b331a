// Copies the browser libraries the app serves itself (no CDN) from node_modules into
// ../static/vendor: each package's distributed, minified file and its licence text, and a
// manifest.json with the installed versions and the files' SHA-256, which the test suite
// compares with package-lock.json (tests/library/reader/test_assets.py). `make assets` runs
// `npm ci` and then this; the copies are committed, so running and testing the app needs no Node.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "static", "vendor");

// package -> { file in the package: name in static/vendor/<package>/ }
const FILES = {
  epubjs: { "dist/epub.min.js": "epub.min.js", license: "LICENSE.txt" },
  jszip: { "dist/jszip.min.js": "jszip.min.js", "LICENSE.markdown": "LICENSE.txt" },
};

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

rmSync(vendor, { recursive: true, force: true });
const manifest = {};
for (const [name, files] of Object.entries(FILES)) {
  const source = join(here, "node_modules", name);
  const { version } = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
  const target = join(vendor, name);
  mkdirSync(target, { recursive: true });
  manifest[name] = { version, files: {} };
  for (const [from, to] of Object.entries(files)) {
    copyFileSync(join(source, from), join(target, to));
    manifest[name].files[to] = sha256(join(target, to));
  }
}
writeFileSync(join(vendor, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`copied into ${vendor}:`, Object.entries(manifest).map(([n, m]) => `${n} ${m.version}`).join(", "));
