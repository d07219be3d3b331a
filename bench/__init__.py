"""Load and scale benchmarks of vhs-platform (``make bench`` runs ``python -m bench``).

The run: pick a database (PostgreSQL on 127.0.0.1:5432 when it answers, else SQLite under
``bench/_work/``), migrate it, seed ``flask demo seed --scale 100`` (timed), serve the app with
gunicorn, then run every registered scenario and write ``bench/results.json`` and
``bench/results.md``.  Scenarios live in :mod:`bench.scenarios`; see its docstring for how to
add one.  A missed target is reported (``MISSED``), never an error: the exit code is 0 unless the
benchmark itself could not run.
"""
