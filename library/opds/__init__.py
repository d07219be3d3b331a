"""OPDS for reading apps: the catalogue as OPDS 1.2 (Atom) and OPDS 2.0 (JSON) feeds, the
patron's shelf, borrowing and returning from the app, and Authentication for OPDS 1.0.

Layout: ``feeds`` decides what a feed holds (format-free), ``atom`` and ``opds2`` write it,
``auth`` reads HTTP Basic and answers 401 with the authentication document, ``shelf`` is the
patron's side (the shelf, borrow, revoke) on top of the circulation services, ``cache`` keeps
public feeds and answers conditional requests, ``views`` are the routes.
"""
