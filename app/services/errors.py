"""The domain errors services raise; views turn them into messages or status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Something the platform refuses to do, with a message a person can act on."""


class NotFound(DomainError):
    """The thing does not exist, or the asker may not know that it does."""
