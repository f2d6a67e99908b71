"""Session formats of common stacks (../shared/reference/session-formats.md): each decoder on a value the
real library made wherever it installs from PyPI or npm (or runs here: php), else on the documented format
rebuilt by its documented algorithm (said so beside each); look-alikes must not be mistaken; and a real
tornado app scanned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import jwt
import pytest
import tornado.web
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from playwright.sync_api import Browser

from isp_audit.analysis import jose
from isp_audit.analysis.tokens import FORMATS, TokenAnalysis, analyse_token, id_part
from tests.apps_fixtures import running_app
from tests.conftest import scan_in_process, verdicts

CANARY = "alice-canary-77"
PASSWORD = "tornado-Pa55-word"
CLAIMS = {"user": CANARY, "role": "admin"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check(result: TokenAnalysis, fmt: str, *, client_state: bool, signed: bool, encrypted: bool) -> None:
    """The classification, and no decoded value in anything the result holds (it is written to evidence)."""
    assert (result.format, result.client_state, result.signed, result.encrypted) == (
        fmt,
        client_state,
        signed,
        encrypted,
    ), result
    assert fmt in FORMATS
    assert CANARY not in repr(result)


# --- tornado (real library) -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_tornado_signed_json(version: int) -> None:
    before = int(time.time())
    value = tornado.web.create_signed_value("S" * 32, "user", json.dumps(CLAIMS), version=version).decode()
    result = analyse_token("user", f'"{value}"')  # Python's SimpleCookie quotes values that hold "="
    check(result, "tornado-signed", client_state=True, signed=True, encrypted=False)
    assert result.claim_names == ("role", "user")
    assert result.issued_at is not None and before <= result.issued_at <= time.time() + 1
    assert f"Tornado signed cookie (v{version})" in result.summary and "signed at" in result.summary


def test_tornado_signed_plain_user_name_is_readable_state() -> None:
    # tornado's authentication guide: set_signed_cookie("user", name): the value is the bare name.
    value = tornado.web.create_signed_value("S" * 32, "user", CANARY).decode()
    result = analyse_token("user", value)
    check(result, "tornado-signed", client_state=True, signed=True, encrypted=False)
    assert result.redacted_view == f"<str len {len(CANARY)}>"
    assert "readable data" in result.summary


def test_tornado_xsrf_cookie_is_not_a_signed_value() -> None:
    # tornado's _xsrf v2 is "2|<mask 8hex>|<masked token 32hex>|<ts>": no "n:" length prefixes.
    value = f"2|{secrets.token_hex(4)}|{secrets.token_hex(16)}|{int(time.time())}"
    assert analyse_token("_xsrf", value).format != "tornado-signed"


# --- Starlette / FastAPI (real app served by uvicorn) -------------------------------------------------------


def _login_cookie(url: str, password: str) -> str:
    """Log in to a fixture app over plain HTTP and return the session cookie value it set."""
    form = urllib.parse.urlencode({"username": "alice", "password": password}).encode()
    no_redirect = urllib.request.build_opener(_NoRedirect)
    try:
        no_redirect.open(urllib.request.Request(url + "login", data=form), timeout=10)
    except urllib.error.HTTPError as exc:
        header = exc.headers.get("Set-Cookie", "")
    name_value = header.split(";", 1)[0]
    assert name_value.startswith("session="), header
    return name_value.partition("=")[2]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # the 302 surfaces as HTTPError, with the Set-Cookie of the login response


def test_starlette_session_middleware_cookie_from_a_real_app() -> None:
    with running_app("starlette_session", "starlette-Pa55") as url:
        value = _login_cookie(url, "starlette-Pa55")
    result = analyse_token("session", value)
    check(result, "starlette-session", client_state=True, signed=True, encrypted=False)
    assert result.claim_names == ("user",) and result.issued_at is not None


def test_starlette_format_made_by_itsdangerous() -> None:
    # starlette/middleware/sessions.py: TimestampSigner(secret).sign(b64encode(json.dumps(session))).
    value = TimestampSigner("S").sign(base64.b64encode(json.dumps(CLAIMS).encode())).decode()
    check(analyse_token("session", value), "starlette-session", client_state=True, signed=True, encrypted=False)


# --- Rack, Play, gorilla, Spring, Java: documented algorithm rebuilt (no Ruby, JVM or Go toolchain here) ----


def _ruby_marshal_session(session_id: str, user: str) -> bytes:
    # Ruby Marshal 4.8 of {"session_id"=>sid, "user"=>name}: hash "{", 2 pairs, each string an ivar-wrapped
    # raw string (I"<len+5><bytes>) with its encoding (:E true). Same bytes as the rack 2.2 sample's "BAh7B0ki".
    def string(text: str) -> bytes:
        return b'I"' + bytes([len(text) + 5]) + text.encode() + b"\x06:\x06ET"

    return b"\x04\x08{\x07" + string("session_id") + string(session_id) + string("user") + string(user)


def test_rack_session_cookie_signed() -> None:
    # rack/session/cookie.rb 2.2: base64(Marshal.dump(session)) + "--" + HMAC-SHA1 hex of that base64.
    data = b64(_ruby_marshal_session(secrets.token_hex(32), CANARY))
    assert data.startswith("BAh7B0ki")  # as the real rack 2.2.22 sample in session-formats.md
    value = urllib.parse.quote(data + "--" + hmac.new(b"k" * 64, data.encode(), hashlib.sha1).hexdigest())
    for name in ("rack.session", "_myapp_session"):  # recognised by its content whatever it is called
        result = analyse_token(name, value)
        check(result, "rack-session", client_state=True, signed=True, encrypted=False)
        assert "Marshal" in result.summary


def test_rack_session_cookie_unsigned_json() -> None:
    result = analyse_token("rack.session", b64(json.dumps({"session_id": "x" * 64, **CLAIMS}).encode()))
    check(result, "rack-session", client_state=True, signed=False, encrypted=False)
    assert "UNSIGNED" in result.label and result.claim_names == ("role", "session_id", "user")


def test_play_session_jwt() -> None:
    # Play 2.6+ JWTCookieDataCodec: HS256 JWS with the session map under "data", plus nbf and iat.
    now = int(time.time())
    value = jwt.encode({"data": {"user": CANARY}, "nbf": now, "iat": now}, "s" * 32, algorithm="HS256")
    result = analyse_token("PLAY_SESSION", value)
    check(result, "jwt", client_state=True, signed=True, encrypted=False)
    assert result.label.startswith("Play session JWT") and result.claim_names == ("data", "iat", "nbf")


def test_play_session_legacy() -> None:
    # Play before 2.6 (Cookie.scala, still its fallback decoder): HMAC-SHA1 hex "-" URL-encoded k=v&k2=v2.
    encoded = urllib.parse.urlencode({"user": CANARY, "role": "admin"})
    value = hmac.new(b"s" * 32, encoded.encode(), hashlib.sha1).hexdigest() + "-" + encoded
    result = analyse_token("PLAY_SESSION", urllib.parse.quote(value))
    check(result, "play-session", client_state=True, signed=True, encrypted=False)
    assert result.claim_names == ("role", "user")


def _securecookie(name: str, payload: bytes, hash_key: bytes) -> str:
    # gorilla/securecookie Encode without a block key: value = base64url(payload); mac = HMAC-SHA256 over
    # "name|date|value"; the cookie is base64.URLEncoding("date|value|" + mac) (padded).
    stamp = int(time.time())
    value = base64.urlsafe_b64encode(payload)
    mac = hmac.new(hash_key, b"%s|%d|%s" % (name.encode(), stamp, value), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(b"%d|%s|" % (stamp, value) + mac).decode()


def test_gorilla_cookie_store_json() -> None:
    # sessions.CookieStore with securecookie.JSONEncoder: the values map itself is the payload.
    value = _securecookie("session", json.dumps(CLAIMS).encode(), b"h" * 32)
    assert value.startswith("MT")  # as the Debian golang-github-gorilla-securecookie-dev sample
    result = analyse_token("session", value)
    check(result, "gorilla-securecookie", client_state=True, signed=True, encrypted=False)
    assert result.claim_names == ("role", "user") and result.issued_at is not None


# The fixed ids hold a character equal to a shorter id's length byte ("2" is 50, "3" is 51) where the old
# reader looked for one: the id is read from the gob header, not the first plausible length byte (a CI flake).
GORILLA_IDS = ["N2ER3OLCDJ22E2M25ELSJ56E6PSYTVPLUVGQJJ4QASXEP7O6DMHA", "3" + "A" * 51, "random"]


@pytest.mark.parametrize("sid_text", GORILLA_IDS, ids=["50-second", "51-first", "random"])
def test_gorilla_filesystem_store_holds_only_an_id(sid_text: str) -> None:
    # sessions.FilesystemStore: the payload is the gob encoding of the session id, base32 of 32 random
    # bytes without "=" (52 chars): gob message [length][type id 6 as 0x0c][0x00][string length][bytes].
    random_sid = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=")
    sid = (random_sid if sid_text == "random" else sid_text).encode()
    gob = bytes([len(sid) + 3, 0x0C, 0x00, len(sid)]) + sid
    value = _securecookie("session", gob, b"h" * 32)
    result = analyse_token("session", value)
    check(result, "gorilla-session-id", client_state=False, signed=True, encrypted=False)
    assert id_part(value, result.format)[0] == sid.decode()


def test_gorilla_gob_values_are_client_state() -> None:
    gob = (
        b"\x0e\xff\x81\x04\x01\x02\xff\x82\x00\x01\x10\x01\x10\x00\x00"
        + b"\x1d\xff\x82\x00\x01\x06string\x0c\x06\x00\x04user"
    )
    result = analyse_token("session", _securecookie("session", gob, b"h" * 32))
    check(result, "gorilla-securecookie", client_state=True, signed=True, encrypted=False)
    assert "gob-encoded" in result.summary


def test_spring_session_id() -> None:
    # spring-session DefaultCookieSerializer: Base64 of the session id, a UUID string.
    sid = str(uuid.uuid4())
    value = b64(sid.encode())
    result = analyse_token("SESSION", value)
    check(result, "spring-session-id", client_state=False, signed=False, encrypted=False)
    assert id_part(value, result.format) == (sid, "the UUID inside the base64")


def test_signed_uuid_session_id() -> None:
    # pgAdmin 4 (web/pgadmin/utils/session.py, ManagedSessionInterface): the cookie is "<sid>!<digest>", sid a
    # uuid4 string, digest = base64(HMAC-SHA256(secret, f"{sid}:{randval}")) (its _calc_hmac, rebuilt here).
    sid = str(uuid.uuid4())
    digest = base64.b64encode(hmac.new(b"k" * 32, f"{sid}:{secrets.token_hex(10)}".encode(), "sha256").digest())
    value = f"{sid}!{digest.decode()}"
    result = analyse_token("pga4_session", value)
    check(result, "signed-uuid-session-id", client_state=False, signed=True, encrypted=False)
    assert id_part(value, result.format) == (sid, "the UUID without its HMAC")
    assert analyse_token("pga4_session", f"{sid}!").format != "signed-uuid-session-id"


def test_java_jsessionid() -> None:
    # Tomcat StandardSessionIdGenerator: 32 upper-case hex, then ".<jvmRoute>" (the tomcat 10.1 sample's shape).
    sid = secrets.token_hex(16).upper()
    result = analyse_token("JSESSIONID", f"{sid}.node1")
    check(result, "java-session-id", client_state=False, signed=False, encrypted=False)
    assert id_part(f"{sid}.node1", result.format)[0] == sid


# --- PHP: the real interpreter --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def php() -> str:
    found = shutil.which("php")
    if found is None:
        pytest.skip("php is not installed (Debian: apt-get install php-cli)")
    return found


def _php(php: str, code: str, *settings: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        args = [php, "-d", f"session.save_path={tmp}", *(a for s in settings for a in ("-d", s)), "-r", code]
        return subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.mark.parametrize("bits", ["4", "5", "6"])
def test_php_session_id(php: str, bits: str) -> None:
    sid = _php(php, "session_start(); echo session_id();", f"session.sid_bits_per_character={bits}")
    result = analyse_token("PHPSESSID", sid)
    check(result, "php-session-id", client_state=False, signed=False, encrypted=False)
    assert analyse_token("sid", sid).format == "opaque"  # without the name: still an opaque id


# Laravel's Illuminate\Encryption\Encrypter::encrypt($value, serialize: false), line for line, with the
# EncryptCookies prefix (CookieValuePrefix::create = hash_hmac sha1 of name."v2", then "|").
_LARAVEL_ENCRYPT = """
$key = random_bytes(32); $iv = random_bytes(16);
$plain = hash_hmac('sha1', $argv[1].'v2', $key).'|'.$argv[2];
$value = openssl_encrypt($plain, 'aes-256-cbc', $key, 0, $iv);
$iv = base64_encode($iv); $mac = hash_hmac('sha256', $iv.$value, $key); $tag = '';
echo base64_encode(json_encode(compact('iv', 'value', 'mac', 'tag'), JSON_UNESCAPED_SLASHES));
"""


def _laravel(php: str, name: str, plaintext: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "encrypt.php"
        script.write_text("<?php\n" + _LARAVEL_ENCRYPT, encoding="utf-8")
        args = [php, str(script), name, plaintext]
        return subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout


def test_laravel_session_cookie_holds_an_encrypted_id(php: str) -> None:
    sid = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(40))
    value = urllib.parse.quote(_laravel(php, "laravel_session", sid))
    assert value.startswith("eyJpdiI6")  # as the Illuminate 8.83 sample
    result = analyse_token("laravel_session", value)
    check(result, "laravel-session-id", client_state=False, signed=False, encrypted=True)
    part, what = id_part(value, result.format)
    assert len(part) == 128 and "app key" in what


def test_laravel_cookie_driver_is_encrypted_client_state(php: str) -> None:
    # SESSION_DRIVER=cookie: a second cookie named by the 40-char id carries {"data":..., "expires":...}.
    sid = secrets.token_hex(20)
    state = json.dumps({"data": 'a:1:{s:4:"user";s:15:"' + CANARY + '";}', "expires": int(time.time()) + 7200})
    result = analyse_token(sid, _laravel(php, sid, state))
    check(result, "laravel-encrypted", client_state=True, signed=True, encrypted=True)
    remember = _laravel(php, "remember_web_x", "1|" + "t" * 60 + "|" + "h" * 60)  # longer than an id: state
    check(
        analyse_token("remember_web_x", remember), "laravel-encrypted", client_state=True, signed=True, encrypted=True
    )


# --- npm: @hapi/iron, @auth/core and jose make the values ----------------------------------------------------

_NODE_MAKER = """
import * as Iron from "@hapi/iron";
import { encode } from "@auth/core/jwt";
import { EncryptJWT } from "jose";
import { randomBytes } from "node:crypto";
const claims = JSON.parse(process.argv[2]);
const iron = await Iron.seal(claims, randomBytes(32).toString("hex"), { ...Iron.defaults, ttl: 3600 * 1000 });
const authjs = await encode({ token: claims, secret: randomBytes(32).toString("hex"), salt: "authjs.session-token" });
const v4 = await new EncryptJWT(claims).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(randomBytes(32));
console.log(JSON.stringify({ iron, authjs, v4 }));
"""
_NODE_PACKAGES = ("@hapi/iron@7", "jose@5", "@auth/core@0.34")


@pytest.fixture(scope="module")
def node_made() -> dict[str, str]:
    """Values sealed by the real npm packages, installed once into a cache folder (about 20 s the first time)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed (Debian: apt-get install nodejs npm)")
    cache = Path(tempfile.gettempdir()) / "isp-audit-session-formats-npm"
    if not (cache / "node_modules" / "@auth" / "core").is_dir():
        cache.mkdir(exist_ok=True)
        (cache / "package.json").write_text('{"private": true, "type": "module"}', encoding="utf-8")
        install = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), *_NODE_PACKAGES]
        subprocess.run(install, capture_output=True, timeout=300, check=True)
    (cache / "make.mjs").write_text(_NODE_MAKER, encoding="utf-8")
    run = [node, str(cache / "make.mjs"), json.dumps(CLAIMS)]
    return json.loads(subprocess.run(run, capture_output=True, text=True, timeout=60, check=True).stdout)


def test_hapi_iron_seal(node_made: dict[str, str]) -> None:
    for value in (node_made["iron"], node_made["iron"] + "~2"):  # iron-session appends "~2"
        result = analyse_token("sid", value)
        check(result, "iron-sealed", client_state=True, signed=True, encrypted=True)
        assert result.expires_at is not None and 3500 < result.expires_at - time.time() <= 3600


def test_authjs_jwe(node_made: dict[str, str]) -> None:
    for name, value in (("authjs.session-token", node_made["authjs"]), ("next-auth.session-token", node_made["v4"])):
        result = analyse_token(f"__Secure-{name}", value)
        check(result, "jwe", client_state=True, signed=False, encrypted=True)
        assert result.label.startswith("Auth.js/NextAuth session token (JWE, enc A256")
        assert jose.parse(value) is not None and jose.parse(value).claims is None  # type: ignore[union-attr]
    assert analyse_token("token", node_made["v4"]).label == "JSON Web Encryption token (JWE)"


# --- look-alikes, junk, and never raising ------------------------------------------------------------------

NAMES = ("session", "PHPSESSID", "JSESSIONID", "SESSION", "rack.session", "PLAY_SESSION", "laravel_session",
         "authjs.session-token", "user", "a" * 40)  # fmt: skip

OPAQUE = {
    "token_hex(16)": lambda: secrets.token_hex(16),
    "token_hex(32)": lambda: secrets.token_hex(32),
    "uuid4": lambda: str(uuid.uuid4()),
    "token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
}


@pytest.mark.parametrize("make", OPAQUE.values(), ids=OPAQUE.keys())
def test_random_ids_are_never_client_state(make) -> None:  # type: ignore[no-untyped-def]
    for name in NAMES:
        for _ in range(10):
            result = analyse_token(name, make())
            assert not result.client_state and result.format in ("opaque", "php-session-id", "java-session-id"), (
                name,
                result,
            )


@pytest.mark.parametrize(
    "value",
    [
        "2|1:0|10:1700000000|4:user|4:YWJj|" + "0" * 63,  # one hex digit short
        "2|1:0|99:1700000000|4:user|4:YWJj|" + "0" * 64,  # length prefix lies
        "Fe26.2*1*nothex*iv*ct**salt*mac",
        "Fe26.1**" + "0" * 64 + "*aXY*Y3Q**" + "0" * 64 + "*bWFj",
        "MTcwMDAwMDAwMHxub3RoaW5nIGhlcmU=",  # gorilla-shaped start, no MAC
        b64(b'{"iv": "x", "value": "y"}'),  # no mac: not a Laravel envelope
        b64(b"3fa1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b")[:-4],  # cut Spring id (fixed: xdist needs stable ids)
        "f" * 40 + "-",  # Play legacy with no data
    ],
)
def test_look_alikes_are_not_taken_for_a_stack_format(value: str) -> None:
    stacks = {"tornado-signed", "iron-sealed", "gorilla-securecookie", "gorilla-session-id", "laravel-encrypted",
              "laravel-session-id", "spring-session-id", "play-session"}  # fmt: skip
    for name in NAMES:
        assert analyse_token(name, value).format not in stacks, (name, value)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(NAMES), st.text(max_size=300))
def test_decoders_never_raise_on_arbitrary_text(name: str, value: str) -> None:
    result = analyse_token(name, value)
    assert result.format in FORMATS
    jose.parse(value)
    jose.payload_claims(value)
    id_part(value, result.format)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["2|1:0|10:1700000000|4:user|", "Fe26.2*", "MT", "eyJpdiI6", "eyJhbGciOiJkaXIi"]), st.text())
def test_decoders_never_raise_on_format_prefixes(prefix: str, tail: str) -> None:
    assert analyse_token("session", prefix + tail).format in FORMATS


# --- scan level -----------------------------------------------------------------------------------------


def test_tornado_signed_cookie_is_judged_as_signed_client_state(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    """tests/apps/tornado_signed.py: the session is tornado's signed cookie v2, the user name signed with a
    timestamp. Truth (see the app's docstring): client-held state, readable, and its only change between
    logins is the timestamp, which is no reason to call it "not random" (it is not a random id at all)."""
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app("tornado_signed", PASSWORD) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {"url": "/login", "username": "alice", "password_env": "FIXTURE_PASSWORD"},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
                "policy": {"entropy_samples": 20},
            },
            tmp_path,
            checks=("server-side-state", "token-opacity", "token-entropy"),
        )
    assert result.aborted is None
    got = verdicts(result)
    by_id = {c.check_id: c for c in result.checks}
    assert got["server-side-state"] == "fail", by_id["server-side-state"].summary
    assert "Tornado signed cookie" in by_id["server-side-state"].summary
    assert got["token-opacity"] == "fail", by_id["token-opacity"].summary  # the user name, readable
    assert got["token-entropy"] == "not_applicable", by_id["token-entropy"].summary


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=200) | st.lists(st.text(alphabet="eyJhbGciOi0123456789_-=", max_size=40), max_size=6).map(".".join)
)
def test_strict_jwt_decode_refuses_junk_with_value_error_only(value: str) -> None:
    try:
        decoded = jose.decode(value)
    except ValueError:
        return
    assert decoded.signing_input.count(b".") == 1  # what it accepted is a JWS it can re-sign byte for byte
