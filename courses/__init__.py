"""Courses: terms, categories, courses, sessions, enrolment, webinars."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Wire the courses domain into the app (blueprints, registries)."""
