"""Reading what files and records say: EPUB, PDF and audio metadata, covers, MARC 21, ONIX, CSV."""
