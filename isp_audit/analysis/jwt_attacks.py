"""Craft the JWT variants a scanner replays, and check a JWT's HMAC secret offline.

ISM-2066 asks that sessions be centrally managed server side. When the session is a JWT, the server
keeps control only if it verifies every token it is given: an unsigned (``alg: none``) token, a token
with its signature stripped or corrupted, or a token forged with a guessable HMAC secret must all be
refused. This module follows the relevant steps of jwt_tool's playbook (``-X a`` alg none in four
casings, ``-X n`` null signature, the broken-signature check, ``-X b`` blank password and the
``jwt-common.txt`` weak-secret crack) and adds what jwt_tool leaves manual: an already-expired token
re-signed with a recovered secret, to prove whether ``exp`` is enforced.

Everything here is pure: the functions build tokens and compute HMACs, and never touch the network.
The scanner replays the variants against the application's own "am I logged in?" page. Reading a token
(its segments, header and claims) is :mod:`isp_audit.analysis.jose`'s job; this module only forges.

Evidence safety: a recovered secret never appears in a field, ``repr`` or ``str`` of :class:`CrackResult`
(only its line number in the public wordlist, which is enough to reproduce the finding).
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .jose import decode, numeric_date, safe_alg

__all__ = [
    "HMAC_ALGS",
    "WORDLIST_PATH",
    "CrackResult",
    "Variant",
    "crack_hmac_secret",
    "expired_variant",
    "resign",
    "unsigned_variants",
]

# RFC 7518 §3.2. Exact, case-sensitive names: that is how JOSE libraries match "alg".
HMAC_ALGS: Mapping[str, str] = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}

# jwt_tool -X a tries these four spellings because some libraries compare "alg" case-insensitively
# or against a single spelling when blocking it.
NONE_CASINGS: tuple[str, ...] = ("none", "None", "NONE", "nOnE")

WORDLIST_PATH = Path(__file__).resolve().parent.parent / "data" / "jwt-secrets.txt"  # isp_audit/data

# --- encoding helpers -------------------------------------------------------------------------------


def _b64url_encode(data: bytes) -> str:
    # RFC 7515 §2: base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(data: Mapping[str, object]) -> str:
    # Compact JSON like every mainstream JWT library emits; dict order is kept, so an edited header or
    # payload keeps its original key order and differs from the original only where we changed it.
    return _b64url_encode(json.dumps(data, separators=(",", ":")).encode("utf-8"))


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
                description=f"original header (alg '{safe_alg(decoded.alg)}') and payload, signature removed",
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
        return CrackResult(False, 0, None, alg, f"alg '{safe_alg(alg)}' is not HMAC (HS256/HS384/HS512): not tested")
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
        raise ValueError(f"cannot re-sign with alg '{safe_alg(alg)}': only HS256/HS384/HS512")
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
        raise ValueError(f"cannot re-sign alg '{safe_alg(alg)}': only HS256/HS384/HS512")
    new_exp = int(time.time() if now is None else now) - 3600
    old_exp = numeric_date(decoded.payload.get("exp"))
    # Shift relative to the old exp; without one, pretend it was issued (and valid from) an hour earlier.
    shift = new_exp - old_exp if old_exp is not None else None
    changes: dict[str, object] = {"exp": new_exp}
    for claim in ("iat", "nbf"):
        value = numeric_date(decoded.payload.get(claim))
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
