"""The floor: the least a page can cost on this server, to compare every page against.

A minimal Flask app returning the lesson page's exact bytes (saved by the load generator from
the real page), served by gunicorn with the same configuration as the portal, in two ways:

- `/<path>`: compressed on every request, as the portal compresses any page it makes on the
  fly (the floor of the first five rounds): the floor of the catalogue;
- `/kept/<path>`: compressed once, as the portal now sends a kept lesson page (gzip, built from
  parts compressed once): the strict floor, the lesson page's.

Each page is held to the floor that compresses the way it does, so that no page gains or loses
by how its bytes are compressed.
"""

from __future__ import annotations

import gzip
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


def _page() -> bytes:
    if not _body:
        _body.append(Path(os.environ["BENCH_FLOOR_BODY"]).read_bytes())
    return _body[0]


@app.get("/<path:anything>")
def page(anything: str) -> Response:
    return Response(_page(), mimetype="text/html")


_kept: list[bytes] = []


@app.get("/kept/<path:anything>")
def kept_page(anything: str) -> Response:
    if compression.chosen_encoding(("gzip",)) is None:
        return Response(_page(), mimetype="text/html")
    if not _kept:
        _kept.append(gzip.compress(_page(), 9, mtime=0))
    response = Response(_kept[0], mimetype="text/html")
    response.headers["Content-Encoding"] = "gzip"  # the compressor leaves it as it is
    return response
