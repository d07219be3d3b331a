"""Media: media items, files and storage (local directory default, S3-compatible).

Built by the library issues; depends only on the core (``vhs``).
"""
