"""Library: licences, loans, holds, patrons and OPDS feeds (built by the library issues).

Imports point one way: ``courses -> library -> media -> vhs``.
"""
