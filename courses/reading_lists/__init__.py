"""Course reading lists: library media attached to a course, borrowed by its participants."""
