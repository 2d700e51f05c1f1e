"""JSON-LD for credentials: a document loader that serves only the shipped contexts, canonicalisation, and
the guard against terms that pyld would silently drop or misread.

pyld has no safe mode: a key that no context defines is dropped from the expanded form (so it is not
signed), and an undefined type or a relative IRI is resolved against ``http://example.org/base/``. Other
verifiers reject such a credential, so nothing is signed before ``check_well_defined`` passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

CONTEXTS_DIR = Path(__file__).parent / "contexts"
# Where pyld puts an undefined type or a relative IRI when the document has no base.
PYLD_BASE_IRI: str = jsonld.DEFAULT_BASE_IRI

DocumentLoader = Callable[..., dict[str, Any]]


class UnknownContext(LookupError):
    """A document names a JSON-LD context that Socle does not ship (and so never fetches)."""


class UndefinedTerms(ValueError):
    """A document uses keys or types that its contexts do not define."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = tuple(terms)
        super().__init__(
            "not defined by the document's JSON-LD contexts (pyld would drop them or give them an "
            f"{PYLD_BASE_IRI} IRI): " + ", ".join(self.terms)
        )


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
    return index


@cache
def _context_text(file_name: str) -> str:
    return (CONTEXTS_DIR / file_name).read_text(encoding="utf-8")


def shipped_contexts() -> dict[str, dict[str, Any]]:
    """Every shipped context document by URL."""
    return {url: json.loads(_context_text(name)) for url, name in _index().items()}


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader serving the shipped contexts; any other URL raises ``UnknownContext``."""
    file_name = _index().get(url)
    if file_name is None:
        raise UnknownContext(
            f"JSON-LD context {url!r} is not shipped in {CONTEXTS_DIR} and is never fetched; "
            "add it there (and to index.json) if credentials need it"
        )
    # A fresh copy each time: pyld may keep references to what a loader returns. 'static' lets pyld
    # cache the resolved context, which is safe since the file never changes while the process runs.
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(_context_text(file_name)),
        "tag": "static",
    }


def document_loader_with(extra_contexts: Mapping[str, dict[str, Any]]) -> DocumentLoader:
    """A loader serving the shipped contexts plus ``extra_contexts`` (the W3C test vector's examples one)."""

    def load(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if url in extra_contexts:
            return {"contextUrl": None, "documentUrl": url, "document": extra_contexts[url]}
        return document_loader(url, options)

    return load


def canonize(document: Mapping[str, Any], loader: DocumentLoader = document_loader) -> str:
    """The document's RDFC-1.0 canonical N-Quads (URDNA2015 in pyld's terms: the same algorithm)."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    try:
        canonical: str = jsonld.normalize(dict(document), options)
    except jsonld.JsonLdError as error:
        _reraise_unknown_context(error)
        raise
    return canonical


def check_well_defined(document: Mapping[str, Any], loader: DocumentLoader = document_loader) -> None:
    """Raise ``UndefinedTerms`` unless every key and type of the document is defined by its contexts.

    The document must come back unchanged from expansion then compaction against its own ``@context``
    (single values and one-element arrays count as equal, as in compacted JSON-LD), and its canonical
    form must not contain pyld's placeholder base IRI.
    """
    if "@context" not in document:
        raise UndefinedTerms(["@context (missing)"])
    options = {"documentLoader": loader}
    try:
        expanded = jsonld.expand(dict(document), options)
        compacted = jsonld.compact(expanded, document["@context"], options)
    except jsonld.JsonLdError as error:
        _reraise_unknown_context(error)
        raise
    problems = _differences(_plain(document), _plain(compacted), "")
    for iri in _base_iris(canonize(document, loader)):
        problems.append(f"type or IRI {iri.removeprefix(PYLD_BASE_IRI)!r}")
    if problems:
        raise UndefinedTerms(problems)


def _plain(value: Any) -> Any:
    """Compacted JSON-LD writes a one-element array as its element; compare both the same way."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        return items[0] if len(items) == 1 else items
    return value


def _differences(original: Any, round_trip: Any, path: str) -> list[str]:
    if isinstance(original, dict) and isinstance(round_trip, dict):
        found: list[str] = []
        for key in {**original, **round_trip}:
            where = f"{path}.{key}" if path else key
            if key not in round_trip:
                found.append(f"key {where!r}")
            elif key not in original:
                found.append(f"key {where!r} (added by compaction)")
            else:
                found += _differences(original[key], round_trip[key], where)
        return found
    if isinstance(original, list) and isinstance(round_trip, list) and len(original) == len(round_trip):
        return [
            problem
            for index, (left, right) in enumerate(zip(original, round_trip, strict=True))
            for problem in _differences(left, right, f"{path}[{index}]")
        ]
    return [] if original == round_trip else [f"value at {path or 'top level'!r}"]


def _base_iris(nquads: str) -> list[str]:
    found: list[str] = []
    for token in nquads.split("<")[1:]:
        iri = token.split(">", 1)[0]
        if iri.startswith(PYLD_BASE_IRI) and iri not in found:
            found.append(iri)
    return found


def _reraise_unknown_context(error: BaseException) -> None:
    """pyld wraps loader errors in its own; surface ours so the message names the missing context."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UnknownContext):
            raise cause from error
        cause = cause.__cause__ or cause.__context__
