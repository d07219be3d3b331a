"""Tests of courses.catalogue."""
