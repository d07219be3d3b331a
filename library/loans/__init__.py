"""Loans: a patron holding one copy of one licence until due, returned or expired."""
