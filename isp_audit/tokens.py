"""Classify a session token value by format: client-held state or an opaque server-side reference.

ISM-2066 asks that sessions be centrally managed server side. A first, passive signal is the shape
of the token the client holds: a JWT or a signed/encrypted cookie store carries the session state
itself, whereas a random identifier can only be a key into state kept on the server. This module
recognises common formats by structure alone (it holds no keys and verifies no signatures) and
never echoes a claim value, because its output is written to evidence files.
"""

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

FORMATS: tuple[str, ...] = (
    "jwt",
    "jwe",
    "itsdangerous",
    "django-signed",
    "express-cookie-session",
    "express-cookie-session-signature",
    "express-session-id",
    "rails-encrypted",
    "rails-signed",
    "aspnetcore-dataprotection",
    "aspnetcore-session-id",
    "aspnet-forms",
    "base64-json",
    "encoded-state",
    "readable-text",
    "opaque",
    "unknown",
)


@dataclass(frozen=True)
class TokenAnalysis:
    """What a token's format reveals about where the session state lives.

    ``redacted_view`` and ``summary`` are safe to write to evidence: every decoded value is
    replaced by a type/length descriptor and only claim *names* are ever reported.
    """

    format: str
    label: str
    client_state: bool
    signed: bool
    encrypted: bool
    claim_names: tuple[str, ...]
    redacted_view: object
    summary: str


@dataclass(frozen=True)
class _Token:
    """A value prepared once for all detectors: prefix, quotes and URL-encoding removed."""

    name: str
    text: str
    companions: Mapping[str, str]


_B64_RE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_B64URL_SIG_RE = re.compile(r"[A-Za-z0-9_-]{20,}")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,63}")
_ASPNETCORE_MAGIC = b"\x09\xf0\xc9\xf0"  # Data Protection magic header; base64url text "CfDJ8…"
_MAX_INFLATE = 1 << 20  # the value comes from the system under test: bound zlib output (no bombs)


def _b64decode(text: str) -> bytes | None:
    """Decode standard or URL-safe base64, padded or not; None when the text is not base64."""
    if not _B64_RE.fullmatch(text):
        return None
    core = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(core) % 4 == 1:  # no whole number of bytes: not base64 at all
        return None
    try:
        return base64.b64decode(core + "=" * (-len(core) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _inflate(data: bytes | None) -> bytes | None:
    if not data:
        return None
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, _MAX_INFLATE)
    except zlib.error:
        return None
    return out if inflater.eof else None


def _loads(data: bytes | None) -> object | None:
    """Parse UTF-8 JSON; None when it is not JSON (a JSON ``null`` is as uninformative as none)."""
    if not data:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _b64_json(part: str) -> object | None:
    """Decode a base64 JSON segment; a leading "." marks zlib compression (itsdangerous, Django)."""
    if part.startswith("."):
        return _loads(_inflate(_b64decode(part[1:])))
    return _loads(_b64decode(part))


def _redact(value: object) -> object:
    """Mirror decoded data with every value replaced by a descriptor: no raw value survives."""
    if isinstance(value, dict):
        return {str(key): _redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return f"<list len {len(value)}>"
    if isinstance(value, str):
        return f"<str len {len(value)}>"
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "<bool>"
    if isinstance(value, int | float):
        return f"<{type(value).__name__}>"
    return "<null>" if value is None else f"<{type(value).__name__}>"


def _result(
    fmt: str,
    label: str,
    *,
    client_state: bool,
    signed: bool = False,
    encrypted: bool = False,
    data: object | None = None,
    detail: str = "",
) -> TokenAnalysis:
    names = tuple(sorted(str(key) for key in data)) if isinstance(data, dict) else ()
    if not detail:
        if names:
            shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
            detail = f"carrying readable claims {shown}"
        elif isinstance(data, dict):
            detail = "carrying an empty claim set"
        elif data is not None:
            detail = "carrying readable data without named claims"
        elif encrypted:
            detail = "with encrypted, unreadable contents"
        else:
            detail = "whose contents could not be decoded"
    return TokenAnalysis(
        format=fmt,
        label=label,
        client_state=client_state,
        signed=signed,
        encrypted=encrypted,
        claim_names=names,
        redacted_view=None if data is None else _redact(data),
        summary=f"{label} {detail}",
    )


def _data_protected(text: str) -> bool:
    raw = _b64decode(text) if text.startswith("CfDJ8") else None
    return raw is not None and raw.startswith(_ASPNETCORE_MAGIC) and len(raw) > 20  # magic + key id


def _aspnet_core(t: _Token) -> TokenAnalysis | None:
    # Format: dotnet/aspnetcore DataProtection (KeyRingBasedDataProtector: magic, key id, payload)
    # and Microsoft.AspNetCore.Authentication.Cookies ChunkingCookieManager ("chunks-N", NAMEC1…).
    dp = "aspnetcore-dataprotection"
    label = "ASP.NET Core Data Protection cookie"
    if t.name.lower() == ".aspnetcore.session" and _data_protected(t.text):
        return _result(
            "aspnetcore-session-id",
            "ASP.NET Core session cookie",
            client_state=False,
            encrypted=True,
            detail="holding only a protected session id (session state is kept server side)",
        )
    if match := re.fullmatch(r"chunks-(\d{1,3})", t.text):
        chunks = [t.companions.get(f"{t.name}C{i}") for i in range(1, int(match[1]) + 1)]
        if all(chunks) and not _data_protected("".join(filter(None, chunks))):
            return None
        # Chunking only happens above ~4 KB, far beyond any opaque id, so even without the
        # chunks the marker shows the client holds the (protected) state.
        supplied = "" if all(chunks) else "; chunk cookies not supplied"
        return _result(
            dp,
            "ASP.NET Core chunked Data Protection cookie",
            client_state=True,
            encrypted=True,
            detail=f"split over {match[1]} chunk cookies, with encrypted, unreadable contents{supplied}",
        )
    base = re.fullmatch(r"(.+)C\d{1,3}", t.name)
    if base and t.companions.get(base[1], "").startswith("chunks-"):
        return _result(dp, label, client_state=True, encrypted=True, detail="chunk of an encrypted cookie")
    if _data_protected(t.text):
        return _result(dp, label, client_state=True, encrypted=True)
    return None


def _aspnet_forms(t: _Token) -> TokenAnalysis | None:
    # FormsAuthentication.Encrypt emits the encrypted+MACed ticket as uppercase hex. Without the
    # cookie name only a long (>=160 chars) uppercase hex value is taken, well above hex ids.
    named = "aspxauth" in t.name.lower() and re.fullmatch(r"[0-9A-Fa-f]{32,}", t.text)
    readable = _readable_state(_hex_decode(t.text) or b"") is not None  # hex JSON is not a ticket
    if (named or re.fullmatch(r"(?:[0-9A-F]{2}){80,}", t.text)) and not readable:
        label = "ASP.NET Forms Authentication ticket"
        return _result("aspnet-forms", label, client_state=True, signed=True, encrypted=True)
    return None


def _jose(t: _Token) -> TokenAnalysis | None:
    # RFC 7515 (JWS compact: 3 parts) and RFC 7516 (JWE compact: 5 parts), header JSON first.
    parts = t.text.split(".")
    header = _loads(_b64decode(parts[0])) if len(parts) in (3, 5) else None
    if not isinstance(header, dict):
        return None
    if len(parts) == 5 and "enc" in header:
        return _result("jwe", "JSON Web Encryption token (JWE)", client_state=True, encrypted=True)
    if len(parts) != 3 or "alg" not in header:
        return None
    alg = header["alg"] if isinstance(header["alg"], str) else ""
    signed = alg.lower() != "none" and bool(parts[2])
    shown = alg if re.fullmatch(r"[A-Za-z0-9+-]{1,20}", alg) else "unrecognised"
    result = _result("jwt", "JSON Web Token", client_state=True, signed=signed, data=_loads(_b64decode(parts[1])))
    kind = f"signed, alg {shown}" if signed else "UNSIGNED, alg none"
    return replace(result, summary=result.summary.replace("JSON Web Token", f"JSON Web Token ({kind})", 1))


def _itsdangerous(t: _Token) -> TokenAnalysis | None:
    # itsdangerous URLSafe(Timed)Serializer, Flask's SecureCookieSessionInterface:
    # "[.]payload.timestamp.signature" (base64url JSON, "." prefix = zlib), or untimed "payload.sig".
    compressed = t.text.startswith(".")
    parts = t.text.removeprefix(".").split(".")
    if len(parts) not in (2, 3) or not _B64URL_SIG_RE.fullmatch(parts[-1]):
        return None
    if len(parts) == 3 and not re.fullmatch(r"[A-Za-z0-9_-]{2,12}", parts[1]):
        return None
    data = _b64_json(("." if compressed else "") + parts[0])
    if data is None:
        return None
    label = "Flask/itsdangerous signed cookie"
    return _result("itsdangerous", label, client_state=True, signed=True, data=data)


def _django_signed(t: _Token) -> TokenAnalysis | None:
    # django.core.signing.dumps: "[.]payload:timestamp:signature" (base62 timestamp, base64url
    # HMAC); Signer.sign_object omits the timestamp. The signed_cookies session backend uses it.
    parts = t.text.split(":")
    if len(parts) not in (2, 3) or not _B64URL_SIG_RE.fullmatch(parts[-1]):
        return None
    if len(parts) == 3 and not re.fullmatch(r"[0-9A-Za-z]{1,12}", parts[1]):
        return None
    data = _b64_json(parts[0])
    if data is None:
        return None
    label = "Django signed cookie (django.core.signing)"
    return _result("django-signed", label, client_state=True, signed=True, data=data)


def _express_session_id(t: _Token) -> TokenAnalysis | None:
    # express-session: "s:" + cookie-signature sign(id) = id + "." + base64 HMAC-SHA256 sans "=".
    if re.fullmatch(r"s:[^.:]{8,}\.[A-Za-z0-9+/_-]{20,}=*", t.text):
        detail = "holding a signed opaque session id (session state is kept server side)"
        return _result("express-session-id", "express-session cookie", client_state=False, signed=True, detail=detail)
    return None


def _rails(t: _Token) -> TokenAnalysis | None:
    # ActiveSupport MessageEncryptor (Rails 5.2+ AES-256-GCM): "b64(data)--b64(iv)--b64(tag)";
    # MessageVerifier (signed cookies): "b64(data)--hexdigest"; Rails 4–5.1 encrypted cookies are
    # a verifier over "b64(ciphertext)--b64(iv)".
    parts = t.text.split("--")
    if len(parts) == 3:
        data, iv, tag = (_b64decode(p) for p in parts)
        if data and iv and tag and len(iv) in (12, 16) and len(tag) == 16:
            label = "Rails encrypted cookie (AES-256-GCM)"
            return _result("rails-encrypted", label, client_state=True, signed=True, encrypted=True)
        return None
    if len(parts) != 2 or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}", parts[1]):
        return None
    raw = _b64decode(parts[0])
    if raw is None:
        return None
    inner = raw.split(b"--")
    if len(inner) == 2 and all(_b64decode(p.decode("ascii", "replace")) for p in inner):
        label = "Rails encrypted cookie (AES-CBC, Rails 4–5.1)"
        return _result("rails-encrypted", label, client_state=True, signed=True, encrypted=True)
    label = "Rails signed cookie"
    if raw.startswith(b"\x04\x08"):  # Ruby Marshal format version 4.8
        detail = "carrying Ruby Marshal data (not decoded)"
        return _result("rails-signed", label, client_state=True, signed=True, detail=detail)
    data = _loads(raw)
    envelope = data.get("_rails") if isinstance(data, dict) else None
    if isinstance(envelope, dict):  # Rails 6+ metadata envelope: the payload sits inside
        message = envelope.get("message")
        data = _b64_json(message) if isinstance(message, str) else envelope.get("data", data)
    return _result("rails-signed", label, client_state=True, signed=True, data=data)


def _base64_json(t: _Token) -> TokenAnalysis | None:
    # expressjs/cookie-session: Buffer.from(JSON.stringify(session)).toString("base64"), with a
    # keygrip HMAC in the companion cookie "<name>.sig" (set by the `cookies` module).
    data = _loads(_b64decode(t.text))
    if not isinstance(data, dict):
        return None
    if t.companions.get(f"{t.name}.sig"):
        label = "Express cookie-session cookie (signed by .sig companion)"
        return _result("express-cookie-session", label, client_state=True, signed=True, data=data)
    return _result("base64-json", "Base64-encoded JSON", client_state=True, data=data)


_PADDED_B64_PREFIX = re.compile(r"[A-Za-z0-9+/_-]{4,}={1,2}(?:--|[.:|~$!*,;]|$)")


def _key_values(text: str) -> dict[str, str] | None:
    # "abcd==" is base64 padding, not an empty key=value pair; nor is "eyJ…fQ=.sig" (padded base64 with
    # a suffix) a key "eyJ…fQ" with the value ".sig".
    if _B64_RE.fullmatch(text) or _PADDED_B64_PREFIX.match(text):
        return None
    pairs = [pair.partition("=") for pair in re.split(r"[&;]", text)]
    if not all(sep and _KEY_RE.fullmatch(key.strip()) for key, sep, _ in pairs):
        return None
    data = {key.strip(): value for key, _, value in pairs}
    return data if any(data.values()) else None


def _readable_text(t: _Token) -> TokenAnalysis | None:
    data = _loads(t.text.encode())
    if isinstance(data, dict):
        return _result("readable-text", "JSON text", client_state=True, data=data)
    if kv := _key_values(t.text):
        return _result("readable-text", "key=value text", client_state=True, data=kv)
    raw = _b64decode(t.text)
    try:
        decoded = raw.decode("utf-8") if raw else ""
    except UnicodeDecodeError:
        return None
    # A random blob can decode as UTF-8 by chance; demand printable key=value structure.
    if decoded.isprintable() and (kv := _key_values(decoded)):
        return _result("readable-text", "Base64-encoded key=value text", client_state=True, data=kv)
    return None


# Where a value is cut into an encoded payload and a suffix (a signature, a timestamp, a key id): the
# characters that are neither base64 nor hex. "-" and "_" belong to base64url, so only "--" splits.
_WRAP_SEPARATOR = re.compile(r"--|[.:|~$!*,;]")
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2}){4,}")
_MAX_UNWRAP_DEPTH = 3  # base64 of hex of URL-encoded JSON, and no deeper


def _hex_decode(text: str) -> bytes | None:
    return bytes.fromhex(text) if _HEX_RE.fullmatch(text) else None


def _readable_state(data: bytes) -> object | None:
    """JSON object or key=value text in ``data`` (zlib-compressed or not); None for anything else."""
    for raw in (data, _inflate(data)):
        if not raw:
            continue
        if (parsed := _json_object_prefix(raw)) is not None:
            return parsed
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if text.isprintable() and (kv := _key_values(unquote(text) if "%" in text else text)):
            return kv
    return None


def _json_object_prefix(raw: bytes) -> dict | None:
    """A non-empty JSON object at the start of ``raw``, even with a binary signature appended to it."""
    if not raw.startswith(b"{"):
        return None
    try:
        parsed, _ = json.JSONDecoder().raw_decode(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) and parsed else None


def _unwrap(text: str, depth: int = 0) -> tuple[str, object] | None:
    """(how it was wrapped, the decoded state) for JSON or key=value state hidden in base64 or hex,
    whole or as one segment beside a suffix or signature, nested a few layers deep."""
    # The whole value, each part between separators, and everything before each separator (the
    # payload itself may hold a separator: base64url can contain "--").
    cuts = [text[: m.start()] for m in list(_WRAP_SEPARATOR.finditer(text))[:8]]
    parts = dict.fromkeys([text, *_WRAP_SEPARATOR.split(text), *cuts])
    segments = [p for p in parts if len(p) >= 8]
    for segment in segments:
        for name, decode in (("hex", _hex_decode), ("base64", _b64decode)):
            raw = decode(segment)
            if not raw:
                continue
            how = name if segment == text else f"{name} beside a suffix"
            if (data := _readable_state(raw)) is not None:
                return how, data
            inner = raw.decode("ascii", "replace")
            readable = depth < _MAX_UNWRAP_DEPTH and inner.isprintable() and "\ufffd" not in inner
            if readable and (found := _unwrap(unquote(inner), depth + 1)):
                return f"{found[0]} inside {how}", found[1]
    return None


def _encoded_state(t: _Token) -> TokenAnalysis | None:
    # Home-made client-side sessions: JSON or key=value state in base64 or hex, often with a short
    # signature or hash after a separator ("<b64>.<hex>", "<b64>--<hex>"). Whatever the wrapping, a
    # value that decodes to readable state is client-held state.
    found = _unwrap(t.text)
    if found is None:
        return None
    how, data = found
    suffix = "suffix" in how
    return _result("encoded-state", f"Session state encoded as {how}", client_state=True, signed=suffix, data=data)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _opaque(t: _Token) -> TokenAnalysis | None:
    # A random id of 16–128 chars, optionally with a routing/signature suffix (Jetty ".node0",
    # Tomcat ".jvmRoute", Flask-Session "sid.sig"); "," and "-" occur in PHP's 6-bit ids. Longer
    # blobs may be encrypted state, so they are not called opaque.
    match = re.fullmatch(r"([A-Za-z0-9_+/,-]{16,128}={0,2})(?:\.[A-Za-z0-9_-]{1,40})?", t.text)
    core = match[1].rstrip("=") if match else ""
    # Thresholds sit well below what random ids score (hex 32 chars: min ~2.9 bits/char over
    # 100k samples), yet reject repetitive or numeric-only values such as counters.
    if not core or re.fullmatch(r"[\d,-]+", core) or _entropy(core) < (2.5 if len(core) >= 24 else 2.0):
        return None
    detail = f"({len(core)} random characters, no decodable structure): any session state is server side"
    return _result("opaque", "Opaque session identifier", client_state=False, detail=detail)


_WORD_PART = r"(?:[A-Z]?[a-z]+|[A-Z]+|\d+)"
_WORD_RE = re.compile(rf"{_WORD_PART}(?:[-_.@]{_WORD_PART})*")


def _plain_words(t: _Token) -> TokenAnalysis | None:
    # "alice|admin|1700000000": delimited words. Every field must look like a word or number so
    # that random ids containing a delimiter (e.g. PHP's "," in 6-bit ids) are not taken as data.
    fields = [f for f in re.split(r"[|,;:\s]+", t.text) if f]
    if len(fields) < 2 or not all(_WORD_RE.fullmatch(f) for f in fields):
        return None
    if not any(re.search(r"[A-Za-z]{3}", f) for f in fields):
        return None
    detail = f"carrying {len(fields)} readable delimited fields"
    result = _result("readable-text", "Plain-text value", client_state=True, detail=detail)
    return replace(result, redacted_view=[f"<str len {len(f)}>" for f in fields])


def _unknown(t: _Token) -> TokenAnalysis:
    n = len(t.text)
    if n < 16:
        why = "too short to be a session token"
    elif _b64decode(t.text) is not None:
        why = "binary data that may be encrypted client-held state"
    else:
        why = "no known structure"
    detail = f"(format not recognised: {n} characters, {why})"
    return _result("unknown", "Unrecognised token", client_state=False, detail=detail)


# First match wins, so order matters: specific structural formats come before generic ones,
# because their parts also satisfy the generic checks (a CfDJ8 or express-session value looks
# like a random id; a JWT's segments are base64 JSON). JOSE precedes itsdangerous (both are
# dot-separated; only JOSE has an "alg" header). Plain-words runs before opaque so that
# "alice,bob,carol" is read as data; its word-shape test keeps random ids with "," out.
def _signature_companion(token: _Token) -> TokenAnalysis | None:
    """cookie-session's ``NAME.sig`` cookie: a keygrip HMAC of cookie ``NAME``, not an identifier.

    Its value looks random, but it is the signature of client-held state, so it must not be scored as
    an opaque session ID (nor counted as entropy).
    """
    base = token.name[:-4] if token.name.endswith(".sig") else ""
    if not base or base not in token.companions:
        return None
    return TokenAnalysis(
        format="express-cookie-session-signature",
        label="cookie-session signature cookie",
        client_state=True,
        signed=True,
        encrypted=False,
        claim_names=(),
        redacted_view=None,
        summary=f"keygrip signature of the client-held session cookie `{base}`: part of client-side state",
    )


_DETECTORS: tuple[Callable[[_Token], TokenAnalysis | None], ...] = (
    _signature_companion,
    _aspnet_core,
    _aspnet_forms,
    _jose,
    _itsdangerous,
    _express_session_id,
    _django_signed,
    _rails,
    _base64_json,
    _readable_text,
    _encoded_state,
    _plain_words,
    _opaque,
)


def analyse_token(name: str, value: str, companions: Mapping[str, str] | None = None) -> TokenAnalysis:
    """Classify ``value`` (the cookie, storage entry or bearer token called ``name``).

    ``companions`` maps the other cookie names of the same client to their values; they reveal
    cookie-session's ``NAME.sig`` signature and ASP.NET Core's chunk cookies.
    """
    text = value.strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':  # RFC 6265 allows a quoted cookie value
        text = text[1:-1]
    if "%" in text:
        text = unquote(text)  # not unquote_plus: "+" is a base64 character, not a space
    token = _Token(name=name, text=text, companions=dict(companions or {}))
    for detect in _DETECTORS:
        if result := detect(token):
            return result
    return _unknown(token)
