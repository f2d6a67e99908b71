"""The ways a secret can be written in text: one rule, used by the redactor and by the detectors alike.

A password or token leaks through encodings the target (or a renderer) chose: percent-escaped in a URL (either
case, whole or in part), JSON- or HTML-escaped in a document, base64 or hex, alone or inside a bigger blob.
Rather than spell out every escaped variant, text is *unescaped* one character at a time into views (all
kinds of escape together, a few layers deep, and each kind alone), each view character remembering the
span of text it came from; the secret is then searched in the text and in
each view as a handful of literal forms: itself, with "+" for space, reversed, the stable inner substrings
of its base64 and base64url encodings at the three alignments a blob can give it, and its hex (matched in
either case). A match in a view maps back to the exact span of the original text, so the redactor can
replace it there.
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MIN_RAW_LENGTH = 4  # a secret itself is searched from this length (shorter ones would match by accident)
MIN_FORM_LENGTH = 6  # a derived form (base64, hex, reversed) must be at least this long to be searched
MAX_UNESCAPE_ROUNDS = 3  # "%2541" is "%41" is "A": a few layers, bounded

# One escape = one character. Percent escapes come as runs, decoded as UTF-8 one character at a time.
_PERCENT = r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
_JSON = (
    r"(?P<pair>\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?P<u>\\u[0-9a-fA-F]{4})"
    r"|(?P<short>\\[\"\\/bfnrt])"
)
_HTML = r"(?P<html>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);)"
_ESCAPE = re.compile(f"{_PERCENT}|{_JSON}|{_HTML}")
# Each kind alone too: a secret holding "%41" that was JSON-escaped must not lose "%41" to URL-decoding.
_FAMILIES = {"%": re.compile(_PERCENT), "\\": re.compile(_JSON), "&": re.compile(_HTML)}
_JSON_SHORT = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HTML_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\xa0"}


@dataclass(frozen=True)
class Forms:
    """The literal forms of one secret: ``exact`` ones are case-sensitive, ``hex`` ones are lower case and
    matched in either case."""

    exact: tuple[str, ...]
    hex: tuple[str, ...]


def secret_bytes(secret: str) -> bytes:
    return secret.encode("utf-8", "surrogatepass")


def base64_cores(data: bytes) -> set[str]:
    """The part of ``data``'s base64 that is the same wherever ``data`` sits inside a longer blob.

    Base64 encodes 3-byte groups; ``data`` may start at any of the 3 offsets of a group. For each offset,
    the whole groups that lie inside ``data`` encode to the same characters whatever surrounds it.
    """
    cores = set()
    for skip in range(3):
        whole = (len(data) - skip) // 3 * 3
        if whole > 0:
            std = base64.b64encode(data[skip : skip + whole]).decode("ascii")
            cores |= {std, std.replace("+", "-").replace("/", "_")}
    return cores


def forms(secret: str, min_form: int = MIN_FORM_LENGTH) -> Forms:
    """Every literal form of ``secret`` worth searching (none for secrets shorter than MIN_RAW_LENGTH)."""
    if len(secret) < MIN_RAW_LENGTH:
        return Forms((), ())
    raw = secret_bytes(secret)
    derived = {secret[::-1], *base64_cores(raw)}
    # "+" for space is form encoding; the other characters may be escaped too, which the views undo.
    exact = {secret, secret.replace(" ", "+")} | {f for f in derived if len(f) >= min_form}
    hexed = raw.hex()
    return Forms(tuple(sorted(exact, key=len, reverse=True)), (hexed,) if len(hexed) >= min_form else ())


# --- unescaped views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Map:
    """Where each character of an unescaped view came from in the text it was made of.

    Segments start at ``vstart[i]`` in the view: a literal run maps one to one from ``tstart[i]``; an escape
    is one view character spanning ``tstart[i]:tend[i]`` of the text.
    """

    vstart: tuple[int, ...]
    tstart: tuple[int, ...]
    tend: tuple[int, ...]
    literal: tuple[bool, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The text span that view characters ``start:end`` (non-empty) came from."""
        return self._begin(start), self._finish(end - 1)

    def _begin(self, v: int) -> int:
        i = bisect_right(self.vstart, v) - 1
        return self.tstart[i] + (v - self.vstart[i]) if self.literal[i] else self.tstart[i]

    def _finish(self, v: int) -> int:
        i = bisect_right(self.vstart, v) - 1
        return self.tstart[i] + (v - self.vstart[i]) + 1 if self.literal[i] else self.tend[i]


def _decode_percent_run(run: str) -> Iterator[tuple[str | None, int, int]]:
    """(character or None for "keep literally", start, end) over a run of %XX escapes, as UTF-8."""
    data = bytes.fromhex(run.replace("%", ""))
    i = 0
    while i < len(data):
        lead = data[i]
        size = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4
        try:
            char = data[i : i + size].decode("utf-8") if lead < 0xF5 else None
        except UnicodeDecodeError:
            char = None
        if char is None or len(char) != 1:
            yield None, 3 * i, 3 * i + 3
            i += 1
        else:
            yield char, 3 * i, 3 * (i + size)
            i += size


def _decode_escape(m: re.Match[str]) -> Iterator[tuple[str | None, int, int]]:
    """The characters one escape match stands for, with their spans relative to the match."""
    text, kind = m.group(0), m.lastgroup
    if kind == "pct":
        yield from _decode_percent_run(text)
        return
    if kind == "pair":
        high, low = int(text[2:6], 16), int(text[8:12], 16)
        yield chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), 0, len(text)
    elif kind == "u":
        yield chr(int(text[2:], 16)), 0, len(text)
    elif kind == "short":
        yield _JSON_SHORT[text[1]], 0, 2
    else:
        body = text[1:-1]
        code = int(body[2:], 16) if body[:2] in ("#x", "#X") else int(body[1:]) if body[0] == "#" else None
        if code is None:
            yield _HTML_NAMED[body], 0, len(text)
        elif 0 < code <= 0x10FFFF:
            yield chr(code), 0, len(text)
        else:
            yield None, 0, len(text)


def _unescape(text: str, escapes: re.Pattern[str] = _ESCAPE) -> tuple[str, _Map] | None:
    """``text`` with one layer of ``escapes`` undone, and where each character came from; None if none."""
    pieces: list[str] = []
    segs: list[tuple[int, int, int, bool]] = []
    vpos = pos = 0
    decoded_any = False

    def literal(start: int, end: int) -> None:
        nonlocal vpos
        if end > start:
            segs.append((vpos, start, end, True))
            pieces.append(text[start:end])
            vpos += end - start

    for m in escapes.finditer(text):
        literal(pos, m.start())
        for char, start, end in _decode_escape(m):
            if char is None:
                literal(m.start() + start, m.start() + end)
            else:
                segs.append((vpos, m.start() + start, m.start() + end, False))
                pieces.append(char)
                vpos += 1
                decoded_any = True
        pos = m.end()
    if not decoded_any:
        return None
    literal(pos, len(text))
    vstart, tstart, tend, lit = zip(*segs, strict=True)
    return "".join(pieces), _Map(vstart, tstart, tend, lit)


def _views(text: str) -> Iterator[tuple[str, tuple[_Map, ...]]]:
    """The text itself, each layer of unescaping (a few at most), and each kind of escape undone alone,
    with the maps back to the text."""
    yield text, ()
    present = [pattern for mark, pattern in _FAMILIES.items() if mark in text]
    if not present:
        return
    maps: tuple[_Map, ...] = ()
    view = text
    for _ in range(MAX_UNESCAPE_ROUNDS):
        step = _unescape(view)
        if step is None:
            break
        view, layer = step
        maps = (layer, *maps)
        yield view, maps
    if len(present) > 1:  # with one kind present, the first layer above is that kind alone
        for pattern in present:
            if step := _unescape(text, pattern):
                yield step[0], (step[1],)


def _to_text(maps: tuple[_Map, ...], start: int, end: int) -> tuple[int, int]:
    for layer in maps:
        start, end = layer.span(start, end)
    return start, end


# --- searching -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """Text ``start:end`` holds ``secrets`` (several when their matches overlapped and were merged)."""

    start: int
    end: int
    secrets: tuple[str, ...]


class _Table:
    """Literal forms, searched with C-level string operations (a Python loop per character is far slower)."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}  # form -> the secret it writes
        self._by_prefix: dict[str, list[str]] = {}

    def add(self, form: str, secret: str, *, override: bool = False) -> None:
        if form in self.owner:
            if override:
                self.owner[form] = secret
            return
        self.owner[form] = secret
        self._by_prefix.setdefault(form[:_PREFIX], []).append(form)

    def scan(self, haystack: str) -> Iterator[tuple[int, str]]:
        """(position, form) for every occurrence of every form."""
        if len(haystack) <= _SHORT_TEXT:
            # Short texts (most evidence strings): only forms whose first characters occur in it.
            grams = {haystack[i : i + _PREFIX] for i in range(len(haystack) - _PREFIX + 1)}
            candidates = [f for key in self._by_prefix.keys() & grams for f in self._by_prefix[key]]
        else:
            candidates = [f for f in self.owner if f in haystack]
        for form in candidates:
            at = haystack.find(form)
            while at >= 0:
                yield at, form
                at = haystack.find(form, at + 1)


_PREFIX = MIN_RAW_LENGTH  # no form is shorter
_SHORT_TEXT = 512
_HEX_RUN = re.compile(rf"[0-9A-Fa-f]{{{2 * MIN_RAW_LENGTH},}}")


class SecretIndex:
    """Finds any of a set of secrets in text, in any of its forms, escaped or not."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._exact = _Table()
        self._hex = _Table()  # lower case; matched in either case
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        found = forms(secret)
        for form in found.exact:
            self._exact.add(form, secret, override=form == secret)  # a secret's own value beats a derived form
        for form in found.hex:
            self._hex.add(form, secret)

    def __bool__(self) -> bool:
        return bool(self._exact.owner)

    def hits(self, text: str) -> list[Hit]:
        """Every place in ``text`` that holds a secret, merged where places overlap, in text order."""
        if not self or not text:
            return []
        raw: list[tuple[int, int, str]] = []
        for view, maps in _views(text):
            for at, form in self._exact.scan(view):
                raw.append((*_to_text(maps, at, at + len(form)), self._exact.owner[form]))
            for run in _HEX_RUN.finditer(view):
                for at, form in self._hex.scan(run.group(0).lower()):
                    at += run.start()
                    raw.append((*_to_text(maps, at, at + len(form)), self._hex.owner[form]))
        return _merge(raw)

    def search(self, text: str) -> tuple[str, ...]:
        """The secrets ``text`` holds, in order of appearance, each once."""
        return tuple(dict.fromkeys(s for hit in self.hits(text) for s in hit.secrets))


def _merge(raw: list[tuple[int, int, str]]) -> list[Hit]:
    merged: list[Hit] = []
    for start, end, secret in sorted(raw, key=lambda r: (r[0], -r[1])):
        last = merged[-1] if merged else None
        if last is not None and start < last.end:
            names = last.secrets if secret in last.secrets else (*last.secrets, secret)
            merged[-1] = Hit(last.start, max(last.end, end), names)
        else:
            merged.append(Hit(start, end, (secret,)))
    return merged


def contains(text: str, secret: str) -> bool:
    """True when ``text`` holds ``secret`` in any of its forms."""
    return bool(SecretIndex([secret]).hits(text))


def decodes_to(value: str, secret: str) -> bool:
    """True when ``value`` as a whole is ``secret`` in one of the encodings anyone can compute from it
    (itself, escaped, base64 or base64url with or without padding, hex): whoever holds ``secret`` can
    derive ``value``."""
    if not value or not secret:
        return False
    if any(view == secret for view, _ in _views(value)):
        return True
    raw = secret_bytes(secret)
    return _b64(value) == raw or _hex(value) == raw


def _b64(text: str) -> bytes | None:
    core = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(core + "=" * (-len(core) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _hex(text: str) -> bytes | None:
    return bytes.fromhex(text) if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", text) else None
