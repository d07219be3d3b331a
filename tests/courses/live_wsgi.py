"""WSGI entry point for the concurrency tests' gunicorn (configured by ``VHS_*`` variables).

``VHS_TEST_DISABLE_ROW_LOCKS=1`` turns the course row lock off in this server process: the
control run that shows the concurrency tests can fail.
"""

from __future__ import annotations

import os

from vhs import create_app, testing_switches

if os.environ.get("VHS_TEST_DISABLE_ROW_LOCKS") == "1":
    testing_switches.disable_row_locks = True

app = create_app()
