"""The catalogue: stocking items (staff), search with facets, public pages and API."""
