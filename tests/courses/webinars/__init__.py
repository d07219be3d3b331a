"""Tests of courses.webinars."""
