"""webinars."""
