"""Tests for isp_audit.analysis.jwt_attacks: real tokens from pyjwt, checked by pyjwt and by a naive verifier."""

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import secrets
import time
from collections import Counter

import jwt
import pytest

from isp_audit.analysis.jose import SENSITIVE_CLAIM_PATTERNS, DecodedJwt, decode, lifetime_seconds, sensitive_claims
from isp_audit.analysis.jwt_attacks import (
    WORDLIST_PATH,
    CrackResult,
    crack_hmac_secret,
    expired_variant,
    resign,
    unsigned_variants,
)

# Weak secrets are short by design; pyjwt rightly warns about them.
pytestmark = pytest.mark.filterwarnings("ignore:The HMAC key is .* below the minimum recommended length")

HMAC_ALGS = ("HS256", "HS384", "HS512")
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
WEAK = {"HS256": "your-256-bit-secret", "HS384": "keyboard cat", "HS512": "changeme"}
STRONG = secrets.token_urlsafe(48)
HEADERS = {"kid": "key-1", "typ": "JWT"}
VARIANT_NAMES = [
    "alg-none",
    "alg-None",
    "alg-NONE",
    "alg-nOnE",
    "signature-stripped",
    "signature-corrupted",
]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seg(obj: object) -> str:
    """One compact-JSON base64url segment."""
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(now: float | None = None) -> dict[str, object]:
    now = int(time.time() if now is None else now)
    return {"sub": "user-42", "role": "staff", "iat": now - 60, "nbf": now - 60, "exp": now + 900, "name": "Alice"}


def make(alg: str, key: str, payload: dict[str, object] | None = None) -> str:
    return jwt.encode(claims() if payload is None else payload, key, algorithm=alg, headers=HEADERS)


def wordlist_lines() -> list[str]:
    return WORDLIST_PATH.read_text(encoding="utf-8").splitlines()


def line_of(secret: str) -> int:
    return wordlist_lines().index(secret) + 1


def naive_verify(token: str, key: bytes) -> dict[str, object]:
    """The classic vulnerable verifier: believes the header's alg, and "none" (any case) means no check."""
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    alg = header["alg"]
    if alg.lower() == "none":
        return json.loads(b64url_decode(payload_b64))
    expected = hmac.new(key, f"{header_b64}.{payload_b64}".encode(), DIGESTS[alg]).digest()
    if not hmac.compare_digest(expected, b64url_decode(sig_b64)):
        raise ValueError("bad signature")
    return json.loads(b64url_decode(payload_b64))


# --- decode -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_decode_round_trips_a_pyjwt_token(alg: str) -> None:
    token = make(alg, STRONG)
    decoded = decode(token)
    assert decoded.alg == alg
    assert decoded.header == jwt.get_unverified_header(token)
    assert decoded.payload == jwt.decode(token, STRONG, algorithms=[alg])
    header_b64, payload_b64, sig_b64 = token.split(".")
    assert decoded.signing_input == f"{header_b64}.{payload_b64}".encode()
    assert b64url(decoded.signature) == sig_b64
    assert decode(f"Bearer {token}") == decoded
    assert decode(f"  bearer {token}\n") == decoded


def test_decode_keeps_signing_input_exactly_as_received() -> None:
    # Spaced, non-sorted JSON must not be normalised: the signature covers the bytes as sent.
    header = b64url(b'{ "typ" : "JWT", "alg" : "HS256" }')
    payload = b64url(b'{"b": 1,  "a": 2}')
    sig = hmac.new(b"k", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    decoded = decode(f"{header}.{payload}.{b64url(sig)}")
    assert decoded.signing_input == f"{header}.{payload}".encode()
    assert list(decoded.header) == ["typ", "alg"]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "3 dot-separated"),
        ("abc.def", "3 dot-separated"),
        ("a.b.c.d.e", "JWE"),
        ("!!!.e30.", "header is not base64url"),
        (f"{b64url(b'[1]')}.e30.", "header is not a JSON object"),
        (f"{b64url(b'not json')}.e30.", "header is not UTF-8 JSON"),
        (f"{b64url(b'{}')}.{b64url(b'1')}.", "payload is not a JSON object"),
        ("e30.e30.a+b/", "signature is not base64url"),
    ],
)
def test_decode_rejects_non_jwts_with_a_short_message(token: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        decode(token)
    assert len(str(info.value)) < 80


def test_alg_is_empty_when_missing_or_not_a_string() -> None:
    assert decode(f"{b64url(b'{}')}.e30.").alg == ""
    assert decode(f"{seg({'alg': 5})}.e30.").alg == ""


# --- unsigned variants ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_unsigned_variants_are_well_formed_and_a_correct_server_rejects_them(alg: str) -> None:
    token = make(alg, STRONG)
    original = decode(token)
    variants = unsigned_variants(token)
    assert [v.name for v in variants] == VARIANT_NAMES
    for variant in variants:
        assert variant.description
        forged = decode(variant.token)
        assert forged.payload == original.payload
        assert list(forged.header) == list(original.header)  # key order kept
        assert {k: v for k, v in forged.header.items() if k != "alg"} == {
            k: v for k, v in original.header.items() if k != "alg"
        }
        # A correct server (pyjwt, real key, expected alg) must refuse every variant.
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(variant.token, STRONG, algorithms=[alg])

    by_name = {v.name: v for v in variants}
    for casing in ("none", "None", "NONE", "nOnE"):
        variant = by_name[f"alg-{casing}"]
        forged = decode(variant.token)
        assert forged.alg == casing
        assert forged.signature == b""
        assert variant.token.endswith(".")
        assert variant.token.split(".")[1] == token.split(".")[1]  # payload segment byte for byte
        assert casing in variant.description
        # ...while the naive verifier accepts them: the forgery is well-formed.
        assert naive_verify(variant.token, STRONG.encode()) == original.payload

    stripped = by_name["signature-stripped"]
    assert stripped.token == token.rsplit(".", 1)[0] + "."
    assert decode(stripped.token).signature == b""

    corrupted = decode(by_name["signature-corrupted"].token)
    assert corrupted.signing_input == original.signing_input
    assert len(corrupted.signature) == len(original.signature)
    assert all(a != b for a, b in zip(corrupted.signature, original.signature, strict=True))
    with pytest.raises(ValueError, match="bad signature"):
        naive_verify(by_name["signature-corrupted"].token, STRONG.encode())


def test_unsigned_token_gets_only_the_alg_none_variants() -> None:
    token = f"{seg({'alg': 'none'})}.{seg({'sub': 'x'})}."
    assert [v.name for v in unsigned_variants(token)] == VARIANT_NAMES[:4]


def test_variants_of_a_non_hmac_token_without_cryptography() -> None:
    # RS256 by structure only (a fake 256-byte signature): variants need no key at all.
    header = seg({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"})
    token = f"{header}.{seg({'sub': 'x'})}.{b64url(secrets.token_bytes(256))}"
    variants = unsigned_variants(token)
    assert [v.name for v in variants] == VARIANT_NAMES
    assert list(decode(variants[0].token).header) == ["alg", "typ", "kid"]
    result = crack_hmac_secret(token)
    assert (result.found, result.tried, result.alg) == (False, 0, "RS256")
    assert "not HMAC" in result.reason
    with pytest.raises(ValueError, match="only HS256"):
        expired_variant(token, b"k")


def test_rs256_variants_are_rejected_by_pyjwt_with_the_public_key() -> None:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256", headers=HEADERS)
    for variant in unsigned_variants(token):
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(variant.token, key.public_key(), algorithms=["RS256"])
    assert not crack_hmac_secret(token).found


# --- crack ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_crack_finds_a_weak_secret_at_its_line_number(alg: str) -> None:
    secret = WEAK[alg]
    result = crack_hmac_secret(make(alg, secret))
    assert result.found
    assert result.alg == alg
    assert result.line_number == line_of(secret)
    assert result.tried == result.line_number  # the empty key, then lines 2..N (line 1 is the comment header)
    assert result.secret() == secret.encode()
    assert str(result.line_number) in result.reason


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_crack_does_not_find_a_strong_secret(alg: str) -> None:
    result = crack_hmac_secret(make(alg, STRONG))
    assert not result.found
    assert result.line_number is None
    assert result.secret() is None
    assert result.tried == len(wordlist_lines())  # every entry (header excluded) plus the empty key


def test_crack_never_reveals_the_secret_in_repr_str_or_asdict() -> None:
    secret = "keyboard cat"
    result = crack_hmac_secret(make("HS256", secret))
    assert result.found
    for text in (repr(result), str(result), f"{result}", result.reason, repr(dataclasses.asdict(result))):
        assert secret not in text
        assert repr(secret.encode()) not in text
    with pytest.raises(TypeError):
        json.dumps(dataclasses.asdict(result))  # fails loudly instead of writing the secret
    # Equality ignores the secret: results differ only by what the evidence shows.
    shown = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.repr}
    assert result == CrackResult(**shown)


def test_crack_with_a_custom_wordlist_uses_positions_as_line_numbers() -> None:
    secret = "correct horse battery staple"
    token = make("HS256", secret)
    wordlist = io.StringIO(f"alpha\n\nbeta\r\n{secret}\ngamma\n")
    result = crack_hmac_secret(token, wordlist)
    assert (result.found, result.line_number, result.tried) == (True, 4, 4)
    assert "supplied wordlist" in result.reason
    assert result.secret() == secret.encode()


def test_crack_respects_max_words() -> None:
    token = make("HS256", "gamma")
    result = crack_hmac_secret(token, ["alpha", "beta", "gamma"], max_words=2)
    assert not result.found
    assert result.tried == 3
    assert "max_words" in result.reason
    assert crack_hmac_secret(token, ["alpha", "beta", "gamma"], max_words=3).found


def test_crack_finds_an_empty_secret() -> None:
    # pyjwt refuses to sign with an empty key, so sign by hand (as a careless server would).
    signing_input = f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg({'sub': 'x'})}"
    sig = hmac.new(b"", signing_input.encode(), hashlib.sha256).digest()
    result = crack_hmac_secret(f"{signing_input}.{b64url(sig)}", [])
    assert (result.found, result.tried, result.line_number) == (True, 1, None)
    assert "EMPTY" in result.reason
    assert result.secret() == b""


def test_crack_skips_unsigned_tokens() -> None:
    token = f"{seg({'alg': 'HS256'})}.{seg({})}."
    result = crack_hmac_secret(token)
    assert (result.found, result.tried) == (False, 0)
    assert "no signature" in result.reason


# --- resign / expired -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_resign_produces_a_token_pyjwt_accepts(alg: str) -> None:
    token = make(alg, WEAK[alg])
    forged = resign(token, WEAK[alg].encode(), alg, {"role": "admin", "extra": 1})
    payload = jwt.decode(forged, WEAK[alg], algorithms=[alg])
    assert payload == {**decode(token).payload, "role": "admin", "extra": 1}
    assert list(payload) == [*decode(token).payload, "extra"]  # changed claims keep their place
    assert list(decode(forged).header) == list(decode(token).header)
    segments = forged.split(".")
    assert all("=" not in s for s in segments)
    assert b64url_decode(segments[1]) == json.dumps(payload, separators=(",", ":")).encode()


def test_resign_can_switch_hmac_alg_and_refuses_others() -> None:
    token = make("HS256", "secret")
    forged = resign(token, b"secret", "HS512", {})
    assert jwt.decode(forged, "secret", algorithms=["HS512"])["sub"] == "user-42"
    with pytest.raises(ValueError, match="only HS256"):
        resign(token, b"secret", "RS256", {})


@pytest.mark.parametrize("alg", HMAC_ALGS)
def test_expired_variant_is_valid_except_for_exp(alg: str) -> None:
    secret = WEAK[alg]
    now = time.time()
    token = make(alg, secret)
    original = decode(token).payload
    variant = expired_variant(token, secret.encode(), now=now)
    assert variant.name == "expired-resigned"
    assert alg in variant.description
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(variant.token, secret, algorithms=[alg])
    payload = jwt.decode(variant.token, secret, algorithms=[alg], options={"verify_exp": False})
    assert payload["exp"] == int(now) - 3600
    # iat/nbf moved with exp: same lifetime, same order, all integers.
    assert payload["exp"] - payload["iat"] == original["exp"] - original["iat"]
    assert payload["nbf"] - payload["iat"] == original["nbf"] - original["iat"]
    assert all(isinstance(payload[c], int) for c in ("iat", "nbf", "exp"))
    assert {k: v for k, v in payload.items() if k not in ("iat", "nbf", "exp")} == {
        k: v for k, v in original.items() if k not in ("iat", "nbf", "exp")
    }
    # And with the wrong key it is simply a bad signature: the forgery depends on the secret.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(variant.token, STRONG, algorithms=[alg], options={"verify_exp": False})


def test_expired_variant_adds_exp_to_a_token_without_one() -> None:
    now = 1_700_000_000
    token = make("HS256", "secret", {"sub": "x", "iat": now - 10})
    payload = decode(expired_variant(token, b"secret", now=now).token).payload
    assert payload == {"sub": "x", "iat": now - 7200, "exp": now - 3600}


# --- lifetime / sensitive claims --------------------------------------------------------------------


def test_lifetime_seconds() -> None:
    def with_payload(payload: dict[str, object]) -> DecodedJwt:
        return decode(make("HS256", STRONG, payload))

    assert lifetime_seconds(with_payload({"iat": 1000, "exp": 4600})) == 3600
    assert lifetime_seconds(with_payload({"exp": 2000}), now=1500) == 500
    assert lifetime_seconds(with_payload({"sub": "x", "iat": 1000})) is None
    assert lifetime_seconds(with_payload({"exp": "soon"})) is None
    left = lifetime_seconds(with_payload({"exp": int(time.time()) + 600}))
    assert left is not None and 590 < left <= 600


def test_sensitive_claims_names_only() -> None:
    payload = {
        "sub": "user-42",
        "iat": 1,
        "exp": 2,
        "nbf": 1,
        "jti": "abc",
        "iss": "https://idp",
        "aud": "app",
        "role": "admin",
        "roles": ["a"],
        "scope": "read",
        "name": "Alice",
        "company": "ACME",
        "email": "alice@example.com",
        "email_verified": True,
        "password": "hunter2",
        "userPwd": "x",
        "SSN": "123-45-6789",
        "taxFileNumber": "123 456 782",
        "creditCardNumber": "4111",
        "cvv": "123",
        "dateOfBirth": "1990-01-01",
        "phone_number": "+61400000000",
        "ip_address": "10.0.0.1",
        "X-API-Key": "k",
        "profile": {"homeAddress": "1 Main St", "nickname": "al"},
    }
    found = sensitive_claims(decode(make("HS256", STRONG, payload)))
    assert found == [
        "email",
        "password",
        "userPwd",
        "SSN",
        "taxFileNumber",
        "creditCardNumber",
        "cvv",
        "dateOfBirth",
        "phone_number",
        "X-API-Key",
        "profile.homeAddress",
    ]
    assert all(isinstance(p.pattern, str) for p in SENSITIVE_CLAIM_PATTERNS)


# --- wordlist ---------------------------------------------------------------------------------------


def test_wordlist_is_clean() -> None:
    raw = WORDLIST_PATH.read_bytes()
    raw.decode("utf-8")  # strict UTF-8
    assert raw.endswith(b"\n") and b"\r" not in raw
    lines = wordlist_lines()
    assert lines[0].startswith("#") and "jwt_tool" in lines[0]
    entries = lines[1:]
    assert not [line for line in entries if line.startswith("#")]
    assert not [line for line in entries if not line.strip()]
    assert not [line for line in entries if line != line.strip()]
    duplicates = [line for line, n in Counter(entries).items() if n > 1]
    assert not duplicates
    assert 500 <= len(entries) <= 2000
    for expected in ("secret", "your-256-bit-secret", "keyboard cat", "shhhhh", "changeme", "123456"):
        assert expected in entries
