"""Absolute URLs for mails, Stripe and calendars, inside or outside a request."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """The public address (``VHS_PUBLIC_BASE_URL``) of an endpoint, also from jobs and CLI."""
    base = current_app.config["VHS"].public_base_url.rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context("/", base_url=base):
        return base + url_for(endpoint, **values)
