"""French typography, applied by the content pipeline so that authors need not type it.

- a narrow no-break space (U+202F) before ``; : ! ?`` and ``»``, and after ``«``;
- a no-break space (U+00A0) between ``n°`` and its number (« n° 603 »).

It works on text only: ``french(text)`` on a string shown as plain text (quiz prompts and feedback, the
autodiagnostic, titles), ``render_markdown`` on the text tokens of a Markdown page, so that code, URLs,
link targets and HTML attributes are never touched. Inside a text, URLs (``https://…``, ``www.…``) are left
as they are, and so are times (``10:30``), ratios and anything where the sign is glued to what follows
(``a?b=c``, ``!=``): a sign is only spaced when a space or the end of the text follows it.

``check_text`` names what the pipeline cannot fix by itself (wording, inclusive writing forms), for
``flask modules check``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

NNBSP = "\u202f"  # espace fine insécable
NBSP = "\u00a0"  # espace insécable

_SPACES = "[ \u00a0\u202f\t]"
# What may follow a high sign for it to be spaced: a space, the end, or a closing mark.
_AFTER = r"(?=$|[\s\u00a0\u202f»)\]\"'’.,…])"
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)[^\s<>«»]*", re.IGNORECASE)

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # existing spaces (ordinary, no-break or already thin) before a high sign become one thin no-break space
    (re.compile(_SPACES + r"+([;:!?»])" + _AFTER), NNBSP + r"\1"),
    # ; ! ? glued to a word (« Pourquoi? ») get one; ':' is left alone there (10:30, C:, ratios)
    (re.compile(r"(?<=[\w)\]»%…'’\"])([;!?]+)" + _AFTER), NNBSP + r"\1"),
    # » glued to the quoted text
    (re.compile(r"(?<=[\w.!?…)\]%'’\"])»"), NNBSP + "»"),
    # « then spaces, or « glued to the quoted text
    (re.compile(r"«" + _SPACES + r"*(?=\S)"), "«" + NNBSP),
    # n° 603, N°603: a no-break space before the number
    (re.compile(r"\b([nN])[°º]" + _SPACES + r"*(?=\d)"), r"\1°" + NBSP),
)


def _plain(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def french(text: str, *, glued_before: bool = False, glued_after: bool = False) -> str:
    """The text with French spacing. ``glued_before``/``glued_after``: the text touches another inline
    element on that side (``**mot**?``, ``«[lien](…)``), so a sign at that edge is spaced as if glued."""
    if not text:
        return text
    parts: list[str] = []
    position = 0
    for url in _URL.finditer(text):
        parts.append(_plain(text[position : url.start()]))
        parts.append(url.group(0))  # a URL keeps every character
        position = url.end()
    parts.append(_plain(text[position:]))
    result = "".join(parts)
    if glued_before:
        result = re.sub("^([;!?»])", NNBSP + r"\1", result)
    if glued_after:
        result = re.sub("«" + _SPACES + "*$", "«" + NNBSP, result)
    return result


# -- Markdown pages: only text tokens change; code, link targets and attributes stay as written
_GLUE_BREAKERS = {"softbreak", "hardbreak"}


def apply_to_tokens(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        children = token.children
        for index, child in enumerate(children):
            if child.type != "text":
                continue
            before = index > 0 and children[index - 1].type not in _GLUE_BREAKERS
            after = index + 1 < len(children) and children[index + 1].type not in _GLUE_BREAKERS
            child.content = french(child.content, glued_before=before, glued_after=after)


def render_markdown(markdown: MarkdownIt, text: str) -> str:
    env: dict[str, Any] = {}
    tokens = markdown.parse(text, env)
    apply_to_tokens(tokens)
    return str(markdown.renderer.render(tokens, markdown.options, env))


# -- YAML data: the strings a learner reads, French only
TEXT_KEYS = frozenset(
    {
        "prompt",
        "text",
        "feedback",
        "left",
        "right",
        "items",
        "title",
        "summary",
        "objectives",
        "label",
        "meaning",
        "explanation",
        "description",
        "name",
        "levels",
        "date_label",
        "assessment",
        "replace",
        "intro",
        "note",
        "how_to_join",
    }
)
# Never touched, even under a text key: the English side, identifiers, conditions.
SKIP_KEYS = frozenset({"en", "id", "code", "when", "type", "file", "answer"})


def apply_to_data(data: Any, *, inside: bool = False) -> Any:
    """A copy of parsed YAML where the French strings under TEXT_KEYS have French spacing."""
    if isinstance(data, dict):
        return {
            key: data[key]
            if key in SKIP_KEYS
            else apply_to_data(data[key], inside=inside or key in TEXT_KEYS)
            for key in data
        }
    if isinstance(data, list):
        return [apply_to_data(item, inside=inside) for item in data]
    if inside and isinstance(data, str):
        return french(data)
    return data


# -- what the pipeline cannot fix: reported by `modules check`
_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b([dD])e Le RAMEAU\b"),
        "« de » + « Le » contract: write « du RAMEAU » (the name keeps its capitals)",
    ),
    (re.compile(r"\b([àÀ]) Le RAMEAU\b"), "« à » + « Le » contract: write « au RAMEAU »"),
    (
        re.compile(r"\b\w+eur·se(s?)\b"),
        "inclusive form in « eur·se »: write « …eur·euse » (chercheur·euse) or « …eur·rice »",
    ),
    (
        re.compile(r"\b\w+[ée](?:\.e|\(e\)|-e)(?:\.?s|\(s\))?(?!\w)"),
        "inclusive writing uses the point médian « · » (salarié·e, salarié·es); replace « . », « - » or "
        "parentheses",
    ),
)


def check_text(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, excerpt, message) for each wording problem in the text."""
    without_urls = _URL.sub(lambda m: " " * len(m.group(0)), text)
    for number, line in enumerate(without_urls.splitlines(), start=1):
        for pattern, message in _WORDING:
            for found in pattern.finditer(line):
                yield number, found.group(0), message


# -- the UI's French strings: French is the source language, so an untranslated msgid is what a French
# reader sees; the catalogue hands it out with French spacing, for templates and Python alike.
@lru_cache(maxsize=8192)
def french_ui(text: str) -> str:
    """``french`` for a UI string (msgids are few and fixed: remember them)."""
    return french(text)


class FrenchCatalogue:
    """A gettext catalogue whose answers get French spacing (the ``fr`` locale's, where the msgid is the
    text): placeholders such as ``%(name)s`` are untouched, so formatting afterwards still works."""

    def __init__(self, inner: Any):
        self._inner = inner

    def ugettext(self, message: str) -> str:
        return french_ui(self._inner.ugettext(message))

    gettext = ugettext

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return french_ui(self._inner.ungettext(singular, plural, n))

    ngettext = ungettext

    def upgettext(self, context: str, message: str) -> str:
        return french_ui(self._inner.upgettext(context, message))

    pgettext = upgettext

    def unpgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return french_ui(self._inner.unpgettext(context, singular, plural, n))

    npgettext = unpgettext

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_MARKUP_SKIP = re.compile(r"(<[^>]*>|&#?[0-9a-zA-Z]+;)")


def french_markup(html: str) -> str:
    """``french`` for HTML that is already safe: only the text between tags changes; tags, their
    attributes and character references (``&#39;``) stay as they are."""
    parts = _MARKUP_SKIP.split(html)
    return "".join(part if index % 2 else french(part) for index, part in enumerate(parts))
