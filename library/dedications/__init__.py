"""Course-bound copies: copies of a licence dedicated to a closed group (a course)."""
