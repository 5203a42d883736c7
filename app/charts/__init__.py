"""The studio's shared chart look and figure helpers, used by every page."""
