"""Tests of courses.calendar."""
