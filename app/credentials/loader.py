"""A JSON-LD document loader that serves the shipped contexts and nothing else.

Canonicalisation needs every `@context` a credential names. Fetching them at run time would
make signing depend on the network and let whoever serves a context change what a signature
covers, so the exact documents ship in `contexts/` (see its README) and any other URL is
refused before anything leaves the process.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_V3P0_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"

# Resolved contexts kept per loader. The shipped contexts are a handful; the bound is for the
# inline contexts of documents a verifier is handed, which pyld caches by their content.
_CONTEXT_CACHE_SIZE = 64


class DocumentNotAvailable(LookupError):
    """The loader was asked for a URL it does not serve. Nothing was fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"{url!r} is not a context shipped with the portal; documents are never "
            "fetched from the network"
        )
        self.url = url


@cache
def shipped_contexts() -> Mapping[str, Any]:
    """URL -> parsed JSON of every context in `contexts/index.json`."""
    index = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
    return MappingProxyType(
        {
            url: json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
            for url, name in index.items()
        }
    )


class _BoundedCache(dict):
    """The `shared_cache` mapping pyld's ContextResolver writes to, capped in size."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            if key not in self and len(self) >= self._maxsize:
                super().pop(next(iter(self)), None)
            super().__setitem__(key, value)


class OfflineLoader:
    """A pyld document loader over a fixed set of documents: the shipped contexts, plus any
    `documents` given (test vectors' extra contexts, say). Any other URL raises
    `DocumentNotAvailable` without touching the network.
    """

    def __init__(
        self, documents: Mapping[str, Any] | None = None, *, include_shipped: bool = True
    ) -> None:
        served: dict[str, Any] = dict(shipped_contexts()) if include_shipped else {}
        served.update(documents or {})
        self._documents = served
        # pyld's ContextResolver caches resolved contexts here. It is per loader, not pyld's
        # process-wide cache, so no other loader's answer for a URL can leak into ours.
        self.context_cache: dict[Any, Any] = _BoundedCache(_CONTEXT_CACHE_SIZE)

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        document = self._documents.get(url) if isinstance(url, str) else None
        if document is None:
            raise DocumentNotAvailable(str(url))
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            # pyld may rewrite parts of a context it processes: hand out a copy.
            "document": copy.deepcopy(document),
            # Lets pyld keep the resolved context in `context_cache` across operations.
            "tag": "static",
        }


@cache
def default_loader() -> OfflineLoader:
    """The loader over the shipped contexts only."""
    return OfflineLoader()
