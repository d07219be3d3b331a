"""Courses: terms, categories, courses, sessions, enrolment, teaching, webinars, certificates.

The domain is wired into the app by ``courses.domain`` (found through the ``vhs.domains``
entry point); importing this package alone registers nothing.
"""
