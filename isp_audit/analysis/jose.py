"""The one place that reads JOSE compact tokens: JWS/JWT (RFC 7515, RFC 7519: three parts) and JWE
(RFC 7516: five parts). Nothing here verifies or forges; :mod:`isp_audit.analysis.jwt_attacks` forges on top of it.

Two readers over one segment decoder:

* :func:`parse` is lenient and never raises: what a token is (JWS or JWE), its header, and a JWS's claims
  when its payload is a JSON object. Token classification (:mod:`isp_audit.analysis.tokens`) and declared lifetimes
  use it.
* :func:`decode` is strict: the exact segments a signature covers, or ``ValueError`` with a short reason
  that never quotes the token. Forging uses it, because a variant must be built from what the server saw.

PyJWT (``jwt.get_unverified_header``, ``jwt.decode(..., options={"verify_signature": False})``) was
measured as the reader and not used: it refuses a whole token whose header has a non-string ``kid`` or
whose signature segment is not base64url, both of which a scanner must still read (the first is still a
JWT a lax server issues; the second still states its ``exp``), it has no JWE, and it exposes the exact
signing input only through private API. It stays the tests' reference implementation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SENSITIVE_CLAIM_PATTERNS",
    "Compact",
    "DecodedJwt",
    "b64url_decode",
    "decode",
    "lifetime_seconds",
    "numeric_date",
    "parse",
    "payload_claims",
    "safe_alg",
    "sensitive_claims",
    "strip_bearer",
]

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def strip_bearer(token: str) -> str:
    """The token as copied from an Authorization header or a cookie: whitespace and ``Bearer`` removed."""
    text = token.strip()
    return text[7:].strip() if text[:7].lower() == "bearer " else text


def b64url_decode(segment: str, what: str = "segment") -> bytes:
    """Decode one base64url segment (RFC 7515 §2), padded or not; ``ValueError`` when it is not base64url.

    The alphabet is checked first: ``urlsafe_b64decode`` silently drops characters outside it, which would
    let a mangled token "decode" to something other than what the server sees.
    """
    text = segment.rstrip("=")
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError(f"JWT {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex above catches these
        raise ValueError(f"JWT {what} is not base64url") from exc


def _json_object(segment: str, what: str) -> dict[str, object]:
    raw = b64url_decode(segment, what)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"JWT {what} is not UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise ValueError(f"JWT {what} is not a JSON object")
    return value


def _lenient_object(segment: str, what: str) -> dict[str, object] | None:
    try:
        return _json_object(segment, what)
    except ValueError:
        return None


def safe_alg(alg: str) -> str:
    """The ``alg`` as it may appear in evidence text: what real algorithm names look like, else a placeholder."""
    return alg if re.fullmatch(r"[A-Za-z0-9+-]{1,20}", alg) else "unrecognised"


# --- lenient: what a token is and what anyone can read in it -----------------------------------------


@dataclass(frozen=True)
class Compact:
    """A JOSE compact token as anyone can read it, unverified. ``claims`` is ``None`` for a JWE (encrypted)
    and for a JWS whose payload is not a JSON object."""

    kind: Literal["jws", "jwe"]
    header: Mapping[str, object]
    claims: Mapping[str, object] | None
    segments: tuple[str, ...]

    @property
    def alg(self) -> str:
        """The header's ``alg``, or ``""`` when missing or not a string."""
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else ""

    @property
    def signed(self) -> bool:
        """A JWS with a signature and an ``alg`` other than none (in any casing). Nothing is verified."""
        return self.kind == "jws" and self.alg.lower() != "none" and bool(self.segments[2])


def parse(token: str) -> Compact | None:
    """Read ``token`` as a JWS (three segments, header with ``alg``) or a JWE (five segments, header with
    ``enc``); ``None`` for anything else. Never raises."""
    parts = strip_bearer(token).split(".")
    header = _lenient_object(parts[0], "header") if len(parts) in (3, 5) else None
    if header is None:
        return None
    if len(parts) == 5:
        return Compact("jwe", header, None, tuple(parts)) if "enc" in header else None
    if "alg" not in header:
        return None
    return Compact("jws", header, _lenient_object(parts[1], "payload"), tuple(parts))


def payload_claims(token: str) -> dict[str, object]:
    """A JWS's claims, or ``{}`` when ``token`` is not a JWS with a JSON-object payload.

    Lenient on purpose: a token whose signature segment the strict :func:`decode` refuses still says what
    it claims (``exp``, ``iat``)."""
    found = parse(token)
    return dict(found.claims) if found is not None and found.claims is not None else {}


# --- strict: the exact parts a signature covers ------------------------------------------------------


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
    parts = strip_bearer(token).split(".")
    if len(parts) == 5:
        raise ValueError("token is a JWE (5 segments): encrypted, not a signed JWT")
    if len(parts) != 3:
        raise ValueError(f"not a JWS compact JWT: expected 3 dot-separated segments, got {len(parts)}")
    header = _json_object(parts[0], "header")
    payload = _json_object(parts[1], "payload")
    signature = b64url_decode(parts[2], "signature")
    return DecodedJwt(header, payload, signature, f"{parts[0]}.{parts[1]}".encode("ascii"))


# --- what a decoded JWT says -------------------------------------------------------------------


def numeric_date(value: object) -> float | None:
    # NumericDate (RFC 7519 §2) is a JSON number; bool is an int subclass in Python but not a date.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def lifetime_seconds(decoded: DecodedJwt, *, now: float | None = None) -> float | None:
    """How long the token is valid for: ``exp - iat``; with no ``iat``, ``exp - now`` (the time left).

    ``None`` when there is no numeric ``exp``, i.e. the token never expires by itself.
    """
    exp = numeric_date(decoded.payload.get("exp"))
    if exp is None:
        return None
    iat = numeric_date(decoded.payload.get("iat"))
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
