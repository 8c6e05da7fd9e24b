"""The client's version: the one definition (tests/test_versions.py checks it against the
distribution's and the add-on's)."""

__version__ = "0.1.0"
