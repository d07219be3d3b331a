"""Patrons: library cards (number, PIN, validity), desk issuance, online applications, the
annual fee, and logging in with card number and PIN (web form and HTTP Basic)."""
