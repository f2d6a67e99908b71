"""Craft the JWT variants a scanner replays, and check a JWT's HMAC secret offline.

ISM-2066 asks that sessions be centrally managed server side. When the session is a JWT, the server
keeps control only if it verifies every token it is given: an unsigned (``alg: none``) token, a token
with its signature stripped or corrupted, or a token forged with a guessable HMAC secret must all be
refused. This module follows the relevant steps of jwt_tool's playbook (``-X a`` alg none in four
casings, ``-X n`` null signature, the broken-signature check, ``-X b`` blank password and the
``jwt-common.txt`` weak-secret crack) and adds what jwt_tool leaves manual: an already-expired token
re-signed with a recovered secret, to prove whether ``exp`` is enforced.

Everything here is pure: the functions build tokens and compute HMACs, and never touch the network.
The scanner replays the variants against the application's own "am I logged in?" page.

Evidence safety: a recovered secret never appears in a field, ``repr`` or ``str`` of :class:`CrackResult`
(only its line number in the public wordlist, which is enough to reproduce the finding), and
:func:`sensitive_claims` reports claim *names*, never values.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HMAC_ALGS",
    "SENSITIVE_CLAIM_PATTERNS",
    "WORDLIST_PATH",
    "CrackResult",
    "DecodedJwt",
    "Variant",
    "crack_hmac_secret",
    "decode",
    "expired_variant",
    "lifetime_seconds",
    "payload_claims",
    "resign",
    "sensitive_claims",
    "unsigned_variants",
]

# RFC 7518 §3.2. Exact, case-sensitive names: that is how JOSE libraries match "alg".
HMAC_ALGS: Mapping[str, str] = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}

# jwt_tool -X a tries these four spellings because some libraries compare "alg" case-insensitively
# or against a single spelling when blocking it.
NONE_CASINGS: tuple[str, ...] = ("none", "None", "NONE", "nOnE")

WORDLIST_PATH = Path(__file__).resolve().parent / "data" / "jwt-secrets.txt"

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


# --- encoding helpers -------------------------------------------------------------------------------


def _b64url_encode(data: bytes) -> str:
    # RFC 7515 §2: base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str, what: str) -> bytes:
    # Strict alphabet check first: urlsafe_b64decode silently drops characters outside it, which would
    # let a mangled token "decode" to something other than what the server sees.
    text = segment.rstrip("=")
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError(f"JWT {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex above catches these
        raise ValueError(f"JWT {what} is not base64url") from exc


def _json_segment(data: Mapping[str, object]) -> str:
    # Compact JSON like every mainstream JWT library emits; dict order is kept, so an edited header or
    # payload keeps its original key order and differs from the original only where we changed it.
    return _b64url_encode(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def _json_object(segment: str, what: str) -> dict[str, object]:
    raw = _b64url_decode(segment, what)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"JWT {what} is not UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise ValueError(f"JWT {what} is not a JSON object")
    return value


def _number(value: object) -> float | None:
    # NumericDate (RFC 7519 §2) is a JSON number; bool is an int subclass in Python but not a date.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- decoding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedJwt:
    """A JWS compact JWT split into its parts. Nothing is verified.

    ``signing_input`` is the first two segments exactly as received (not re-encoded), because that is
    what the signature covers: re-encoding could reorder or re-space the JSON and break a valid HMAC.
    """

    header: dict[str, object]
    payload: dict[str, object]
    signature: bytes
    signing_input: bytes

    @property
    def alg(self) -> str:
        """The header's ``alg``, or ``""`` when missing or not a string."""
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else ""


def decode(token: str) -> DecodedJwt:
    """Split a JWS compact JWT (RFC 7515 §7.1) without verifying it.

    Tolerates surrounding whitespace and a ``Bearer`` prefix (as copied from an Authorization header).
    Raises ``ValueError`` with a short message that never quotes the token, since callers may log it.
    """
    text = token.strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    parts = text.split(".")
    if len(parts) == 5:
        raise ValueError("token is a JWE (5 segments): encrypted, not a signed JWT")
    if len(parts) != 3:
        raise ValueError(f"not a JWS compact JWT: expected 3 dot-separated segments, got {len(parts)}")
    header = _json_object(parts[0], "header")
    payload = _json_object(parts[1], "payload")
    signature = _b64url_decode(parts[2], "signature")
    return DecodedJwt(header, payload, signature, f"{parts[0]}.{parts[1]}".encode("ascii"))


def payload_claims(token: str) -> dict[str, object]:
    """The payload's claims, leniently: ``{}`` when the payload segment is not base64 JSON.

    For reading declared lifetimes only (``exp``, ``iat``), where a token the strict :func:`decode`
    refuses (e.g. an odd signature segment) still says what it claims.
    """
    try:
        payload = token.removeprefix("Bearer ").split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- unsigned variants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One crafted token to replay. A server that manages sessions correctly must reject every variant.

    ``name`` is a stable identifier for reports: ``alg-none``, ``alg-None``, ``alg-NONE``, ``alg-nOnE``,
    ``signature-stripped``, ``signature-corrupted``, ``expired-resigned``. ``description`` is one sentence
    for the evidence file and, like the name, reveals no claim value or secret.
    """

    name: str
    description: str
    token: str


def _with_header(header: Mapping[str, object], **changes: object) -> dict[str, object]:
    # Keeps the original key order; a missing key is appended at the end.
    edited = dict(header)
    edited.update(changes)
    return edited


def unsigned_variants(token: str) -> list[Variant]:
    """The variants that need no key: alg ``none`` in four casings, signature stripped, signature corrupted.

    * ``alg-<casing>``: header ``alg`` replaced (other header keys and their order kept), the payload
      segment reused byte for byte, empty signature with the trailing dot kept (RFC 7519 §6.1's
      unsecured JWT form, which is what a permissive library expects).
    * ``signature-stripped``: the original header and payload, empty signature (jwt_tool ``-X n``).
    * ``signature-corrupted``: the original header and payload, every signature byte inverted, so
      the length and encoding stay plausible but no byte matches (jwt_tool's broken-signature check).

    When the token is already unsigned (empty signature), the last two are omitted: stripping would
    reproduce the original and there is nothing to corrupt.
    """
    decoded = decode(token)
    header_b64, payload_b64 = decoded.signing_input.decode("ascii").split(".")
    variants = []
    for casing in NONE_CASINGS:
        forged = _json_segment(_with_header(decoded.header, alg=casing))
        variants.append(
            Variant(
                name=f"alg-{casing}",
                description=f"header alg set to '{casing}', signature removed, payload unchanged",
                token=f"{forged}.{payload_b64}.",
            )
        )
    if decoded.signature:
        variants.append(
            Variant(
                name="signature-stripped",
                description=f"original header (alg '{_safe_alg(decoded.alg)}') and payload, signature removed",
                token=f"{header_b64}.{payload_b64}.",
            )
        )
        # Flip bytes, not base64 characters: changing only the last character of an unpadded segment
        # can alter nothing but padding bits, which decoders ignore, leaving the signature valid.
        corrupted = bytes(b ^ 0xFF for b in decoded.signature)
        variants.append(
            Variant(
                name="signature-corrupted",
                description="original header and payload, every signature byte inverted",
                token=f"{header_b64}.{payload_b64}.{_b64url_encode(corrupted)}",
            )
        )
    return variants


def _safe_alg(alg: str) -> str:
    # The alg string goes into evidence text; keep it to what real algorithm names look like.
    return alg if re.fullmatch(r"[A-Za-z0-9+-]{1,20}", alg) else "unrecognised"


# --- offline HMAC secret check ----------------------------------------------------------------------


@dataclass(frozen=True)
class CrackResult:
    """Outcome of :func:`crack_hmac_secret`. Safe to write to evidence as is.

    The recovered secret is deliberately not a visible field: ``repr``/``str``/``==`` skip it, and it
    is wrapped so that even ``dataclasses.asdict`` or ``json.dumps`` of this object cannot print it.
    ``line_number`` (1-based, in the wordlist as given) is what a reviewer needs to reproduce the
    finding; code that must reuse the key (to forge an expired token) calls :meth:`secret`.
    """

    found: bool
    tried: int
    line_number: int | None
    alg: str
    reason: str
    _secret: _Redacted | None = field(default=None, repr=False, compare=False)

    def secret(self) -> bytes | None:
        """The recovered HMAC key bytes, or ``None`` when not found. Never write this to evidence."""
        return None if self._secret is None else self._secret.value


class _Redacted:
    """Holds bytes whose repr is a placeholder, so a stray print, log or asdict() cannot reveal them."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def _bundled_wordlist() -> Iterator[str]:
    # Comment lines become "" (skipped by the caller) rather than disappearing, so that positions
    # stay equal to the file's line numbers.
    with WORDLIST_PATH.open(encoding="utf-8") as fh:
        for line in fh:
            yield "" if line.startswith("#") else line


def crack_hmac_secret(token: str, wordlist: Iterable[str] | None = None, max_words: int = 100_000) -> CrackResult:
    """Try candidate HMAC secrets against an HS256/HS384/HS512 token, offline.

    The empty key is tried first (jwt_tool ``-X b``; a key read from an unset environment variable),
    then each wordlist entry: the bundled ``data/jwt-secrets.txt`` by default, or any iterable of strings
    (an open file works). Entries are used verbatim as UTF-8 bytes after dropping a trailing newline
    only, since spaces can be part of a secret; empty entries are skipped. At most ``max_words`` wordlist
    entries are tried. ``tried`` counts every HMAC computed, the empty key included.

    Each candidate costs one HMAC and one constant-time comparison (``hmac.compare_digest``), so the run
    time depends only on the number of candidates, never on how close a wrong guess is.

    Raises ``ValueError`` if the token is not a JWT; returns ``found=False`` with a reason for non-HMAC
    or unsigned tokens, which this check does not apply to.
    """
    decoded = decode(token)
    alg = decoded.alg
    digest = HMAC_ALGS.get(alg)
    if digest is None:
        return CrackResult(False, 0, None, alg, f"alg '{_safe_alg(alg)}' is not HMAC (HS256/HS384/HS512): not tested")
    if not decoded.signature:
        return CrackResult(False, 0, None, alg, "token has no signature: nothing to test")

    def matches(key: bytes) -> bool:
        return hmac.compare_digest(hmac.new(key, decoded.signing_input, digest).digest(), decoded.signature)

    tried = 1
    if matches(b""):
        return CrackResult(True, tried, None, alg, f"{alg} token signed with an EMPTY secret", _Redacted(b""))

    source = "the bundled wordlist (isp_audit/data/jwt-secrets.txt)" if wordlist is None else "the supplied wordlist"
    words = _bundled_wordlist() if wordlist is None else wordlist
    used = 0
    for line_number, entry in enumerate(words, start=1):
        candidate = entry.rstrip("\r\n")
        if not candidate:
            continue
        if used >= max_words:
            reason = f"secret not among the first {max_words} candidates of {source} (stopped at max_words)"
            return CrackResult(False, tried, None, alg, reason)
        used += 1
        tried += 1
        key = candidate.encode("utf-8")
        if matches(key):
            reason = f"{alg} secret found at line {line_number} of {source}"
            return CrackResult(True, tried, line_number, alg, reason, _Redacted(key))
    return CrackResult(False, tried, None, alg, f"secret not found among {tried} candidates from {source}")


# --- forging with a known secret --------------------------------------------------------------------


def resign(token: str, secret: bytes, alg: str, payload_changes: Mapping[str, object]) -> str:
    """Re-sign ``token`` with a known HMAC ``secret`` after applying ``payload_changes``.

    The header keeps its keys and order with ``alg`` set to ``alg``; changed claims keep their position
    and new claims are appended. Only HS256/HS384/HS512 are supported (``ValueError`` otherwise).
    """
    digest = HMAC_ALGS.get(alg)
    if digest is None:
        raise ValueError(f"cannot re-sign with alg '{_safe_alg(alg)}': only HS256/HS384/HS512")
    decoded = decode(token)
    payload = dict(decoded.payload)
    payload.update(payload_changes)
    signing_input = f"{_json_segment(_with_header(decoded.header, alg=alg))}.{_json_segment(payload)}"
    signature = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{_b64url_encode(signature)}"


def expired_variant(token: str, secret: bytes, now: float | None = None) -> Variant:
    """A correctly signed copy of ``token`` that expired an hour ago (``exp = now - 3600``).

    Proves whether the server enforces ``exp``: the signature is valid, so only expiry can reject it.
    ``iat`` and ``nbf``, when present, move by the same amount as ``exp`` so the token's lifetime and
    internal order are unchanged and no other check (``iat`` in the future, ``nbf > exp``) can be the
    reason for a rejection. Without an original ``exp`` a one-hour lifetime is assumed. Uses the
    token's own HMAC alg; ``ValueError`` for other algs.
    """
    decoded = decode(token)
    alg = decoded.alg
    if alg not in HMAC_ALGS:
        raise ValueError(f"cannot re-sign alg '{_safe_alg(alg)}': only HS256/HS384/HS512")
    new_exp = int(time.time() if now is None else now) - 3600
    old_exp = _number(decoded.payload.get("exp"))
    # Shift relative to the old exp; without one, pretend it was issued (and valid from) an hour earlier.
    shift = new_exp - old_exp if old_exp is not None else None
    changes: dict[str, object] = {"exp": new_exp}
    for claim in ("iat", "nbf"):
        value = _number(decoded.payload.get(claim))
        if value is None:
            continue
        moved = value + shift if shift is not None else new_exp - 3600
        # Keep integers integers: many servers reject fractional NumericDates.
        changes[claim] = int(moved) if isinstance(decoded.payload[claim], int) else moved
    return Variant(
        name="expired-resigned",
        description=f"exp set to one hour ago (iat/nbf shifted to match), re-signed {alg} with the recovered secret",
        token=resign(token, secret, alg, changes),
    )


# --- passive observations ---------------------------------------------------------------------------


def lifetime_seconds(decoded: DecodedJwt, *, now: float | None = None) -> float | None:
    """How long the token is valid for: ``exp - iat``; with no ``iat``, ``exp - now`` (the time left).

    ``None`` when there is no numeric ``exp``, i.e. the token never expires by itself.
    """
    exp = _number(decoded.payload.get("exp"))
    if exp is None:
        return None
    iat = _number(decoded.payload.get("iat"))
    if iat is not None:
        return exp - iat
    return exp - (time.time() if now is None else now)


# Matched against a normalised claim name: camelCase split and lower-cased, runs of other characters
# turned into "_" (``dateOfBirth`` -> ``date_of_birth``, ``X-API-Key`` -> ``x_api_key``). Short
# abbreviations must be a whole "_"-separated word, so ``pan`` matches ``pan``/``card_pan`` but not
# ``company``. What is flagged (claims a session token should not carry, as the token is readable by
# anyone who holds it):
#   credentials   password, passwd, passphrase, passcode, pass, pwd, pw, pin, *secret*, api/private/
#                 secret/access/signing/encryption/master key, access/refresh token, credential(s)
#   government id ssn, social security, tax file number, tfn, tax id, passport, medicare,
#                 driver('s) licence/license, licence/license number
#   financial     credit card, card number, cc number, ccn, pan, cvv, cvc, iban, bsb, bank account,
#                 account number, routing number
#   personal      dob, *birth* (birthdate, date_of_birth), *phone*, mobile number, msisdn, email/e-mail,
#                 mail, address (street/postal/home...; not ip_address/mac_address), postcode, zip code
# Not flagged on purpose: sub, iss, aud, iat, exp, nbf, jti, role(s), scope, name/given_name (too common
# in ordinary tokens to be a useful signal), and OIDC "*_verified" booleans (email_verified says nothing).
SENSITIVE_CLAIM_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"pass_?(?:word|wd|phrase|code)",
        r"(?:^|_)(?:pass|pwd|pw|pin)(?:_|$)",
        r"secret",
        r"(?:api|private|priv|secret|access|signing|encryption|master)_?key",
        r"(?:refresh|access)_?token",
        r"credential",
        r"(?:^|_)ssn(?:_|$)",
        r"social_?security",
        r"tax_?file",
        r"(?:^|_)tfn(?:_|$)",
        r"(?:^|_)tax_?id(?:_|$)",
        r"passport",
        r"medicare",
        r"drivers?_?licen[cs]e|licen[cs]e_?(?:number|num|no)",
        r"credit_?card",
        r"card_?(?:number|num|no)(?:_|$)",
        r"(?:^|_)cc_?(?:number|num|no)(?:_|$)|(?:^|_)ccn(?:_|$)",
        r"(?:^|_)pan(?:_|$)",
        r"(?:^|_)(?:cvv|cvc)2?(?:_|$)",
        r"(?:^|_)(?:iban|bsb)(?:_|$)",
        r"bank_?account|account_?(?:number|num|no)(?:_|$)|routing_?(?:number|num|no)",
        r"(?:^|_)dob(?:_|$)",
        r"birth",
        r"phone",
        r"(?:^|_)mobile_?(?:number|num|no)(?:_|$)|(?:^|_)msisdn(?:_|$)",
        r"e_?mail",
        r"(?:^|_)mail(?:_|$)",
        r"(?<!ip)(?<!mac)(?:^|_)addr(?:ess)?(?:_|\d|$)",
        r"post_?code|postal_?code|zip_?code",
    )
)


def _normalise_claim_name(name: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def _is_sensitive(name: str) -> bool:
    normal = _normalise_claim_name(name)
    if normal.endswith("_verified"):
        return False
    return any(p.search(normal) for p in SENSITIVE_CLAIM_PATTERNS)


def sensitive_claims(decoded: DecodedJwt) -> list[str]:
    """Names of payload claims that look sensitive (see ``SENSITIVE_CLAIM_PATTERNS``), in payload order.

    Nested objects are searched too and reported as dotted paths (``user.email``); a flagged object is
    reported once, not its children. Only names are returned: values are never read, so the result is
    safe for evidence. This is a name heuristic for a reviewer, not proof that a value is real data.
    """
    found: list[str] = []

    def walk(obj: Mapping[str, object], prefix: str) -> None:
        for name, value in obj.items():
            path = f"{prefix}{name}"
            if _is_sensitive(name):
                found.append(path)
            elif isinstance(value, dict):
                walk(value, f"{path}.")

    walk(decoded.payload, "")
    return found
