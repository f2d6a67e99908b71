"""Tests for isp_audit.analysis.tokens: real tokens from real libraries where they exist, else exact formats."""

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
import uuid
from collections.abc import Callable
from urllib.parse import quote

import jwt
import pytest
from flask import Flask, session
from itsdangerous import Signer, URLSafeTimedSerializer

from isp_audit.analysis.tokens import FORMATS, TokenAnalysis, analyse_token

CANARY = "alice-canary-77"
CANARY_INT = 987654321  # numbers are values too: they must not leak either
CLAIMS = {"user": CANARY, "role": "admin-canary-88", "uid": CANARY_INT, "admin": True}
SECRET = "test-secret-key-that-is-long-enough-for-hs256!"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check(analysis: TokenAnalysis, fmt: str, *, client_state: bool, claims: tuple[str, ...] = ()) -> None:
    """Assert the classification, and that no claim value leaks into anything in the result."""
    assert analysis.format == fmt, analysis
    assert analysis.format in FORMATS
    assert analysis.client_state is client_state
    assert analysis.claim_names == claims
    # json.dumps also proves the view is JSON-serialisable, as evidence files need.
    text = repr(analysis) + json.dumps(analysis.redacted_view)
    for value in (CANARY, "admin-canary-88", str(CANARY_INT)):
        assert value not in text


# --- Flask / itsdangerous ---------------------------------------------------------------------


def flask_cookie(values: dict[str, object]) -> str:
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.route("/login")
    def login() -> str:
        session.update(values)
        return "ok"

    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_flask_session_cookie_small() -> None:
    value = flask_cookie({"_user_id": CANARY, "_fresh": True})
    assert not value.startswith(".")  # too small for zlib to pay off
    result = analyse_token("session", value)
    check(result, "itsdangerous", client_state=True, claims=("_fresh", "_user_id"))
    assert result.signed and not result.encrypted
    assert result.redacted_view == {"_user_id": "<str len 15>", "_fresh": "<bool>"}


def test_flask_login_session_cookie() -> None:
    # Flask-Login stores _user_id, _fresh and _id (a SHA-512 hex of the client identity).
    identity = hashlib.sha512(b"127.0.0.1|pytest").hexdigest()
    value = flask_cookie({"_user_id": CANARY, "_fresh": True, "_id": identity})
    assert value.startswith(".")  # the hex digest compresses, so itsdangerous zlib-compresses
    result = analyse_token("session", value)
    check(result, "itsdangerous", client_state=True, claims=("_fresh", "_id", "_user_id"))
    assert identity not in repr(result)
    assert result.summary == "Flask/itsdangerous signed cookie carrying readable claims _fresh, _id, _user_id"


def test_flask_session_cookie_compressed() -> None:
    value = flask_cookie({"cart": [CANARY] * 200, "user": CANARY, "prefs": {"theme": CANARY, "n": CANARY_INT}})
    assert value.startswith(".")  # itsdangerous only compresses when it is shorter
    result = analyse_token("session", value)
    check(result, "itsdangerous", client_state=True, claims=("cart", "prefs", "user"))
    assert result.redacted_view == {
        "cart": "<list len 200>",
        "user": "<str len 15>",
        "prefs": {"theme": "<str len 15>", "n": "<int>"},
    }


def test_itsdangerous_timed_serializer() -> None:
    value = URLSafeTimedSerializer(SECRET, salt="auth").dumps(CLAIMS)
    result = analyse_token("auth", value)
    check(result, "itsdangerous", client_state=True, claims=("admin", "role", "uid", "user"))
    assert result.redacted_view == {
        "user": "<str len 15>",
        "role": "<str len 15>",
        "uid": "<int>",
        "admin": "<bool>",
    }


# --- Django -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def django_settings() -> None:
    from django.conf import settings

    if not settings.configured:  # another test module may already have configured Django
        settings.configure(SECRET_KEY=SECRET, USE_TZ=True)


@pytest.mark.usefixtures("django_settings")
@pytest.mark.parametrize("compress", [False, True])
def test_django_signing_dumps(compress: bool) -> None:
    from django.core import signing

    payload = {**CLAIMS, "padding": CANARY * 20}
    value = signing.dumps(payload, compress=compress)
    assert value.startswith(".") is compress
    result = analyse_token("signed", value)
    check(result, "django-signed", client_state=True, claims=("admin", "padding", "role", "uid", "user"))
    assert result.signed


@pytest.mark.usefixtures("django_settings")
def test_django_signer_without_timestamp() -> None:
    from django.core.signing import Signer as DjangoSigner

    value = DjangoSigner().sign_object(CLAIMS)
    assert value.count(":") == 1
    check(analyse_token("x", value), "django-signed", client_state=True, claims=("admin", "role", "uid", "user"))


@pytest.mark.usefixtures("django_settings")
def test_django_signed_cookies_session_backend() -> None:
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    store = SessionStore()
    store["_auth_user_id"] = CANARY
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store.save()
    result = analyse_token("sessionid", store.session_key)
    check(result, "django-signed", client_state=True, claims=("_auth_user_backend", "_auth_user_id"))


# --- JOSE ---------------------------------------------------------------------------------------


def test_pyjwt_hs256_and_bearer_prefix() -> None:
    value = jwt.encode({"sub": CANARY, "exp": 4102444800, "admin": True}, SECRET, algorithm="HS256")
    for token in (value, f"Bearer {value}"):
        result = analyse_token("Authorization", token)
        check(result, "jwt", client_state=True, claims=("admin", "exp", "sub"))
        assert result.signed and "alg HS256" in result.summary
        assert "4102444800" not in repr(result)


def test_pyjwt_alg_none_is_unsigned() -> None:
    value = jwt.encode({"sub": CANARY}, None, algorithm="none")
    result = analyse_token("token", value)
    check(result, "jwt", client_state=True, claims=("sub",))
    assert not result.signed and "UNSIGNED" in result.summary


@pytest.mark.parametrize("encrypted_key", [os.urandom(256), b""])  # RSA-OAEP, or "dir" (empty key)
def test_jwe_compact(encrypted_key: bytes) -> None:
    # RFC 7516 §7.1: header . encrypted key . iv . ciphertext . tag, each base64url.
    header = {"alg": "RSA-OAEP" if encrypted_key else "dir", "enc": "A256GCM"}
    parts = [json.dumps(header).encode(), encrypted_key, os.urandom(12), os.urandom(90), os.urandom(16)]
    result = analyse_token("id_token", ".".join(b64url(p) for p in parts))
    check(result, "jwe", client_state=True)
    assert result.encrypted and result.redacted_view is None


# --- Express ------------------------------------------------------------------------------------


def cookie_session_pair(name: str = "session") -> tuple[str, dict[str, str]]:
    # expressjs/cookie-session: value = Buffer.from(JSON.stringify(obj)).toString("base64");
    # pillarjs/cookies + keygrip: "<name>.sig" = base64url(HMAC-SHA1("<name>=<value>")) sans "=".
    value = b64(json.dumps({"user": CANARY, "views": CANARY_INT}).encode())
    digest = hmac.new(SECRET.encode(), f"{name}={value}".encode(), hashlib.sha1).digest()
    return value, {f"{name}.sig": b64url(digest)}


def test_express_cookie_session_with_sig_companion() -> None:
    value, companions = cookie_session_pair()
    result = analyse_token("session", value, companions)
    check(result, "express-cookie-session", client_state=True, claims=("user", "views"))
    assert result.signed


def test_base64_json_without_companion() -> None:
    value, _ = cookie_session_pair()
    result = analyse_token("session", value)
    check(result, "base64-json", client_state=True, claims=("user", "views"))
    assert not result.signed
    # URL-encoded padding and unpadded base64url decode the same way.
    for variant in (quote(value, safe=""), value.rstrip("="), b64url(base64.b64decode(value))):
        check(analyse_token("s", variant), "base64-json", client_state=True, claims=("user", "views"))


@pytest.mark.parametrize("encoded", [True, False])
def test_express_session_signed_id(encoded: bool) -> None:
    # expressjs/session + tj/node-cookie-signature: "s:" + id + "." + base64(HMAC-SHA256(id)) with
    # trailing "=" stripped; the id is uid-safe(24) (base64url); the cookie is encodeURIComponent'd.
    sid = b64url(os.urandom(24))
    sig = b64(hmac.new(SECRET.encode(), sid.encode(), hashlib.sha256).digest()).rstrip("=")
    value = f"s:{sid}.{sig}"
    result = analyse_token("connect.sid", quote(value, safe="") if encoded else value)
    check(result, "express-session-id", client_state=False)
    assert result.signed and not result.encrypted


# --- Rails --------------------------------------------------------------------------------------


def test_rails_encrypted_gcm_cookie() -> None:
    # ActiveSupport::MessageEncryptor (aes-256-gcm, Rails 5.2+): strict_encode64 of data, iv (12
    # bytes) and auth tag (16 bytes) joined by "--"; Rack then URL-escapes "=", "+" and "/".
    value = "--".join(b64(p) for p in (os.urandom(150), os.urandom(12), os.urandom(16)))
    for token in (value, quote(value, safe="")):
        result = analyse_token("_myapp_session", token)
        check(result, "rails-encrypted", client_state=True)
        assert result.encrypted


def rails_verifier(data: bytes, digest: str = "sha1") -> str:
    # ActiveSupport::MessageVerifier#generate: "#{strict_encode64(data)}--#{hexdigest}".
    encoded = b64(data)
    return f"{encoded}--{hmac.new(SECRET.encode(), encoded.encode(), digest).hexdigest()}"


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_rails_signed_json_cookie(digest: str) -> None:
    value = rails_verifier(json.dumps({"user_id": CANARY, "admin": True}).encode(), digest)
    result = analyse_token("remember", quote(value, safe=""))
    check(result, "rails-signed", client_state=True, claims=("admin", "user_id"))
    assert result.signed and not result.encrypted


def test_rails_signed_cookie_with_metadata_envelope() -> None:
    # Rails 6+ purpose metadata: {"_rails": {"message": b64(json), "exp": nil, "pur": "cookie.x"}}.
    message = b64(json.dumps({"user_id": CANARY}).encode())
    envelope = {"_rails": {"message": message, "exp": None, "pur": "cookie.remember"}}
    result = analyse_token("remember", rails_verifier(json.dumps(envelope).encode()))
    check(result, "rails-signed", client_state=True, claims=("user_id",))


def test_rails_signed_marshal_cookie_is_unreadable() -> None:
    result = analyse_token("remember", rails_verifier(b'\x04\x08I"\x14' + CANARY.encode() + b"\x06:\x06ET"))
    check(result, "rails-signed", client_state=True)
    assert result.redacted_view is None and "Marshal" in result.summary


def test_rails4_encrypted_cbc_cookie() -> None:
    # Rails 4–5.1 MessageEncryptor (aes-256-cbc): a verifier over "b64(ciphertext)--b64(iv)".
    inner = f"{b64(os.urandom(64))}--{b64(os.urandom(16))}".encode()
    result = analyse_token("_app_session", quote(rails_verifier(inner), safe=""))
    check(result, "rails-encrypted", client_state=True)
    assert result.encrypted and result.signed


# --- ASP.NET ------------------------------------------------------------------------------------


def data_protected(size: int = 300) -> str:
    # dotnet/aspnetcore KeyRingBasedDataProtector: magic 0x09F0C9F0, 16-byte key id, then the
    # authenticated ciphertext; cookies carry it through WebEncoders.Base64UrlEncode ("CfDJ8…").
    return b64url(b"\x09\xf0\xc9\xf0" + uuid.uuid4().bytes + os.urandom(size))


def test_aspnetcore_auth_cookie() -> None:
    value = data_protected()
    assert value.startswith("CfDJ8")
    result = analyse_token(".AspNetCore.Cookies", value)
    check(result, "aspnetcore-dataprotection", client_state=True)
    assert result.encrypted


def test_aspnetcore_session_cookie_is_only_an_id() -> None:
    result = analyse_token(".AspNetCore.Session", data_protected(60))
    check(result, "aspnetcore-session-id", client_state=False)
    assert result.encrypted


def test_aspnetcore_chunked_cookie() -> None:
    # ChunkingCookieManager: "chunks-N" in NAME, the protected value split over NAMEC1..NAMECN.
    full = data_protected(6000)
    companions = {".AspNetCore.CookiesC1": full[:4050], ".AspNetCore.CookiesC2": full[4050:]}
    result = analyse_token(".AspNetCore.Cookies", "chunks-2", companions)
    check(result, "aspnetcore-dataprotection", client_state=True)
    assert "2 chunk cookies" in result.summary
    second = analyse_token(".AspNetCore.CookiesC2", full[4050:], {".AspNetCore.Cookies": "chunks-2"})
    check(second, "aspnetcore-dataprotection", client_state=True)
    missing = analyse_token(".AspNetCore.Cookies", "chunks-3")
    check(missing, "aspnetcore-dataprotection", client_state=True)
    assert "not supplied" in missing.summary


def test_aspnet_forms_ticket() -> None:
    # System.Web.Security.FormsAuthentication.Encrypt: encrypted + MACed ticket, uppercase hex.
    value = os.urandom(176).hex().upper()
    check(analyse_token(".ASPXAUTH", value), "aspnet-forms", client_state=True)
    check(analyse_token("auth", value), "aspnet-forms", client_state=True)


# --- readable text, unknown -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "claims"),
    [
        (f"user={CANARY}&role=admin-canary-88", ("role", "user")),
        (quote(f"user={CANARY}&role=admin-canary-88"), ("role", "user")),
        (json.dumps({"user": CANARY, "uid": CANARY_INT}), ("uid", "user")),
        (quote(json.dumps({"user": CANARY, "uid": CANARY_INT})), ("uid", "user")),
        (b64(f"user={CANARY};lang=en".encode()), ("lang", "user")),
        (f"{CANARY}|admin|{CANARY_INT}", ()),
        (f"{CANARY},admin-canary-88", ()),
    ],
)
def test_readable_text(value: str, claims: tuple[str, ...]) -> None:
    result = analyse_token("prefs", value)
    check(result, "readable-text", client_state=True, claims=claims)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "true",
        "en-AU",
        "a" * 40,  # repetitive, not random
        "1234567890123456789",  # a counter or user id, not an unguessable id
        b64(os.urandom(400)),  # a long blob: possibly encrypted state, but no known format
        "chunks-2",  # chunk marker whose chunks are not Data Protection payloads
    ],
)
def test_unknown(value: str) -> None:
    companions = {"xC1": "abc", "xC2": "def"}
    result = analyse_token("x", value, companions)
    check(result, "unknown", client_state=False)
    assert "not recognised" in result.summary


# --- opaque identifiers must never be mistaken for client state -----------------------------------


def random_string(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def django_session_key() -> str:
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.utils.crypto import get_random_string

    return get_random_string(32, VALID_KEY_CHARS)  # SessionBase._get_new_session_key


def jetty_session_id() -> str:
    # Jetty 9.4+ DefaultSessionIdManager: worker name + random base-36 longs + counter + ".node0".
    longs = "".join(base36(secrets.randbits(63)) for _ in range(2))
    return f"node0{longs}{secrets.randbelow(1000)}.node0"


def base36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


OPAQUE_GENERATORS: dict[str, Callable[[], str]] = {
    "token_urlsafe(16)": lambda: secrets.token_urlsafe(16),
    "token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "token_urlsafe(64)": lambda: secrets.token_urlsafe(64),
    "token_hex(16)": lambda: secrets.token_hex(16),
    "token_hex(32)": lambda: secrets.token_hex(32),
    "token_hex(64)": lambda: secrets.token_hex(64),
    "uuid4": lambda: str(uuid.uuid4()),
    "uuid4.hex": lambda: uuid.uuid4().hex,
    "django session key": django_session_key,
    "php 26 chars (5 bits/char)": lambda: random_string(string.digits + "abcdefghijklmnopqrstuv", 26),
    "php legacy 26 chars": lambda: random_string(string.ascii_lowercase + string.digits, 26),
    "php 32 hex (4 bits/char)": lambda: secrets.token_hex(16),
    "php 26 chars (6 bits/char)": lambda: random_string(string.digits + string.ascii_letters + ",-", 26),
    "jetty JSESSIONID": jetty_session_id,
    "tomcat JSESSIONID + jvmRoute": lambda: secrets.token_hex(16).upper() + ".worker1",
    "ASP.NET_SessionId": lambda: random_string(string.ascii_lowercase + "012345", 24),
    "express uid-safe(24)": lambda: b64url(os.urandom(24)),
    "standard base64 32 bytes": lambda: b64(os.urandom(32)),
    "url-encoded base64 32 bytes": lambda: quote(b64(os.urandom(32)), safe=""),
    "flask-session signed sid": lambda: (
        Signer(SECRET, salt="flask-session", key_derivation="hmac").sign(secrets.token_urlsafe(32)).decode()
    ),
}


@pytest.mark.parametrize("generator", OPAQUE_GENERATORS.values(), ids=OPAQUE_GENERATORS.keys())
def test_opaque_identifiers(generator: Callable[[], str]) -> None:
    for value in (generator() for _ in range(50)):  # many runs catch flaky heuristics
        result = analyse_token("sessionid", value)
        assert (result.format, result.client_state) == ("opaque", False), (value, result)
        assert value not in repr(result) and result.redacted_view is None
