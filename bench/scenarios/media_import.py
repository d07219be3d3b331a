"""Issue 11: bulk import of 10,000 MARC 21 records (in process: wall time and peak memory).

The records are made with pymarc (e-books, audiobooks and e-magazines with people, subjects,
series and descriptions, as the DNB delivers them), written to a file, and imported the way
``flask media import FILE`` does: streamed, in committed batches of 200, as the system actor,
new items as drafts (the default). The first run creates 10,000 items; its wall time is the
figure the issue sets a limit for, and its CPU time the steadier one on a busy machine. The
same file again shows the "unchanged" path (matched, compared, nothing written).
The Python heap's peak growth (tracemalloc) and the process's peak resident memory are
measured on a second file of 10,000 other records, since tracing slows the run it watches.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.scenarios import Context, Outcome, Target, scenario

RECORDS = 10_000
WORDS = [
    "Deich",
    "Nordsee",
    "Krimi",
    "Watt",
    "Husum",
    "Sturm",
    "Leuchtturm",
    "Ebbe",
    "Flut",
    "Möwe",
    "Hafen",
    "Kutter",
    "Insel",
    "Sylt",
    "Kommissarin",
    "Erbe",
    "Geheimnis",
    "Nacht",
    "Moor",
    "Nebel",
    "Familie",
    "Sommer",
    "Winter",
    "Brief",
    "Reise",
]
FIRST = [
    "Anna",
    "Jan",
    "Lena",
    "Paul",
    "Marie",
    "Tom",
    "Sophie",
    "Lukas",
    "Emma",
    "Felix",
    "Hanna",
    "Jonas",
]
LAST = [
    "Berg",
    "Krause",
    "Petersen",
    "Hansen",
    "Jensen",
    "Wolf",
    "Schulz",
    "Lange",
    "Möller",
    "Brandt",
    "Voss",
    "Kühl",
]


def _isbn(n: int) -> str:
    body = f"9798{n:08d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def write_marc(path: Path, count: int, offset: int, seed: int = 11) -> int:
    """``count`` MARC records (ISBNs from ``offset``) into ``path``; its size in bytes."""
    from pymarc import Field, Indicators, Record, Subfield

    rng = random.Random(seed + offset)
    with path.open("wb") as out:
        for n in range(offset, offset + count):
            kind = rng.choice("aaaai")  # four e-books to one audiobook
            serial = n % 50 == 0
            rec = Record(leader=f"00000n{kind}{'s' if serial else 'm'} a2200000 c 4500")
            rec.add_field(Field(tag="001", data=f"BENCH{n:08d}"))
            rec.add_field(Field(tag="003", data="DE-101"))
            rec.add_field(Field(tag="008", data="210101s2021    gw |||||o|||| 00| ||ger c"))
            rec.add_field(Field("020", Indicators(" ", " "), [Subfield("a", _isbn(n))]))
            people = rng.sample(range(len(FIRST)), 2)
            for i, p in enumerate(people):
                name = f"{LAST[p]}, {FIRST[(p + n) % len(FIRST)]}"
                rec.add_field(
                    Field(
                        "100" if i == 0 else "700",
                        Indicators("1", " "),
                        [Subfield("a", name), Subfield("4", "aut" if i == 0 else "nrt")],
                    )
                )
            title = " ".join(rng.sample(WORDS, 3))
            rec.add_field(
                Field(
                    "245",
                    Indicators("1", "0"),
                    [Subfield("a", f"{title} :"), Subfield("b", "Roman /"), Subfield("c", "x")],
                )
            )
            rec.add_field(
                Field(
                    "264",
                    Indicators(" ", "1"),
                    [Subfield("b", "Nordsee Verlag,"), Subfield("c", str(1990 + n % 35))],
                )
            )
            extent = (
                "1 Online-Ressource (1 Audiodatei, 456 Min.)"
                if kind == "i"
                else (f"1 Online-Ressource ({100 + n % 400} Seiten)")
            )
            rec.add_field(Field("300", Indicators(" ", " "), [Subfield("a", extent)]))
            rec.add_field(
                Field(
                    "490",
                    Indicators("1", " "),
                    [Subfield("a", "Nordsee ;"), Subfield("v", str(n % 40))],
                )
            )
            rec.add_field(
                Field(
                    "520", Indicators(" ", " "), [Subfield("a", " ".join(rng.choices(WORDS, k=60)))]
                )
            )
            for term in rng.sample(WORDS, 3):
                rec.add_field(Field("650", Indicators(" ", "7"), [Subfield("a", term)]))
            rec.add_field(Field("041", Indicators("0", " "), [Subfield("a", "ger")]))
            out.write(rec.as_marc())
    return path.stat().st_size


def _import(app: Any, path: Path) -> dict[str, int]:
    """Import ``path`` as ``flask media import`` does; the run's counts."""
    from media.imports import runs
    from media.imports.models import ImportFormat, ImportRun
    from vhs.db import db
    from vhs.uow import unit_of_work

    with app.app_context():
        with unit_of_work():
            actor = runs.system_actor()
            run = runs.start_local_run(actor, path, ImportFormat.MARC, publish=False)
            runs.process(run, source=path)
            run = db.session.get(ImportRun, run.id)
            counts = {"created": run.created, "unchanged": run.unchanged, "rejected": run.rejected}
        db.session.remove()
    return counts


@scenario(
    "media_import_marc",
    title="Import of 10,000 MARC 21 records",
    server=False,
    targets=[
        Target("seconds", "<=", 30, source="issue 11"),
        Target("peak_mb", "<", 300, source="issue 11"),
    ],
    order=70,
)
def media_import_marc(ctx: Context) -> Outcome:
    """Create 10,000 items from a MARC file, then import another 10,000 under tracemalloc."""
    app = ctx.app()
    offset = int(time.time()) % 100_000 * 100  # fresh ISBNs on a reused database
    with tempfile.TemporaryDirectory(prefix="vhs-bench-import-") as tmp:
        first, second = Path(tmp) / "first.mrc", Path(tmp) / "second.mrc"
        size = write_marc(first, RECORDS, offset)
        write_marc(second, RECORDS, offset + RECORDS)
        started, cpu = time.perf_counter(), time.process_time()
        counts = _import(app, first)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        again = time.perf_counter()
        repeat = _import(app, first)
        seconds_again = time.perf_counter() - again
        tracemalloc.start()
        try:
            base, _peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            _import(app, second)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Outcome(
        metrics={
            "seconds": round(seconds, 2),
            # This process's CPU time for the same run: steadier than wall time on a busy
            # machine (the database server's own CPU is not in it).
            "cpu_seconds": round(cpu_seconds, 2),
            "peak_mb": round((peak - base) / 1024 / 1024, 1),
            "rss_peak_mb": round(rss_mb, 1),
            "records_per_second": round(RECORDS / seconds),
            "second_run_seconds": round(seconds_again, 2),
            "file_mb": round(size / 1024 / 1024, 1),
            "created": counts["created"],
            "rejected": counts["rejected"],
            "unchanged_on_second_run": repeat["unchanged"],
        },
        notes=[
            f"{RECORDS:,} records, {size / 1024 / 1024:.1f} MB, batches of 200; "
            f"the same file again: {repeat['unchanged']:,} unchanged in {seconds_again:.1f} s",
            "peak_mb: Python heap growth (tracemalloc) importing another 10,000 records; "
            "rss_peak_mb: the whole benchmark process's peak resident memory",
        ],
    )
