"""Tests of courses.teaching."""
