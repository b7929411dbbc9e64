"""Compressed responses: pages, CSV and JSON documents in Brotli or gzip (COMPRESS_* in config).

On a slow link a 20 KB lesson page becomes about 6 KB. The compressor runs after every other
response hook, so it compresses the final body and adds Accept-Encoding to whatever Vary says.
Off with COMPRESS_RESPONSES=0 when the reverse proxy compresses instead.

A page kept whole in memory (`KeptPage`, the lesson page) is compressed once instead, when it is
first sent: compressing it on every request cost a quarter of the page's time.
"""

from __future__ import annotations

import functools
import struct
import zlib

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.http import parse_accept_header

# RFC 1952: deflate, no file name, no time, maximum compression, unknown system.
_GZIP_HEADER = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 255))


def init_app(app: Flask) -> None:
    if app.config.get("COMPRESS_RESPONSES"):
        app.extensions["compress"] = _Compress(app)


class _Compress(Compress):
    """Flask-Compress, done sooner with a response that has its encoding already (a kept
    page): it only adds Accept-Encoding to the response's Vary, as Flask-Compress does before
    it leaves such a response, without reading the request's headers first."""

    def after_request(self, response: Response | None) -> Response:
        if response is None or "Content-Encoding" not in response.headers:
            return super().after_request(response)
        # A kept page says it already (`kept_page_response`): reading Vary into a set and
        # writing it back costs as much as the rest of this hook.
        vary = response.headers.get("Vary", "")
        if "accept-encoding" not in {value.strip().lower() for value in vary.split(",")}:
            response.vary.add("Accept-Encoding")
        return response


# A reader's text (a CSRF token, under 100 bytes) needs no more than deflate's smallest window
# and hash: with the defaults zlib sets up and clears some 260 KB for it, 60 µs a signed-in
# lesson page. A longer text still compresses correctly, only less.
_SMALL_WINDOW_BITS, _SMALL_MEMORY_LEVEL = 9, 1


def _deflated(data: bytes, *, level: int, last: bool, small: bool = False) -> bytes:
    """`data` as deflate blocks that refer to nothing before them, so that they can follow any
    other such blocks: ending byte-aligned (a sync flush), or as the stream's end. `small`: the
    least memory, for a few hundred bytes."""
    if small:
        compressor = zlib.compressobj(
            level, zlib.DEFLATED, -_SMALL_WINDOW_BITS, _SMALL_MEMORY_LEVEL
        )
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    end = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    return compressor.compress(data) + compressor.flush(end)


class KeptPage:
    """A page kept in memory as parts, sent with the same text (a reader's CSRF token) put
    between every two parts.

    Each part is compressed once, on its own, the first time the page is sent compressed; a
    request then only deflates its own text and strings the pieces together into one gzip
    stream. A page of one part (nothing of its reader's in it) is also kept in Brotli.
    """

    __slots__ = ("parts", "size", "_encoded", "_deflated_parts", "_brotli")

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self._encoded = [part.encode() for part in parts]
        self.size = sum(map(len, self._encoded))  # without the text put between the parts
        self._deflated_parts: list[bytes] | None = None
        self._brotli: bytes | None = None

    def text(self, filler: str) -> str:
        return filler.join(self.parts)

    def gzip(self, filler: str) -> bytes:
        """The page as one gzip stream, `filler` between its parts."""
        if self._deflated_parts is None:
            last = len(self._encoded) - 1
            self._deflated_parts = [
                _deflated(part, level=9, last=index == last)
                for index, part in enumerate(self._encoded)
            ]
        fill = filler.encode()
        between = _deflated(fill, level=1, last=False, small=True)
        pieces = [_GZIP_HEADER]
        checksum = size = 0
        parts = zip(self._encoded, self._deflated_parts, strict=True)
        for index, (part, packed) in enumerate(parts):
            if index:
                pieces.append(between)
                checksum = zlib.crc32(fill, checksum)
                size += len(fill)
            pieces.append(packed)
            checksum = zlib.crc32(part, checksum)
            size += len(part)
        pieces.append(struct.pack("<II", checksum, size & 0xFFFFFFFF))
        return b"".join(pieces)

    def brotli(self) -> bytes:
        """A page of one part in Brotli, at its best (it is compressed once)."""
        if len(self.parts) != 1:
            raise ValueError("only a page of one part is kept in Brotli")
        if self._brotli is None:
            self._brotli = brotli.compress(self._encoded[0], quality=11)
        return self._brotli


@functools.lru_cache(maxsize=256)
def _best_encoding(accepted: str, offered: tuple[str, ...]) -> str | None:
    return parse_accept_header(accepted).best_match(offered)


def chosen_encoding(offered: tuple[str, ...]) -> str | None:
    """Which of `offered` this request's browser takes best; None for none. Remembered for
    each Accept-Encoding header (browsers send a handful): parsing it cost a twentieth of a
    kept page."""
    return _best_encoding(request.headers.get("Accept-Encoding", ""), offered)


def kept_page_response(page: KeptPage, filler: str = "") -> Response:
    """An HTML response of a kept page, compressed when the browser accepts it as it is kept
    (Flask-Compress leaves a response that has an encoding), saying it varies with the
    browser's Accept-Encoding."""
    config = current_app.config
    encoding = None
    if config.get("COMPRESS_RESPONSES") and page.size >= config["COMPRESS_MIN_SIZE"]:
        encoding = chosen_encoding(("br", "gzip") if len(page.parts) == 1 else ("gzip",))
    if encoding is None:
        return Response(page.text(filler), mimetype="text/html")
    body = page.brotli() if encoding == "br" else page.gzip(filler)
    return Response(
        body,
        mimetype="text/html",
        headers={"Content-Encoding": encoding, "Vary": "Accept-Encoding"},
    )
