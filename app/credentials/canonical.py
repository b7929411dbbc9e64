"""RDFC-1.0 canonical N-Quads of a JSON-LD document, as `eddsa-rdfc-2022` signs them.

pyld does the JSON-LD to RDF conversion and the canonical labelling of blank nodes (its
URDNA2015 is RDFC-1.0 with SHA-256). Two things are done here instead:

- Literal escaping. RDFC-1.0 serialises literals in canonical N-Quads: `\\b \\t \\n \\f \\r
  \\" \\\\` as ECHAR, every other control character (U+0000-U+001F, U+007F) as a `\\u`
  escape with four hex digits,
  everything else as itself. pyld 3.3 writes `\\b`, `\\f` and the other control characters
  raw, so a name with such a character would canonicalise differently here and in every
  other implementation (W3C test060). The serialisation is also used inside the blank-node
  hashes, so it is replaced there too, not patched afterwards.
- Strictness. A term the contexts do not define is silently dropped by JSON-LD, and pyld
  drops a triple whose IRI is relative: the signature would then not cover that data. Like
  jsonld.js's "safe mode" (which the reference eddsa-rdfc-2022 implementation uses), any
  such loss raises `CanonicalizationError` instead.

N-Quads input (the W3C test suite) is parsed here as well: pyld 3.3's parser decodes only
some escapes (no `\\u` escapes, none in IRIs) and decodes `\\\\n` wrongly.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from typing import Any

from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from app.credentials.loader import OfflineLoader, default_loader

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# Canonicalising a hostile document can take exponential time (the "poison graph" attack):
# like rdf-canonize's default, each blank node may enter the N-degree hash this many times.
MAX_DEEP_ITERATIONS_PER_NODE = 1
# Credentials are a few dozen quads; nothing legitimate comes near this.
MAX_QUADS = 10_000

Quad = dict[str, dict[str, str]]
Dataset = dict[str, list[Quad]]


class CanonicalizationError(ValueError):
    """The document cannot be canonicalised without losing or inventing data."""


# --- serialisation ----------------------------------------------------------------------

_ECHAR = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')


def _escape_literal(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return _ECHAR.get(char) or f"\\u{ord(char):04X}"

    return _NEEDS_ESCAPE.sub(replace, value)


def _term(component: dict[str, str]) -> str:
    if component["type"] == "IRI":
        return f"<{component['value']}>"
    if component["type"] == "blank node":
        return component["value"]
    text = f'"{_escape_literal(component["value"])}"'
    datatype = component.get("datatype", XSD_STRING)
    if datatype == RDF_LANGSTRING:
        return f"{text}@{component['language']}" if component.get("language") else text
    if datatype != XSD_STRING:
        return f"{text}^^<{datatype}>"
    return text


def serialize_quad(quad: Quad) -> str:
    """One quad as a line of canonical N-Quads (RDFC-1.0 section 4.3 / N-Quads canonical form)."""
    parts = [_term(quad["subject"]), _term(quad["predicate"]), _term(quad["object"])]
    name = quad.get("name")
    if name is not None and name.get("value") not in (None, "@default"):
        parts.append(_term(name))
    return " ".join(parts) + " .\n"


class _Rdfc10(URDNA2015):
    """pyld's URDNA2015 with canonical literal escaping and a bound on the work it does."""

    def __init__(self) -> None:
        super().__init__()
        self._deep_iterations: dict[str, int] = {}
        self._max_deep_iterations = 0

    def hash_first_degree_quads(self, id_: str) -> str:
        # RDFC-1.0 4.6.3: the node's quads, other blank nodes as _:z and itself as _:a,
        # serialised in canonical N-Quads, sorted and hashed. Same as pyld but for the escaping.
        info = self.blank_node_info[id_]
        if "hash" in info:
            return info["hash"]
        lines = []
        for quad in info["quads"]:
            copied = {
                key: (
                    component
                    if key == "predicate"
                    else self.modify_first_degree_component(id_, component, key)
                )
                for key, component in quad.items()
            }
            lines.append(serialize_quad(copied))
        lines.sort()
        info["hash"] = self.hash_nquads(lines)
        return info["hash"]

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        count = self._deep_iterations.get(id_, 0) + 1
        if count > self._max_deep_iterations:
            raise CanonicalizationError(
                "the document's blank nodes are too entangled to canonicalise in bounded time"
            )
        self._deep_iterations[id_] = count
        return super().hash_n_degree_quads(id_, issuer)

    def canonical_nquads(self, dataset: Dataset) -> str:
        total = sum(len(quads) for quads in dataset.values())
        if total > MAX_QUADS:
            raise CanonicalizationError(f"the document has {total} statements (limit {MAX_QUADS})")
        blank_nodes = {
            component["value"]
            for quads in dataset.values()
            for quad in quads
            for component in quad.values()
            if component.get("type") == "blank node"
        } | {name for name in dataset if name.startswith("_:")}
        self._max_deep_iterations = max(len(blank_nodes), 1) * MAX_DEEP_ITERATIONS_PER_NODE
        # pyld's main() labels the blank nodes in place (its step 7 "optimises away the
        # copy"); its own serialisation of the result is discarded and redone canonically.
        self.main(dataset, {"algorithm": "URDNA2015", "format": "application/n-quads"})
        lines = []
        for quad in self.quads:
            for key in ("subject", "object", "name"):
                component = quad.get(key)
                if (
                    component is not None
                    and component["type"] == "blank node"
                    and not component["value"].startswith("_:c14n")
                ):
                    raise RuntimeError("pyld no longer relabels in place; see canonical.py")
            lines.append(serialize_quad(quad))
        return "".join(sorted(lines))


# --- N-Quads parsing ------------------------------------------------------------------

_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_IRI = rf"<((?:[^\x00-\x20<>\"{{}}|^`\\]|{_UCHAR})*)>"
_PN = r"A-Za-z0-9_\u00b7-\U000effff"  # blank node label characters (a superset of PN_CHARS)
_BNODE = rf"(_:[{_PN}](?:[{_PN}.\-]*[{_PN}\-])?)"
_LITERAL = rf'"((?:[^"\\\n\r]|\\[tbnrf"\'\\]|{_UCHAR})*)"'
_LANG = r"@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*)"
_WS = r"[ \t]*"
_QUAD = re.compile(
    rf"^{_WS}(?:{_IRI}|{_BNODE}){_WS}{_IRI}{_WS}"
    rf"(?:{_IRI}|{_BNODE}|{_LITERAL}(?:\^\^{_IRI}|{_LANG})?){_WS}"
    rf"(?:(?:{_IRI}|{_BNODE}){_WS})?\.{_WS}(?:#.*)?$"
)
_SKIP = re.compile(rf"^{_WS}(?:#.*)?$")
_ESCAPE = re.compile(rf"\\[tbnrf\"'\\]|{_UCHAR}")
_UNESCAPE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'"}


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token[1] in "uU":
            return chr(int(token[2:], 16))
        return _UNESCAPE.get(token[1], "\\")

    return _ESCAPE.sub(replace, text)


def parse_nquads(text: str) -> Dataset:
    """An RDF dataset (pyld's structure) from N-Quads, decoding every escape correctly."""
    dataset: Dataset = {}
    seen: set[tuple[Any, ...]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if _SKIP.match(line):
            continue
        match = _QUAD.match(line)
        if match is None:
            raise CanonicalizationError(f"line {number} is not an N-Quads statement: {line!r}")
        (s_iri, s_bnode, p_iri, o_iri, o_bnode, o_lit, o_dt, o_lang, g_iri, g_bnode) = (
            match.groups()
        )
        subject = (
            {"type": "IRI", "value": _unescape(s_iri)}
            if s_iri is not None
            else {"type": "blank node", "value": s_bnode}
        )
        if o_iri is not None:
            obj = {"type": "IRI", "value": _unescape(o_iri)}
        elif o_bnode is not None:
            obj = {"type": "blank node", "value": o_bnode}
        else:
            obj = {"type": "literal", "value": _unescape(o_lit)}
            if o_dt is not None:
                obj["datatype"] = _unescape(o_dt)
            elif o_lang is not None:
                obj["datatype"] = RDF_LANGSTRING
                obj["language"] = o_lang
            else:
                obj["datatype"] = XSD_STRING
        graph = _unescape(g_iri) if g_iri is not None else g_bnode if g_bnode is not None else None
        quad: Quad = {
            "subject": subject,
            "predicate": {"type": "IRI", "value": _unescape(p_iri)},
            "object": obj,
        }
        key = (
            graph,
            *(tuple(sorted(component.items())) for component in quad.values()),
        )
        if key in seen:
            continue
        seen.add(key)
        dataset.setdefault(graph or "@default", []).append(quad)
    return dataset


def canonicalize_dataset(dataset: Dataset) -> str:
    """RDFC-1.0 canonical N-Quads of an RDF dataset. The dataset is consumed (relabelled)."""
    return _Rdfc10().canonical_nquads(dataset)


def canonicalize_nquads(text: str) -> str:
    """RDFC-1.0 canonical N-Quads of an N-Quads document."""
    return canonicalize_dataset(parse_nquads(text))


# --- JSON-LD ----------------------------------------------------------------------------

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_KEYWORDS_WITH_NODES = ("@graph", "@list", "@set", "@included")
# pyld 3.3 resolves a relative IRI against "http://example.org/base/" when a document has no
# base, where JSON-LD (and jsonld.js) leave it relative. Expanding against this base instead
# (.invalid is reserved, RFC 2606) lets us find every relative IRI afterwards.
RELATIVE_BASE = "https://relative-iri.invalid/"


def _is_absolute(value: object) -> bool:
    return (
        isinstance(value, str)
        and _ABSOLUTE_IRI.match(value) is not None
        and not value.startswith(RELATIVE_BASE)
    )


def _shown(iri: str) -> str:
    return repr(iri.removeprefix(RELATIVE_BASE))


def _relative_iris(element: Any, path: str = "") -> Iterator[str]:
    """Where an expanded document still holds a relative IRI, which toRdf would drop."""
    if isinstance(element, list):
        for item in element:
            yield from _relative_iris(item, path)
        return
    if not isinstance(element, dict):
        return
    if "@value" in element:
        datatype = element.get("@type")
        if datatype is not None and datatype != "@json" and not _is_absolute(datatype):
            yield f"{path or 'value'}: datatype {_shown(datatype)} is not an absolute IRI"
        return
    node_id = element.get("@id")
    if node_id is not None and not (_is_absolute(node_id) or node_id.startswith("_:")):
        yield f"{path or 'document'}: id {_shown(node_id)} is not an absolute IRI"
    for node_type in element.get("@type", []):
        if not (_is_absolute(node_type) or node_type.startswith("_:")):
            yield f"{path or 'document'}: type {_shown(node_type)} is not defined by the @context"
    for key, value in element.items():
        if key in ("@id", "@type", "@index", "@language", "@direction"):
            continue
        if key == "@reverse":
            for reverse_key, reverse_value in value.items():
                yield from _relative_iris(reverse_value, f"{path}/^{reverse_key}")
            continue
        if key.startswith("@") and key not in _KEYWORDS_WITH_NODES:
            continue
        if not key.startswith("@") and not _is_absolute(key):
            yield f"{path}: property {_shown(key)} is not an absolute IRI"
        yield from _relative_iris(value, f"{path}/{key}")


def _plain_numbers(value: Any) -> Any:
    """The document with integral floats as ints; NaN and infinities refused.

    JSON has one number type, and JSON-LD writes a number without a fractional part as an
    integer literal ("10"), as jsonld.js does for the number 10. pyld writes a Python float
    10.0 as a double ("1.0E1"), so the same credential read back from JSON as 10.0 would
    canonicalise differently. Normalising first gives what every other implementation gives.
    """
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalizationError(f"{value!r} is not a JSON number")
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, dict):
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_numbers(item) for item in value]
    raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def to_dataset(document: dict[str, Any], *, loader: OfflineLoader | None = None) -> Dataset:
    """The RDF dataset of a JSON-LD document, refusing anything that would be dropped."""
    if not isinstance(document, dict):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    loader = loader or default_loader()
    dropped: list[str] = []

    def on_dropped(term: str | None) -> None:
        dropped.append(repr(term) if term is not None else "a term mapped to null")

    processor = jsonld.JsonLdProcessor(on_property_dropped=on_dropped)
    options: dict[str, Any] = {
        "documentLoader": loader,
        "base": RELATIVE_BASE,
        "processingMode": "json-ld-1.1",
    }
    try:
        options["contextResolver"] = ContextResolver(loader.context_cache, loader)
        expanded = processor.expand(copy.deepcopy(_plain_numbers(document)), options)
        if dropped:
            raise CanonicalizationError(
                "the @context does not define "
                + ", ".join(sorted(set(dropped)))
                + "; these properties would not be signed"
            )
        relative = sorted(set(_relative_iris(expanded)))
        if relative:
            raise CanonicalizationError("; ".join(relative))
        options["contextResolver"] = ContextResolver(loader.context_cache, loader)
        return processor.to_rdf(expanded, {**options, "produceGeneralizedRdf": False})
    except CanonicalizationError:
        raise
    except jsonld.JsonLdError as error:
        raise CanonicalizationError(_describe(error)) from error
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as error:
        # pyld assumes well-formed JSON-LD in places; a hostile document must not crash us.
        message = f"not valid JSON-LD ({type(error).__name__}: {error})"
        raise CanonicalizationError(message) from error


def _describe(error: BaseException) -> str:
    """The most specific message in a pyld error chain (the root cause says the most)."""
    messages = []
    current: BaseException | None = error
    while current is not None and len(messages) < 8:
        messages.append(str(getattr(current, "message", None) or current).strip())
        current = current.__cause__ or current.__context__
    for message in reversed(messages):
        if message:
            return message
    return "not valid JSON-LD"


def canonicalize(document: dict[str, Any], *, loader: OfflineLoader | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, contexts from `loader` only."""
    return canonicalize_dataset(to_dataset(document, loader=loader))
