"""Property tests: a secret is found, and scrubbed, in every encoding a target or a renderer may choose;
readable session state is recognised in every wrapping.

The encodings are produced here with the standard library (quote, json, html, base64, hex), and after
scrubbing each is undone the same independent way, so the tests do not share the module's own rules.
"""

from __future__ import annotations

import base64
import html
import json
import string
from collections.abc import Callable
from urllib.parse import quote, unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isp_audit.analysis.encodings import contains, decodes_to
from isp_audit.analysis.tokens import analyse_token
from isp_audit.evidence.redact import Redactor, is_placeholder

# Printable text, ASCII and beyond (accents, CJK, emoji outside the BMP), never lone surrogates.
SECRETS = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co", "Cn")), min_size=8, max_size=40
).filter(lambda s: s.isprintable() and s.strip() == s and len(set(s)) > 2 and not is_placeholder(s))
# (deletion placeholders such as "undefined" are deliberately never secrets: see redact.is_placeholder)
LEFT, RIGHT = "⟦ctx ", " ctx⟧"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _percent(secret: str, mask: list[bool], lower: bool) -> str:
    """Percent-encode the characters ``mask`` picks (always "%", as every encoder does), in either case."""
    out = []
    for char, encode in zip(secret, mask + [True] * len(secret), strict=False):
        if encode or char == "%":
            escaped = quote(char, safe="")
            escaped = escaped if escaped != char else "".join(f"%{b:02X}" for b in char.encode())
            out.append(escaped.lower() if lower else escaped)
        else:
            out.append(char)
    return "".join(out)


def _json_full(secret: str) -> str:
    units = secret.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


def _html_full(secret: str, hexa: bool) -> str:
    return "".join(f"&#x{ord(c):X};" if hexa else f"&#{ord(c)};" for c in secret)


def _scrubbed(secret: str, text: str) -> str:
    redactor = Redactor()
    redactor.register(secret)
    return redactor.scrub(text)


# --- escapes: found, and gone once undone -----------------------------------------------------------


@PROPERTY
@given(secret=SECRETS, mask=st.lists(st.booleans(), max_size=40), lower=st.booleans())
def test_percent_encoding_full_or_partial_either_case(secret: str, mask: list[bool], lower: bool) -> None:
    for encoded in (_percent(secret, mask, lower), _percent(secret, [], lower), quote(secret, safe="")):
        text = LEFT + encoded + RIGHT
        assert contains(text, secret), encoded
        assert secret not in unquote(_scrubbed(secret, text))


@PROPERTY
@given(secret=SECRETS, ascii_only=st.booleans())
def test_json_escapes(secret: str, ascii_only: bool) -> None:
    for literal in (json.dumps(secret, ensure_ascii=ascii_only), f'"{_json_full(secret)}"'):
        text = f'{{"{LEFT}": {literal}, "after": "{RIGHT}"}}'
        assert contains(text, secret), literal
        assert secret not in json.loads(_scrubbed(secret, text))[LEFT]


@PROPERTY
@given(secret=SECRETS, hexa=st.booleans())
def test_html_escapes(secret: str, hexa: bool) -> None:
    for encoded in (html.escape(secret), html.escape(secret, quote=False), _html_full(secret, hexa)):
        text = f"<p title='{LEFT}'>{encoded}{RIGHT}</p>"
        assert contains(text, secret), encoded
        assert secret not in html.unescape(_scrubbed(secret, text))


# --- base64 and hex: found anywhere inside a bigger blob, and no readable part left ----------------------


def _b64_variants(data: bytes) -> list[str]:
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


def _leftover_b64(secret: bytes, scrubbed: str) -> list[str]:
    """Whole 4-character groups of the secret's base64 at each of the 3 alignments still in the text."""
    found = []
    for shift in range(3):
        chunk = base64.b64encode(secret[shift:]).decode()[:-4]  # the last group may mix with what follows
        for form in (chunk, chunk.replace("+", "-").replace("/", "_")):
            if len(form) >= 8 and form in scrubbed:
                found.append(form)
    return found


@PROPERTY
@given(
    secret=SECRETS,
    before=st.binary(max_size=5),
    after=st.binary(max_size=5),
    variant=st.integers(0, 3),
)
def test_base64_at_every_alignment_inside_a_longer_blob(secret: str, before: bytes, after: bytes, variant: int) -> None:
    raw = secret.encode()
    encoded = _b64_variants(before + raw + after)[variant]
    text = LEFT + encoded + RIGHT
    assert contains(text, secret), (len(before), encoded)
    scrubbed = _scrubbed(secret, text)
    assert not _leftover_b64(raw, scrubbed), scrubbed
    assert "[fp:" in scrubbed


@PROPERTY
@given(secret=SECRETS, case=st.sampled_from(["lower", "upper", "mixed"]))
def test_hex_in_either_case(secret: str, case: str) -> None:
    hexed = secret.encode().hex()
    encoded = {
        "lower": hexed,
        "upper": hexed.upper(),
        "mixed": "".join(c.upper() if i % 3 else c for i, c in enumerate(hexed)),
    }[case]
    text = LEFT + "00" + encoded + "ff" + RIGHT
    assert contains(text, secret)
    assert hexed not in _scrubbed(secret, text).lower()


@PROPERTY
@given(secret=SECRETS)
def test_raw_and_reversed(secret: str) -> None:
    for encoded in (secret, secret[::-1]):
        text = LEFT + encoded + RIGHT
        assert contains(text, secret)
        assert encoded not in _scrubbed(secret, text)


def test_short_forms_are_not_searched() -> None:
    # A 4-character secret is scrubbed as itself, but its 4-character base64 would match by accident.
    assert contains("x abcd y", "abcd")
    assert not contains(base64.b64encode(b"abcd").decode(), "abcd")


def test_whole_value_encodings_are_recognised() -> None:
    value = "pre-login-Sess10n+/id"
    for encoded in (
        value,
        _percent(value, [], lower=True),
        base64.b64encode(value.encode()).decode(),
        base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
        value.encode().hex().upper(),
    ):
        assert decodes_to(encoded, value), encoded
    assert not decodes_to("x" + value, value)
    assert not decodes_to(base64.b64encode(b"other-value").decode(), value)


# --- readable state in any wrapping ---------------------------------------------------------------------

KEYS = st.text(string.ascii_letters + "_", min_size=1, max_size=12)
VALUES = st.one_of(st.text(max_size=20), st.integers(), st.booleans())
STATE = st.dictionaries(KEYS, VALUES, min_size=1, max_size=6)
SIGNATURES = st.one_of(
    st.text("0123456789abcdef", min_size=8, max_size=16),
    st.text(string.ascii_letters + string.digits + "_-", min_size=8, max_size=12),
)
ENCODERS: dict[str, Callable[[bytes], str]] = {
    "base64": lambda b: base64.b64encode(b).decode(),
    "base64-unpadded": lambda b: base64.b64encode(b).decode().rstrip("="),
    "base64url": lambda b: base64.urlsafe_b64encode(b).decode(),
    "base64url-unpadded": lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),
    "hex": lambda b: b.hex(),
    "HEX": lambda b: b.hex().upper(),
}


@settings(max_examples=80, deadline=None)
@given(
    state=STATE,
    encoder=st.sampled_from(sorted(ENCODERS)),
    separator=st.sampled_from(["", ".", "--", ":", "|", "~"]),
    signature=SIGNATURES,
    url_encoded=st.booleans(),
    compact=st.booleans(),
)
def test_readable_state_is_recognised_in_every_wrapping(
    state: dict, encoder: str, separator: str, signature: str, url_encoded: bool, compact: bool
) -> None:
    payload = json.dumps(state, separators=(",", ":") if compact else None).encode()
    value = ENCODERS[encoder](payload) + (separator + signature if separator else "")
    if url_encoded:
        value = quote(value, safe="")
    analysis = analyse_token("session", value)
    assert analysis.client_state, (value, analysis)
    assert analysis.claim_names == tuple(sorted(state)), (value, analysis)
