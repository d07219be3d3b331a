"""Tests of courses.planning."""
