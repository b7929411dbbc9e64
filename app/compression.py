"""Compressed responses: pages, CSV and JSON documents in Brotli or gzip (COMPRESS_* in config).

On a slow link a 20 KB lesson page becomes about 6 KB. The compressor runs after every other
response hook, so it compresses the final body and adds Accept-Encoding to whatever Vary says.
Off with COMPRESS_RESPONSES=0 when the reverse proxy compresses instead.
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress


def init_app(app: Flask) -> None:
    if app.config.get("COMPRESS_RESPONSES"):
        app.extensions["compress"] = Compress(app)
