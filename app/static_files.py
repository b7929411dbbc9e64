"""Fingerprinted static files: `url_for('static', ...)` adds `?v=<digest of the file>`.

A URL with the file's current digest can never show other content, so it is served with a
year's `Cache-Control: public, immutable`; a changed file gets a new URL at the next page view.
Without the digest (an old bookmark) the file is served with the default short max-age.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, request

DIGEST_LENGTH = 12


class Fingerprints:
    """Digests of the static files, read once per process (again on change in debug mode)."""

    def __init__(self, folder: str, *, watch: bool) -> None:
        self.folder = Path(folder)
        self.watch = watch
        self._digests: dict[str, tuple[float, str | None]] = {}

    def digest(self, filename: str) -> str | None:
        known = self._digests.get(filename)
        if known is not None and not self.watch:
            return known[1]
        path = self.folder / filename
        try:
            resolved = path.resolve()
            if self.folder.resolve() not in resolved.parents:
                return None
            modified = os.stat(resolved).st_mtime
        except OSError:
            return None
        if known is not None and known[0] == modified:
            return known[1]
        digest = hashlib.sha256(resolved.read_bytes()).hexdigest()[:DIGEST_LENGTH]
        self._digests[filename] = (modified, digest)
        return digest


def init_app(app: Flask) -> None:
    if app.static_folder is None:
        return
    fingerprints = Fingerprints(app.static_folder, watch=app.debug)
    app.extensions["static_fingerprints"] = fingerprints
    max_age = app.config["STATIC_FINGERPRINT_MAX_AGE"]

    @app.url_defaults
    def add_fingerprint(endpoint: str | None, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = fingerprints.digest(values["filename"])
            if digest is not None:
                values["v"] = digest

    serve = app.view_functions["static"]

    def static(filename: str):  # noqa: ANN202
        response = serve(filename=filename)
        version = request.args.get("v")
        if version and response.status_code == 200 and version == fingerprints.digest(filename):
            response.cache_control.public = True
            response.cache_control.max_age = max_age
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static
