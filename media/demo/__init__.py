"""Demo data of the media domain: a town library's e-media with real files (``flask demo seed``)."""
