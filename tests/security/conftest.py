"""The fetch tests' local server fixtures, shared here."""

from tests.fetch.conftest import make_server, server  # noqa: F401
