"""Small pure pieces: fingerprints, Set-Cookie parsing, client-state algebra, the oracle's judgement."""

from __future__ import annotations

from isp_audit.analysis.cookies import parse_set_cookie
from isp_audit.evidence.redact import Redactor
from isp_audit.oracle import Observation, Oracle
from isp_audit.state import ClientState, Cookie


def test_fingerprints_are_stable_per_run_and_keyed() -> None:
    one, two = Redactor(), Redactor()
    assert one.fingerprint("s3cret-value") == one.fingerprint("s3cret-value")
    assert len(one.fingerprint("s3cret-value")) == 16
    assert one.fingerprint("s3cret-value") != two.fingerprint("s3cret-value")  # a new key every run
    assert one.fp("x" * 20).startswith("fp:")


def test_scrub_removes_registered_secrets_in_plain_and_url_encoded_form() -> None:
    r = Redactor()
    r.register("tok/en+with=chars")
    r.register("ab")  # too short to scrub from free text safely
    text = r.scrub("a tok/en+with=chars b tok%2Fen%2Bwith%3Dchars c ab")
    assert "tok/en" not in text and "tok%2Fen" not in text
    assert text.count("[fp:") == 2 and text.endswith(" ab")


def test_set_cookie_keeps_attributes_and_sees_deletions() -> None:
    c = parse_set_cookie('sid="abc"; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600')
    assert c is not None and (c.name, c.value) == ("sid", "abc")
    assert c.attr("samesite") == "Lax" and c.has("HttpOnly") and not c.deletes
    assert c.redacted("fp:1") == "sid=fp:1; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600"
    assert parse_set_cookie("sid=; Max-Age=0").deletes  # type: ignore[union-attr]
    assert parse_set_cookie("sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT").deletes  # type: ignore[union-attr]
    assert parse_set_cookie("garbage") is None


def test_client_state_is_an_immutable_value() -> None:
    state = ClientState(
        cookies=(Cookie("sid", "1111", "app.example"), Cookie("theme", "dark", "app.example")),
        local_storage=(("https://app.example", "token", "2222"),),
        headers=(("Authorization", "Bearer 3333"),),
    )
    assert [i.label for i in state.items] == [
        "cookie `sid`",
        "cookie `theme`",
        "localStorage `token`",
        "header `Authorization`",
    ]
    sid = state.items[0].key
    assert [c.name for c in state.without(sid).cookies] == ["theme"]
    assert state.with_value(sid, "9999").cookies[0].value == "9999"
    assert state.cookies[0].value == "1111"  # the original is untouched
    assert state.keep({sid}).items[0].name == "sid" and len(state.keep({sid}).items) == 1
    assert not state.cookie_only and state.without(state.items[2].key).cookie_only
    pw = state.playwright_storage_state()
    assert pw["origins"] == [{"origin": "https://app.example", "localStorage": [{"name": "token", "value": "2222"}]}]


def test_cookie_matching_follows_rfc6265() -> None:
    host_only = Cookie("a", "1", "app.example", "/api")
    assert host_only.matches("app.example", "/api/x", True)
    assert not host_only.matches("sub.app.example", "/api/x", True)
    assert not host_only.matches("app.example", "/apix", True)
    domain = Cookie("b", "1", ".app.example", "/", secure=True)
    assert domain.matches("sub.app.example", "/", True)
    assert not domain.matches("sub.app.example", "/", False)


def test_oracle_judges_the_same_way_for_every_transport() -> None:
    oracle = Oracle("https://app.example/account", expect_text="Signed in as", not_redirected_to="/login")
    logged_in = Observation(
        "https://app.example/account", "https://app.example/account", 200, "<p>Signed in as <b>alice</b></p>"
    )
    redirected = Observation("https://app.example/account", "https://app.example/login?next=/account", 200, "")
    offsite = Observation(
        "https://app.example/account", "https://app.example/account", 302, "", blocked_redirect="https://idp.example/"
    )
    assert oracle.judge(logged_in) == (True, "authenticated view")
    assert oracle.judge(redirected)[0] is False and "redirected to /login" in oracle.judge(redirected)[1]
    assert oracle.judge(offsite)[0] is False
    assert (
        Oracle("https://app.example/", expect_status=200).judge(
            Observation("https://app.example/", "https://app.example/", 401, "")
        )[0]
        is False
    )
    assert "→ redirect to /login (200)" in redirected.summary()


def test_cookie_attribute_rules_for_https_targets() -> None:
    """The cookie-attributes rules on raw Set-Cookie attributes, including the HTTPS-only failure."""
    from isp_audit.checks.cookie_attributes import judge_cookie

    good = {"Secure": True, "HttpOnly": True, "SameSite": "Strict", "Path": "/"}
    assert judge_cookie("__Host-sid", good, https=True) == ([], [])
    fails, _ = judge_cookie("sid", {"HttpOnly": True, "SameSite": "Lax"}, https=True)
    assert any("no Secure" in f for f in fails)  # on HTTPS a missing Secure is a failure...
    fails, warns = judge_cookie("sid", {"HttpOnly": True, "SameSite": "Lax"}, https=False)
    assert not fails and any("cannot be judged" in w for w in warns)  # ...on plain HTTP it cannot be judged
    fails, _ = judge_cookie("__Host-sid", {**good, "Domain": "app.example"}, https=True)
    assert any("__Host- prefix rules broken" in f for f in fails)
    fails, _ = judge_cookie("sid", {**good, "SameSite": "None", "Secure": None}, https=False)
    assert any("SameSite=None" in f for f in fails) or any("no Secure" in f for f in fails)
    _, warns = judge_cookie("sid", {**good, "SameSite": "None"}, https=True)
    assert any("SameSite=None" in w for w in warns)
    fails, _ = judge_cookie("sid", {"Secure": True, "SameSite": "Lax"}, https=True)
    assert any("HttpOnly" in f for f in fails)
    _, warns = judge_cookie("__Host-sid", {**good, "Max-Age": "1209600"}, https=True)
    assert any("persistent" in w for w in warns)
