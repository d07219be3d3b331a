"""Accounts: users, roles, registration, login, tokens and the GDPR rights."""
