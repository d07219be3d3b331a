"""WSGI entry point: ``gunicorn wsgi:app``."""

from vhs import create_app

app = create_app()
