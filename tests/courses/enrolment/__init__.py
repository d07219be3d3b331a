"""Tests of courses.enrolment."""
