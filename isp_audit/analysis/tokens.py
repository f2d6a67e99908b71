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
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

from . import jose

FORMATS: tuple[str, ...] = (
    "jwt",
    "jwe",
    "tornado-signed",
    "starlette-session",
    "itsdangerous",
    "django-signed",
    "express-cookie-session",
    "express-cookie-session-signature",
    "express-session-id",
    "rails-encrypted",
    "rails-signed",
    "rack-session",
    "play-session",
    "laravel-encrypted",
    "laravel-session-id",
    "gorilla-securecookie",
    "gorilla-session-id",
    "iron-sealed",
    "spring-session-id",
    "signed-uuid-session-id",
    "php-session-id",
    "java-session-id",
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
    # Times the format's own structure states, readable without a key (Unix seconds): tornado's and
    # itsdangerous' signing time, gorilla's timestamp, iron's expiry. Never a claim value (a JWT's exp).
    issued_at: float | None = None
    expires_at: float | None = None


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


# Auth.js / NextAuth cookie names (nextauthjs/next-auth packages/core/src/lib/utils/cookie.ts), chunked ".0", ".1".
_AUTHJS_NAME = re.compile(r"(?:__Secure-)?(?:next-auth|authjs)\.session-token(?:\.\d+)?")


def _jose(t: _Token) -> TokenAnalysis | None:
    # RFC 7515 (JWS compact: 3 parts) and RFC 7516 (JWE compact: 5 parts), read by isp_audit.analysis.jose.
    found = jose.parse(t.text)
    if found is None:
        return None
    if found.kind == "jwe":
        enc = found.header.get("enc")
        shown = f"enc {jose.safe_alg(enc)}" if isinstance(enc, str) else "JWE"
        if _AUTHJS_NAME.fullmatch(t.name):  # JWT session strategy: the whole session, encrypted with AUTH_SECRET
            label = f"Auth.js/NextAuth session token (JWE, {shown})"
        else:
            label = "JSON Web Encryption token (JWE)"
        return _result("jwe", label, client_state=True, encrypted=True)
    claims = dict(found.claims) if found.claims is not None else None
    kind = f"signed, alg {jose.safe_alg(found.alg)}" if found.signed else "UNSIGNED, alg none"
    # Play 2.6+ (play/api/mvc/Cookie.scala JWTCookieDataCodec): HS256 JWS whose session map is claim "data".
    play = t.name in ("PLAY_SESSION", "PLAY_FLASH") or (claims is not None and isinstance(claims.get("data"), dict))
    label = f"Play session JWT ({kind})" if play else f"JSON Web Token ({kind})"
    # Claim values, iat and exp included, stay out of the analysis: it is written to evidence.
    return _result("jwt", label, client_state=True, signed=found.signed, data=claims)


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
    signed_data = _loads(raw)
    envelope = signed_data.get("_rails") if isinstance(signed_data, dict) else None
    if isinstance(envelope, dict):  # Rails 6+ metadata envelope: the payload sits inside
        message = envelope.get("message")
        signed_data = _b64_json(message) if isinstance(message, str) else envelope.get("data", signed_data)
    return _result("rails-signed", label, client_state=True, signed=True, data=signed_data)


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


# --- session formats of common stacks (../shared/reference/session-formats.md) ------------------------


def _readable_payload(raw: bytes | None) -> object | None:
    """A signed payload's content: JSON, else printable UTF-8 text (tornado signs a bare user name)."""
    if raw is None:
        return None
    if (data := _loads(raw)) is not None:
        return data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def _stated_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _with_times(
    result: TokenAnalysis, issued: float | None = None, expires: float | None = None, *, say: bool = True
) -> TokenAnalysis:
    """Attach the times the format states and, with ``say``, name them in the summary (a time is no secret)."""
    said = [f"{what} {_stated_time(t)}" for what, t in (("signed at", issued), ("expiring", expires)) if t]
    summary = result.summary + (f" ({', '.join(said)})" if said and say else "")
    return replace(result, issued_at=issued, expires_at=expires, summary=summary)


def _plausible_time(seconds: float) -> float | None:
    # 2001-09-09 .. 2286: a 10-digit Unix time, the only kind these formats write.
    return seconds if 1_000_000_000 <= seconds < 10_000_000_000 else None


_TORNADO_V1 = re.compile(r"([A-Za-z0-9+/]*={0,2})\|(\d{10})\|([0-9a-f]{40})")


def _tornado_fields(text: str) -> list[str] | None:
    """tornado.web._decode_signed_value_v2: "2|" then four "len:value|" fields, then the 64-hex HMAC."""
    if not text.startswith("2|"):
        return None
    rest, fields = text[2:], []
    for _ in range(4):
        length, colon, rest = rest.partition(":")
        if not colon or not length.isdigit() or len(length) > 5:
            return None
        size = int(length)
        if rest[size : size + 1] != "|":
            return None
        fields.append(rest[:size])
        rest = rest[size + 1 :]
    return [*fields, rest] if re.fullmatch(r"[0-9a-f]{64}", rest) else None


def _tornado(t: _Token) -> TokenAnalysis | None:
    # tornadoweb/tornado tornado/web.py create_signed_value: v2 "2|1:<keyver>|<n>:<ts>|<n>:<name>|<n>:
    # <b64 value>|<HMAC-SHA256 hex>" (default), v1 "<b64 value>|<ts>|<HMAC-SHA1 hex>". Signed, not encrypted.
    fields = _tornado_fields(t.text)
    if fields is not None and fields[1].isdigit():
        version, stamp, payload = "v2", fields[1], fields[3]
    elif match := _TORNADO_V1.fullmatch(t.text):
        version, stamp, payload = "v1", match[2], match[1]
    else:
        return None
    raw = _b64decode(payload) if payload else b""
    if raw is None:
        return None
    label = f"Tornado signed cookie ({version})"
    result = _result("tornado-signed", label, client_state=True, signed=True, data=_readable_payload(raw))
    return _with_times(result, issued=_plausible_time(float(stamp)))


def _itsdangerous_time(part: str) -> float | None:
    # itsdangerous TimestampSigner: the signing time as a big-endian integer in base64url.
    raw = _b64decode(part)
    return _plausible_time(float(int.from_bytes(raw, "big"))) if raw else None


def _starlette(raw: bytes, payload: str) -> bool:
    # Starlette's SessionMiddleware signs b64encode(json.dumps(session)): standard base64 (may hold
    # "+/=") of JSON with the default ", " and ": " separators, where Flask writes compact base64url JSON.
    return bool(re.search(r"[+/=]", payload)) or b'": ' in raw or b'", "' in raw


def _itsdangerous(t: _Token) -> TokenAnalysis | None:
    # itsdangerous URLSafe(Timed)Serializer, Flask's SecureCookieSessionInterface:
    # "[.]payload.timestamp.signature" (base64url JSON, "." prefix = zlib), or untimed "payload.sig".
    # Starlette/FastAPI SessionMiddleware: TimestampSigner over standard base64 JSON, never compressed.
    compressed = t.text.startswith(".")
    parts = t.text.removeprefix(".").split(".")
    if len(parts) not in (2, 3) or not _B64URL_SIG_RE.fullmatch(parts[-1]):
        return None
    if len(parts) == 3 and not re.fullmatch(r"[A-Za-z0-9_-]{2,12}", parts[1]):
        return None
    data = _b64_json(("." if compressed else "") + parts[0])
    if data is None:
        return None
    issued = _itsdangerous_time(parts[1]) if len(parts) == 3 else None
    if not compressed and len(parts) == 3 and _starlette(_b64decode(parts[0]) or b"", parts[0]):
        label = "Starlette/FastAPI SessionMiddleware cookie (itsdangerous-signed)"
        result = _result("starlette-session", label, client_state=True, signed=True, data=data)
        return _with_times(result, issued=issued)
    label = "Flask/itsdangerous signed cookie"
    result = _result("itsdangerous", label, client_state=True, signed=True, data=data)
    return _with_times(result, issued=issued, say=False)  # Flask's summary wording predates the times


def _rack(t: _Token) -> TokenAnalysis | None:
    # rack/rack lib/rack/session/cookie.rb (2.2): base64(Marshal or JSON) plus "--<HMAC-SHA1 hex>" when a
    # secret is set. Marshal data starts "\x04\x08" (base64 "BAh"); the session hash holds "session_id".
    payload, sep, mac = t.text.partition("--")
    if sep and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", mac):
        return None
    raw = _b64decode(payload)
    named = t.name == "rack.session"
    if raw is None or not (named or (sep and raw.startswith(b"\x04\x08") and b"session_id" in raw)):
        return None
    data = _loads(raw)
    if not (raw.startswith(b"\x04\x08") or isinstance(data, dict)):
        return None
    label = "Rack::Session::Cookie" + ("" if sep else " (UNSIGNED: no secret set)")
    detail = "" if data is not None else "carrying Ruby Marshal data, readable without a key (not decoded here)"
    return _result("rack-session", label, client_state=True, signed=bool(sep), data=data, detail=detail)


def _play_legacy(t: _Token) -> TokenAnalysis | None:
    # playframework core/play/src/main/scala/play/api/mvc/Cookie.scala (before 2.6, and its fallback
    # decoder): "<HMAC-SHA1 hex>-k=v&k2=v2", URL-encoded. PLAY_FLASH uses the same format.
    match = re.fullmatch(r"([0-9a-f]{40})-(.+)", t.text, re.DOTALL)
    data = _key_values(match[2]) if match else None
    if data is None:
        return None
    return _result("play-session", "Play session cookie (legacy signed)", client_state=True, signed=True, data=data)


# Laravel's CBC envelope around "<40 hex prefix>|<40-char id>" (81 bytes, padded to 96) is 128 base64
# characters; any state is longer. Illuminate/Encryption/Encrypter.php, Cookie/CookieValuePrefix.php.
_LARAVEL_ID_VALUE_MAX = 128


def _laravel(t: _Token) -> TokenAnalysis | None:
    # Laravel EncryptCookies: base64(JSON {"iv","value","mac","tag"}), AES-256-CBC + HMAC or AES-GCM.
    envelope = _loads(_b64decode(t.text))
    if not isinstance(envelope, dict) or not {"iv", "value", "mac"} <= envelope.keys():
        return None
    value = envelope["value"] if isinstance(envelope["value"], str) else ""
    cookie_driver = re.fullmatch(r"[A-Za-z0-9]{40}", t.name) is not None  # SESSION_DRIVER=cookie names it by id
    if not cookie_driver and 0 < len(value) <= _LARAVEL_ID_VALUE_MAX:
        detail = "holding an encrypted id of id size (session state is kept server side unless the driver is cookie)"
        label = "Laravel encrypted cookie"
        return _result("laravel-session-id", label, client_state=False, encrypted=True, detail=detail)
    label = "Laravel encrypted cookie" + (" (cookie session driver)" if cookie_driver else "")
    return _result("laravel-encrypted", label, client_state=True, signed=True, encrypted=True)


_GORILLA_RE = re.compile(rb"(\d{10})\|([A-Za-z0-9_=-]+)\|(.{32})", re.DOTALL)
_GORILLA_ID_RE = re.compile(rb"[A-Z2-7]{50,56}")  # gorilla/sessions: base32 of 32 random bytes, "=" stripped


def _gorilla_session_id(payload: bytes) -> str | None:
    """FilesystemStore's payload: the gob encoding of the id, one top-level string.

    gob writes [message length][type id 6 as 0x0c][0x00 singleton marker][string length][bytes]; the whole
    header is matched, not just a length byte before the id, because an id character can equal a length
    ("2" is 50) and would cut the id short.
    """
    if not 54 <= len(payload) <= 80:
        return None
    size = len(payload) - 4
    header = bytes([len(payload) - 1, 0x0C, 0x00, size])
    if payload[:4] == header and _GORILLA_ID_RE.fullmatch(payload[4:]):
        return payload[4:].decode("ascii")
    return None


def _gorilla(t: _Token) -> TokenAnalysis | None:
    # gorilla/securecookie Encode: base64url("<unix-s>|" base64url(payload) "|" HMAC-SHA256), payload gob or
    # JSON, AES-CTR when a block key is set. gorilla/sessions' FilesystemStore encodes only the session id.
    match = _GORILLA_RE.fullmatch(_b64decode(t.text) or b"") if t.text.startswith("MT") else None
    if match is None:
        return None
    issued = _plausible_time(float(match[1]))
    payload = _b64decode(match[2].decode("ascii")) or b""
    if sid := _gorilla_session_id(payload):
        detail = f"holding a signed {len(sid)}-character session id (session state is kept server side)"
        label = "gorilla/sessions signed session id (FilesystemStore)"
        result = _result("gorilla-session-id", label, client_state=False, signed=True, detail=detail)
        return _with_times(result, issued=issued)
    data = _loads(payload)
    detail = "" if data is not None else "carrying gob-encoded or encrypted values (not decoded)"
    label = "gorilla/securecookie signed cookie (CookieStore)"
    result = _result("gorilla-securecookie", label, client_state=True, signed=True, data=data, detail=detail)
    return _with_times(result, issued=issued)


_IRON_RE = re.compile(
    r"Fe26\.2\*([^*]*)\*[0-9a-f]{64}\*[A-Za-z0-9_-]+\*[A-Za-z0-9_-]+\*(\d*)\*[0-9a-f]{64}\*[A-Za-z0-9_-]+(?:~\d+)?"
)


def _iron(t: _Token) -> TokenAnalysis | None:
    # hapijs/iron lib/index.js seal: "Fe26.2*pwId*salt*iv*ciphertext*expiration(ms)*hmacSalt*hmac"; AES-256-
    # CBC + HMAC-SHA256. iron-session (vvo/iron-session) appends "~2". Readable: password id and expiry.
    match = _IRON_RE.fullmatch(t.text)
    if match is None:
        return None
    expires = _plausible_time(int(match[2]) / 1000) if match[2] else None
    label = "@hapi/iron sealed cookie (Fe26.2)"
    result = _result("iron-sealed", label, client_state=True, signed=True, encrypted=True)
    return _with_times(result, expires=expires)


def _spring_session(t: _Token) -> TokenAnalysis | None:
    # spring-session DefaultCookieSerializer: base64 of the session id, a UUID string (48 characters).
    raw = _b64decode(t.text) if len(t.text) == 48 else None
    if raw is None or not re.fullmatch(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", raw):
        return None
    detail = "holding a base64-encoded UUID (session state is kept server side)"
    return _result("spring-session-id", "Spring Session id", client_state=False, detail=detail)


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SIGNED_UUID_RE = re.compile(rf"({_UUID})!([A-Za-z0-9+/_-]{{20,}}=*)")


def _signed_uuid_id(t: _Token) -> TokenAnalysis | None:
    # pgAdmin 4's ManagedSessionInterface (web/pgadmin/utils/session.py): "<uuid4 sid>!<base64 HMAC of
    # the sid>"; the state lives in the server's session store, the HMAC only proves the id was issued.
    if not _SIGNED_UUID_RE.fullmatch(t.text):
        return None
    detail = "holding a UUID session id and its HMAC (session state is kept server side)"
    label = "signed UUID session id (uuid!hmac, e.g. pgAdmin 4)"
    return _result("signed-uuid-session-id", label, client_state=False, signed=True, detail=detail)


_SERVER_IDS: tuple[tuple[str, str, re.Pattern[str], str], ...] = (
    # php-src ext/session/session.c: sid_length x sid_bits_per_character (4: hex, 5: [0-9a-v], 6: adds A-Z,-).
    ("phpsessid", "php-session-id", re.compile(r"[0-9a-zA-Z,-]{22,256}"), "PHP session id"),
    # Tomcat StandardSessionIdGenerator: 32 upper hex plus ".<jvmRoute>"; Jetty "node0<base36>.node0".
    ("jsessionid", "java-session-id", re.compile(r"[0-9A-Za-z_-]{16,128}(?:\.[\w-]{1,40})?"), "Java JSESSIONID"),
)


def _named_server_id(t: _Token) -> TokenAnalysis | None:
    # The name says the stack; the value must still look like that stack's random id (no decodable data).
    for name, fmt, shape, label in _SERVER_IDS:
        if t.name.lower() == name and shape.fullmatch(t.text) and _opaque(t) is not None:
            detail = f"({len(t.text)} characters, no decodable structure): session state is kept server side"
            return _result(fmt, label, client_state=False, detail=detail)
    return None


def id_part(value: str, fmt: str) -> tuple[str, str]:
    """The part of an issued token whose randomness ISM-2065 judges, and what that part is.

    A signature, routing suffix or encryption envelope around an id is not the id: an HMAC over a
    guessable id looks random, and a constant suffix or JSON envelope looks like structure. One rule for
    token-entropy; client-held state (``client_state``) is not an entropy candidate at all.
    """
    text = unquote(value.strip().strip('"'))
    if fmt == "express-session-id":
        return text.removeprefix("s:").rsplit(".", 1)[0], "ID without its signature"
    if fmt == "java-session-id":
        return text.split(".", 1)[0], "ID without its route suffix"
    if fmt == "signed-uuid-session-id":
        return text.split("!", 1)[0], "the UUID without its HMAC"
    if fmt == "spring-session-id":
        return (_b64decode(text) or b"").decode("ascii", "replace"), "the UUID inside the base64"
    if fmt == "gorilla-session-id":
        match = _GORILLA_RE.fullmatch(_b64decode(text) or b"")
        sid = _gorilla_session_id(_b64decode(match[2].decode("ascii")) or b"") if match else None
        return (sid or text), "the session id inside the signed value"
    if fmt == "laravel-session-id":
        envelope = _loads(_b64decode(text))
        inner = envelope.get("value") if isinstance(envelope, dict) else None
        what = "the ciphertext of the encrypted id (the id itself is only readable with the app key)"
        return (inner if isinstance(inner, str) else text), what
    return value, "whole value"


# First match wins, so order matters: specific structural formats come before generic ones,
# because their parts also satisfy the generic checks (a CfDJ8 or express-session value looks
# like a random id; a JWT's segments are base64 JSON). JOSE precedes itsdangerous (both are
# dot-separated; only JOSE has an "alg" header). Plain-words runs before opaque so that
# "alice,bob,carol" is read as data; its word-shape test keeps random ids with "," out. The stack
# formats (iron, tornado, gorilla, Laravel, Spring) come before JOSE and the generic decoders, which
# would otherwise read a Laravel envelope as base64 JSON or a gorilla payload as encoded state; Rack
# precedes Rails (same "--<hex>" shape), Play's legacy form precedes key=value text, and the named
# PHP/Java ids sit just before opaque.
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
    _iron,
    _tornado,
    _gorilla,
    _laravel,
    _spring_session,
    _signed_uuid_id,
    _jose,
    _itsdangerous,
    _express_session_id,
    _django_signed,
    _rack,
    _rails,
    _play_legacy,
    _base64_json,
    _readable_text,
    _encoded_state,
    _plain_words,
    _named_server_id,
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
