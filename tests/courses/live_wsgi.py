"""WSGI entry point for the concurrency tests' gunicorn (configured by ``VHS_*`` variables).

``VHS_TEST_DISABLE_ROW_LOCKS=1`` takes ``FOR UPDATE`` out of every statement this server
process sends: the control run that shows the concurrency tests can fail. It works on the
SQL on its way to the database, so production code carries no switch for it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from sqlalchemy import event

from vhs import create_app
from vhs.db import db

FOR_UPDATE = re.compile(r"\s+FOR UPDATE(\s+SKIP LOCKED|\s+NOWAIT)?", re.IGNORECASE)

app = create_app()

if os.environ.get("VHS_TEST_DISABLE_ROW_LOCKS") == "1":
    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute", retval=True)
        def _without_row_locks(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
        ) -> tuple[str, Any]:
            """Send the statement without its row lock (the control run)."""
            return FOR_UPDATE.sub("", statement), parameters
