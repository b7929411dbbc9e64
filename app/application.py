"""The portal's Flask class: Flask, with the answer to one question it asks on every request
kept instead of worked out again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

# Hooks and views are few and live as long as the app; a bound method is made anew each time,
# so the count is kept bounded all the same.
_KEPT_ANSWERS = 4096


class Portal(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_forms: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        """Flask asks whether every hook and view is a coroutine function, on every request
        (`inspect`, a few hundredths of a millisecond each, a dozen times a request); the
        answer never changes."""
        known = self._sync_forms.get(func)
        if known is None:
            known = super().ensure_sync(func)
            if len(self._sync_forms) >= _KEPT_ANSWERS:
                self._sync_forms.clear()
            self._sync_forms[func] = known
        return known
