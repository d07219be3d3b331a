"""Bulk import of the catalogue: MARC 21 (binary and MARCXML), ONIX 3.0 and CSV, with files."""
