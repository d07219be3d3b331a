"""Patrons: library cards and who may borrow."""
