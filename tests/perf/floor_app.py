"""The floor: the least a page can cost on this server, to compare every page against.

A minimal Flask app whose only route returns the lesson page's exact bytes (saved by the load
generator from the real page), compressed the same way, served by gunicorn with the same
configuration as the portal. Nothing a page does can be cheaper than this.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

from app import compression
from config import Config

app = Flask(__name__)
app.config.update(
    {name: getattr(Config, name) for name in dir(Config) if name.startswith("COMPRESS")}
)
compression.init_app(app)
_body: list[bytes] = []


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/<path:anything>")
def page(anything: str) -> Response:
    if not _body:
        _body.append(Path(os.environ["BENCH_FLOOR_BODY"]).read_bytes())
    return Response(_body[0], mimetype="text/html")
