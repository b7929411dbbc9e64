"""A WSGI app for test_ops: what the collector of the gunicorn worker serving it sees."""

from __future__ import annotations

import gc

# Loaded in the master before the fork (preload_app), as the portal is.
LOADED_BEFORE_FORK = [[number] for number in range(50_000)]  # lists: always tracked


def app(environ, start_response):  # noqa: ANN001, ANN201
    start_response("200 OK", [("Content-Type", "application/json")])
    frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())
    return [f'{{"frozen": {frozen}, "tracked": {tracked}, "enabled": {gc.isenabled():d}}}'.encode()]
