"""Every verdict branch of every check, driven through the Lab interface by the FakeLab (no browser).

Each test builds the situation a branch is about (what the server does, what was recorded) and asserts the
verdict and the sentence that says why. The real-browser tests (test_zoo, test_check_variants, ...) prove
the kit's experiments; these prove the verdict rules.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import secrets
from dataclasses import replace
from pathlib import Path

import jwt
import pytest

from isp_audit.checks import REGISTRY
from isp_audit.checks.api import ClientState, LoginFailed, LoginRecord, Outcome, Policy, SeenUrl, TokenSample, Verdict
from tests.fakelab import (
    ORIGIN,
    FakeLab,
    FakeServer,
    cookie,
    fake_lab,
    logout_replay,
    random_value,
    set_cookie,
    state,
)

FAULT, AUTH, REJECTED = Outcome.FAULT, Outcome.AUTHENTICATED, Outcome.REJECTED


def run(check_id: str, lab: FakeLab):
    return REGISTRY[check_id](lab)


def readable_cookie_value() -> str:
    return base64.b64encode(json.dumps({"user": "alice", "role": "admin"}).encode()).decode()


def hs256(claims: dict, key: str = secrets.token_hex(32)) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


JWE = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"


# --- token-opacity --------------------------------------------------------------------------------------------
def test_token_opacity_not_applicable_without_session_cookie():
    lab = fake_lab(state(headers=(("Authorization", "Bearer " + random_value()),)))
    assert run("token-opacity", lab).verdict is Verdict.NOT_APPLICABLE


def test_token_opacity_fails_readable_cookie():
    outcome = run("token-opacity", fake_lab(state(cookie("sid", readable_cookie_value()))))
    assert outcome.verdict is Verdict.FAIL and "readable session data" in outcome.summary


def test_token_opacity_warns_encrypted_or_unknown():
    assert run("token-opacity", fake_lab(state(cookie("sid", JWE)))).verdict is Verdict.WARN
    assert run("token-opacity", fake_lab(state(cookie("sid", "a.b.c.d.e")))).verdict is Verdict.WARN


def test_token_opacity_passes_opaque_cookie():
    outcome = run("token-opacity", fake_lab())
    assert outcome.verdict is Verdict.PASS and "opaque" in outcome.summary


# --- cookie-attributes ----------------------------------------------------------------------------------------
GOOD = {"Path": "/", "Secure": True, "HttpOnly": True, "SameSite": "Strict"}


def cookie_lab(name: str, attributes: dict, https: bool, kept: dict | None = None) -> FakeLab:
    value = random_value()
    lab = fake_lab(state(cookie(name, value, **(kept or {"http_only": True, "secure": True}))), target_is_https=https)
    lab.recorded_set_cookies.append(set_cookie(name, lab.fp(value), attributes))
    return lab


def test_cookie_attributes_not_applicable_without_session_cookie():
    lab = fake_lab(state(local=(("token", random_value()),)))
    assert run("cookie-attributes", lab).verdict is Verdict.NOT_APPLICABLE


def test_cookie_attributes_pass():
    outcome = run("cookie-attributes", cookie_lab("__Host-sid", GOOD, https=True))
    assert outcome.verdict is Verdict.PASS, outcome.summary


def test_cookie_attributes_fail_without_httponly():
    attributes = {"Path": "/", "Secure": True, "SameSite": "Lax"}
    outcome = run("cookie-attributes", cookie_lab("__Host-sid", attributes, https=True, kept={"secure": True}))
    assert outcome.verdict is Verdict.FAIL and "no HttpOnly" in outcome.summary


def test_cookie_attributes_fail_when_set_by_script():
    lab = fake_lab(state(cookie("sid", random_value())))  # no Set-Cookie header was recorded for it
    outcome = run("cookie-attributes", lab)
    assert outcome.verdict is Verdict.FAIL and "document.cookie" in outcome.summary


def test_cookie_attributes_warn_on_plain_http():
    attributes = {"Path": "/", "HttpOnly": True, "SameSite": "Lax"}
    outcome = run("cookie-attributes", cookie_lab("sid", attributes, https=False, kept={"http_only": True}))
    assert outcome.verdict is Verdict.WARN and "cannot be judged" in outcome.summary


# --- rotate-on-login ------------------------------------------------------------------------------------------
def test_rotate_on_login_error_when_pre_login_replay_faults():
    lab = fake_lab(pre=state(cookie("sid", random_value())), answers={"pre-login state": FAULT})
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.ERROR and "a fault is not a rejection" in outcome.summary


def test_rotate_on_login_fails_when_pre_login_state_is_authenticated():
    value = random_value()
    lab = fake_lab(state(cookie("sid", value)), pre=state(cookie("sid", value)))
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.FAIL and "it is authenticated" in outcome.summary


def test_rotate_on_login_fails_when_value_kept_though_pre_state_not_authenticated():
    value = random_value()
    lab = fake_lab(state(cookie("sid", value)), pre=state(cookie("sid", value)), answers={"pre-login": REJECTED})
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.FAIL and "same value before and after" in outcome.summary


def test_rotate_on_login_not_applicable_when_no_token_before_login():
    assert run("rotate-on-login", fake_lab()).verdict is Verdict.NOT_APPLICABLE


def test_rotate_on_login_names_the_pages_visited_before_login():
    outcome = run("rotate-on-login", fake_lab())
    assert "pages visited before login: /, /login" in outcome.summary, outcome.summary
    value = random_value()
    lab = fake_lab(state(cookie("sid", value)), pre=state(cookie("sid", value)), answers={"pre-login": REJECTED})
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.FAIL and "issued by /login" in outcome.summary, outcome.summary


def test_rotate_on_login_passes_when_replaced():
    lab = fake_lab(pre=state(cookie("sid", random_value())))
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.PASS and "was replaced" in outcome.summary


# --- session-fixation -----------------------------------------------------------------------------------------
def fixation_lab(**server: object) -> FakeLab:
    lab = fake_lab(server=FakeServer(**server))  # type: ignore[arg-type]
    lab.anonymous = state(cookie("sid", random_value()))
    return lab


def test_session_fixation_not_applicable_for_header_tokens():
    lab = fake_lab(state(headers=(("Authorization", "Bearer " + random_value()),)))
    assert run("session-fixation", lab).verdict is Verdict.NOT_APPLICABLE


def test_session_fixation_fails_when_planted_state_logs_in():
    outcome = run("session-fixation", fixation_lab(adopt_planted=True))
    assert outcome.verdict is Verdict.FAIL and "attacker is logged in as the victim" in outcome.summary


def renaming_lab() -> FakeLab:
    """pre_sid=X before login becomes auth_sid=X after it (the value the attacker knows, renamed)."""
    server = FakeServer(token_names=("auth_sid",), renames_planted="pre_sid")
    lab = fake_lab(state(cookie("auth_sid", random_value())), server=server)
    lab.anonymous = state(cookie("pre_sid", random_value()))
    return lab


def test_session_fixation_fails_when_renamed_planted_value_logs_in():
    lab = renaming_lab()
    lab.answers = {"attacker's planted state": REJECTED}  # the planted name is refused, the new name is not
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.FAIL and "under a new name" in outcome.summary


def test_session_fixation_warns_when_renamed_planted_value_is_refused():
    lab = renaming_lab()
    lab.answers = {"attacker's planted state": REJECTED, "under the victim's token name": REJECTED}
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.WARN and "under a new name" in outcome.summary


def test_session_fixation_fails_when_never_issued_id_logs_in():
    lab = fixation_lab()
    lab.answers = {"never-issued ID": AUTH}
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.FAIL and "never issued" in outcome.summary


def test_session_fixation_warns_when_never_issued_id_is_kept_but_not_enough():
    lab = fixation_lab(adopt_planted=True)
    lab.answers = {"attacker's planted state": REJECTED, "never-issued ID": REJECTED}
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.WARN and "holds the victim's session ID" in outcome.summary


def test_session_fixation_passes():
    outcome = run("session-fixation", fixation_lab())
    assert outcome.verdict is Verdict.PASS and "replaced at login" in outcome.summary
    assert "arrived anonymously (/, /account, /login)" in outcome.summary, outcome.summary
    assert "planted the pre-login cookie `sid`" in outcome.summary and "issued by /login" in outcome.summary


def test_session_fixation_passes_saying_no_page_issued_a_token():
    outcome = run("session-fixation", fake_lab())  # the arrival is issued nothing
    assert outcome.verdict is Verdict.PASS, outcome.summary
    assert "(/, /account, /login): none of these pages issued a session token" in outcome.summary, outcome.summary


def test_session_fixation_warns_when_planted_pre_login_id_is_kept_but_refused():
    lab = fixation_lab()
    issued = lab.anonymous.cookies[0].value
    lab.server.adopt_planted, lab.server.adopt_only = True, {issued}  # keeps what it issued, not forgeries
    lab.answers = {"attacker's planted state": REJECTED}
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.WARN and "kept the planted cookie `sid`" in outcome.summary, outcome.summary


def test_session_fixation_errs_when_the_attacker_is_not_issued_what_the_user_was():
    lab = fake_lab(pre=state(cookie("sid", random_value())))  # the user's arrival got `sid`, the attacker's nothing
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.ERROR and "could not run" in outcome.summary, outcome.summary


# --- jwt-hygiene --------------------------------------------------------------------------------------------
def jwt_lab(claims: dict, key: str | None = None, **kw: object) -> FakeLab:
    token = hs256(claims, key) if key is not None else hs256(claims)
    return fake_lab(state(cookie("jwt", token)), **kw)


def short_claims() -> dict:
    return {"sub": "42", "iat": 1_700_000_000, "exp": 1_700_000_600}


def test_jwt_hygiene_not_applicable_without_jwt():
    assert run("jwt-hygiene", fake_lab()).verdict is Verdict.NOT_APPLICABLE


def test_jwt_hygiene_error_when_control_replay_is_refused():
    outcome = run("jwt-hygiene", jwt_lab(short_claims(), answers={"control": REJECTED}))
    assert outcome.verdict is Verdict.ERROR and "could not be judged" in outcome.summary


def test_jwt_hygiene_fails_when_alg_none_is_accepted():
    outcome = run("jwt-hygiene", jwt_lab(short_claims(), answers={"JWT alg-none": AUTH}))
    assert outcome.verdict is Verdict.FAIL and "forgeries accepted" in outcome.summary


def test_jwt_hygiene_fails_on_a_wordlist_secret():
    outcome = run("jwt-hygiene", jwt_lab(short_claims(), key="secret"))
    assert outcome.verdict is Verdict.FAIL and "secret is line" in outcome.summary


def test_jwt_hygiene_fails_without_exp():
    outcome = run("jwt-hygiene", jwt_lab({"sub": "42"}))
    assert outcome.verdict is Verdict.FAIL and "no exp claim" in outcome.summary


def test_jwt_hygiene_warns_on_long_lifetime():
    claims = {"sub": "42", "iat": 1_700_000_000, "exp": 1_700_000_000 + 30 * 86400}
    outcome = run("jwt-hygiene", jwt_lab(claims))
    assert outcome.verdict is Verdict.WARN and "longer than" in outcome.summary


def test_jwt_hygiene_passes():
    outcome = run("jwt-hygiene", jwt_lab(short_claims()))
    assert outcome.verdict is Verdict.PASS, outcome.summary


# --- concurrent-sessions ------------------------------------------------------------------------------------
def test_concurrent_sessions_warns_without_configured_limit():
    outcome = run("concurrent-sessions", fake_lab())
    assert outcome.verdict is Verdict.WARN and "no limit seen" in outcome.summary


def test_concurrent_sessions_names_a_password_only_user_in_words():
    # Actual (zoo) logs in with a password alone: the summary read "Logged in 3 times as  and replayed".
    outcome = run("concurrent-sessions", fake_lab(username=""))
    assert "times as the user (password-only login) and" in outcome.summary, outcome.summary


def test_concurrent_sessions_fails_above_policy_maximum():
    lab = fake_lab(policy=Policy(max_concurrent_sessions=1))
    outcome = run("concurrent-sessions", lab)
    assert outcome.verdict is Verdict.FAIL and "the policy allows 1" in outcome.summary


def test_concurrent_sessions_passes_within_policy_maximum():
    lab = fake_lab(policy=Policy(max_concurrent_sessions=5))
    assert run("concurrent-sessions", lab).verdict is Verdict.PASS


def test_concurrent_sessions_passes_when_app_limits_and_tells_the_kit():
    lab = fake_lab(server=FakeServer(ends_oldest_beyond=1))
    outcome = run("concurrent-sessions", lab)
    assert outcome.verdict is Verdict.PASS and "older sessions were ended" in outcome.summary
    assert lab.ended == [lab.login]  # the baseline session was ended: the kit must log in afresh


def test_concurrent_sessions_does_not_count_a_session_ended_before_the_check_as_a_limit():
    # Adminer (zoo): token identification replays the session without one of its two cookies, and the server
    # ends it. The live login is dead before this check begins; that is no limit on concurrent sessions.
    lab = fake_lab()
    lab.server.live.clear()
    outcome = run("concurrent-sessions", lab)
    assert outcome.verdict is Verdict.WARN and "all 3 sessions stayed valid" in outcome.summary, outcome.summary
    assert lab.ended == [lab.login]  # the dead live login is reported, so later checks log in afresh


def test_concurrent_sessions_passes_when_a_further_login_is_refused():
    lab = fake_lab(server=FakeServer(refuse_login_after=1))
    outcome = run("concurrent-sessions", lab)
    assert outcome.verdict is Verdict.PASS and "was refused" in outcome.summary


def test_concurrent_sessions_errors_when_a_further_login_never_reached_the_server():
    # A login that was not carried out (form not drawn yet, nothing sent) is no refusal: never a pass.
    lab = fake_lab(server=FakeServer(refuse_login_after=1, login_not_carried_out=True))
    outcome = run("concurrent-sessions", lab)
    assert outcome.verdict is Verdict.ERROR and "could not be carried out" in outcome.summary, outcome.summary


# --- idle-timeout and absolute-timeout ----------------------------------------------------------------------
def measured(**policy: object) -> Policy:
    return Policy(measure_timeouts=True, **policy)  # type: ignore[arg-type]


def test_idle_timeout_warns_when_not_measured():
    outcome = run("idle-timeout", fake_lab())
    assert outcome.verdict is Verdict.WARN and "Declared only" in outcome.summary


def test_idle_timeout_warns_when_budget_is_too_short():
    outcome = run("idle-timeout", fake_lab(policy=measured(idle_timeout=600, timeout_budget=60)))
    assert outcome.verdict is Verdict.WARN and "Inconclusive" in outcome.summary


def test_idle_timeout_fails_when_probe_outlives_the_limit():
    lab = fake_lab(policy=measured(idle_timeout=60, timeout_budget=600))
    outcome = run("idle-timeout", lab)
    assert outcome.verdict is Verdict.FAIL and "outlive the limit" in outcome.summary
    assert lab.now >= 1000 + 60  # waited on the virtual clock, past the limit


def test_idle_timeout_passes_when_server_ends_idle_session():
    lab = fake_lab(policy=measured(idle_timeout=60, timeout_budget=600), answers={"session idle 66s": REJECTED})
    outcome = run("idle-timeout", lab)
    assert outcome.verdict is Verdict.PASS, outcome.summary


def test_absolute_timeout_warns_declared_only():
    outcome = run("absolute-timeout", fake_lab())
    assert outcome.verdict is Verdict.WARN and "Declared only" in outcome.summary


def test_absolute_timeout_fails_when_declared_lifetime_is_too_long():
    claims = {"sub": "42", "iat": 1_700_000_000, "exp": 1_700_000_000 + 30 * 86400}
    outcome = run("absolute-timeout", jwt_lab(claims))
    assert outcome.verdict is Verdict.FAIL and "declares sessions longer" in outcome.summary


def test_absolute_timeout_reads_the_declared_expiry_of_a_quoted_cookie_value():
    # Tornado quotes its signed value (JupyterLab, zoo): the browser keeps the quotes, the parsed Set-Cookie
    # drops them; the Set-Cookie that sent the token must still be found, with its 30-day Expires.
    value = '"2|1:0|10:1764500000|4:user|' + random_value() + '"'
    lab = fake_lab(state(cookie("user", value, http_only=True)))
    expires = "Wed, 30 Dec 2099 18:57:30 GMT"
    lab.recorded_set_cookies = [set_cookie("user", lab.fp(value[1:-1]), {"expires": expires, "HttpOnly": True})]
    outcome = run("absolute-timeout", lab)
    assert outcome.verdict is Verdict.FAIL and "cookie Expires" in outcome.summary, outcome.summary


def test_absolute_timeout_passes_when_server_ends_busy_session():
    lab = fake_lab(policy=measured(absolute_timeout=60, idle_timeout=60, timeout_budget=600))
    lab.answers = {"busy session at 40s": REJECTED}
    outcome = run("absolute-timeout", lab)
    assert outcome.verdict is Verdict.PASS and "ended it after" in outcome.summary


def test_absolute_timeout_fails_when_busy_session_outlives_limit():
    lab = fake_lab(policy=measured(absolute_timeout=60, idle_timeout=60, timeout_budget=600))
    outcome = run("absolute-timeout", lab)
    assert outcome.verdict is Verdict.FAIL and "still accepted after" in outcome.summary


def test_absolute_timeout_warns_when_budget_ends_first():
    lab = fake_lab(policy=measured(absolute_timeout=3600, idle_timeout=60, timeout_budget=120))
    outcome = run("absolute-timeout", lab)
    assert outcome.verdict is Verdict.WARN and "Inconclusive" in outcome.summary


# --- logout-invalidates ---------------------------------------------------------------------------------------
CLIENTS = ("plain HTTP", "own browser", "stranger's browser")


def logout_lab(*outcomes: Outcome, error: str | None = None) -> FakeLab:
    lab = fake_lab()
    lab.logout = logout_replay(
        lab, dict(zip(CLIENTS, outcomes, strict=False)), told={"sid": "sid=; Max-Age=0"}, error=error
    )
    return lab


def test_logout_invalidates_error_when_logout_failed():
    outcome = run("logout-invalidates", logout_lab(error="no log-out link or button found"))
    assert outcome.verdict is Verdict.ERROR and "no log-out link" in outcome.summary


def test_logout_invalidates_fails_when_every_replay_is_accepted():
    outcome = run("logout-invalidates", logout_lab(AUTH, AUTH, AUTH))
    assert outcome.verdict is Verdict.FAIL and "did not end the session" in outcome.summary


def test_logout_invalidates_fails_when_some_replay_is_accepted():
    outcome = run("logout-invalidates", logout_lab(REJECTED, REJECTED, AUTH))
    assert outcome.verdict is Verdict.FAIL and "only for some clients" in outcome.summary


def test_logout_invalidates_error_when_a_replay_faults():
    outcome = run("logout-invalidates", logout_lab(REJECTED, FAULT, REJECTED))
    assert outcome.verdict is Verdict.ERROR and "A fault is not a rejection" in outcome.summary


def test_logout_invalidates_passes():
    outcome = run("logout-invalidates", logout_lab(REJECTED, REJECTED, REJECTED))
    assert outcome.verdict is Verdict.PASS and "Every replay was rejected" in outcome.summary


# --- server-side-state ------------------------------------------------------------------------------------
def sss_lab(post: ClientState | None, *outcomes: Outcome, error: str | None = None) -> FakeLab:
    lab = fake_lab(post)
    lab.logout = logout_replay(lab, dict(zip(CLIENTS, outcomes, strict=False)), error=error)
    return lab


def test_server_side_state_error_when_replays_fault():
    outcome = run("server-side-state", sss_lab(None, REJECTED, FAULT))
    assert outcome.verdict is Verdict.ERROR


def test_server_side_state_fails_for_client_state_still_accepted():
    outcome = run("server-side-state", sss_lab(state(cookie("s", readable_cookie_value())), AUTH))
    assert outcome.verdict is Verdict.FAIL and "held by the client" in outcome.summary


def test_server_side_state_warns_for_client_state_the_server_also_tracks():
    outcome = run("server-side-state", sss_lab(state(cookie("s", readable_cookie_value())), REJECTED))
    assert outcome.verdict is Verdict.WARN and "also tracks the session" in outcome.summary


def test_server_side_state_warns_for_unknown_format():
    outcome = run("server-side-state", sss_lab(state(cookie("s", "a.b.c.d.e")), REJECTED))
    assert outcome.verdict is Verdict.WARN and "not recognised" in outcome.summary


def test_server_side_state_warns_when_logout_replay_could_not_run():
    outcome = run("server-side-state", sss_lab(None, error="no log-out link"))
    assert outcome.verdict is Verdict.WARN and "could not be confirmed" in outcome.summary


def test_server_side_state_warns_when_opaque_token_survives_logout():
    outcome = run("server-side-state", sss_lab(None, AUTH))
    assert outcome.verdict is Verdict.WARN and "not shown" in outcome.summary


def test_server_side_state_passes():
    outcome = run("server-side-state", sss_lab(None, REJECTED, REJECTED))
    assert outcome.verdict is Verdict.PASS and "lives on the server" in outcome.summary


# --- anomalous-reuse ------------------------------------------------------------------------------------------
def test_anomalous_reuse_passes_when_server_refuses_foreign_fingerprint():
    lab = logout_lab(REJECTED, REJECTED)
    lab.answers = {"another device fingerprint": REJECTED}
    outcome = run("anomalous-reuse", lab)
    assert outcome.verdict is Verdict.PASS and "The server reacted" in outcome.summary


def test_anomalous_reuse_warns_without_reaction():
    outcome = run("anomalous-reuse", logout_lab(REJECTED, REJECTED))
    assert outcome.verdict is Verdict.WARN and "log monitoring" in outcome.summary


def test_anomalous_reuse_warns_when_logout_experiment_could_not_run():
    outcome = run("anomalous-reuse", logout_lab(error="no log-out link"))
    assert outcome.verdict is Verdict.WARN and "could not run" in outcome.summary


# --- token-in-url ---------------------------------------------------------------------------------------------
def test_token_in_url_fails_when_token_is_in_a_query():
    lab = fake_lab()
    value = lab.login.post_login.cookies[0].value
    lab.recorded_urls.append(SeenUrl("user-1", "request", f"{ORIGIN}/account?sid={value}"))
    outcome = run("token-in-url", lab)
    assert outcome.verdict is Verdict.FAIL and "in a request query" in outcome.summary


def test_token_in_url_fails_on_url_rewriting():
    lab = fake_lab()
    lab.recorded_urls.append(SeenUrl("user-1", "Location", f"{ORIGIN}/account;jsessionid=ABC"))
    assert run("token-in-url", lab).verdict is Verdict.FAIL


def test_token_in_url_passes():
    lab = fake_lab()
    lab.recorded_urls.append(SeenUrl("user-1", "request", f"{ORIGIN}/account"))
    outcome = run("token-in-url", lab)
    assert outcome.verdict is Verdict.PASS and "none appears" in outcome.summary


# --- token-in-web-storage -------------------------------------------------------------------------------------
def test_token_in_web_storage_fails_for_local_storage_copy():
    lab = fake_lab()
    value = lab.login.post_login.cookies[0].value
    lab.recorded_states.append(state(local=(("backup", base64.b64encode(value.encode()).decode()),)))
    outcome = run("token-in-web-storage", lab)
    assert outcome.verdict is Verdict.FAIL and "localStorage `backup`" in outcome.summary


def test_token_in_web_storage_warns_for_session_storage_token():
    lab = fake_lab(state(session=(("token", random_value()),)))
    outcome = run("token-in-web-storage", lab)
    assert outcome.verdict is Verdict.WARN and "sessionStorage" in outcome.summary


def test_token_in_web_storage_passes():
    lab = fake_lab()
    lab.recorded_states.append(state(local=(("theme", "dark-mode-on"),)))
    outcome = run("token-in-web-storage", lab)
    assert outcome.verdict is Verdict.PASS and "none holds a session token" in outcome.summary


# --- token-entropy --------------------------------------------------------------------------------------------
def sampled(values: list[str], stopped: str = "") -> TokenSample:
    return TokenSample(tuple(values), tuple(1000.0 + i for i in range(len(values))), "plain-HTTP GET /", stopped)


def test_token_entropy_not_applicable_for_client_held_state():
    lab = fake_lab(state(cookie("s", readable_cookie_value())))
    assert run("token-entropy", lab).verdict is Verdict.NOT_APPLICABLE


def test_token_entropy_fails_one_token_at_every_login_when_no_fresh_login_is_possible():
    # A rate limit stops every further login (Actual's 500 requests a minute): the logins already made decide.
    lab = fake_lab()
    lab.login_states = lambda: (lab.login.post_login, lab.login.post_login)  # type: ignore[method-assign]

    def refused() -> LoginRecord:
        raise LoginFailed("no password field on /config-server")

    lab.live_login = refused  # type: ignore[method-assign]
    outcome = run("token-entropy", lab)
    assert outcome.verdict is Verdict.FAIL and "same value at all 2 logins" in outcome.summary, outcome.summary
    lab.login_states = lambda: (lab.login.post_login,)  # type: ignore[method-assign]
    with pytest.raises(LoginFailed):  # one login proves nothing: the check could not run (error, by the scanner)
        run("token-entropy", lab)


def test_token_entropy_warns_when_no_fresh_tokens_were_collected():
    lab = fake_lab(sample=sampled(["x" * 40], stopped="a response set no such cookie"))
    outcome = run("token-entropy", lab)
    assert outcome.verdict is Verdict.WARN and "could not collect" in outcome.summary


# 33 random bytes (264 bits), not 32: a 256-bit token sits on the preferred strength, so one chance χ²
# rejection (family-wise α = 0.01) would make these tests warn about once in a hundred runs.
def test_token_entropy_passes_256_bit_tokens():
    lab = fake_lab(sample=sampled([secrets.token_urlsafe(33) for _ in range(1000)]))
    outcome = run("token-entropy", lab)
    assert outcome.verdict is Verdict.PASS, outcome.summary


def test_token_entropy_warns_128_bit_tokens():
    lab = fake_lab(sample=sampled([secrets.token_hex(16) for _ in range(1000)]))
    outcome = run("token-entropy", lab)
    assert outcome.verdict is Verdict.WARN, outcome.summary


def test_token_entropy_fails_counter_tokens():
    lab = fake_lab(sample=sampled([f"session{n:08d}" for n in range(1000)]))
    outcome = run("token-entropy", lab)
    assert outcome.verdict is Verdict.FAIL, outcome.summary


# --- sessions made of several items: the secret is judged, the identifier reported -------------------------
UID = "1001"  # a user's numeric id: the same at every login


def set_lab(pre: ClientState | None = None, both_identifiers: bool = False, **kw: object) -> FakeLab:
    """A PHP-style session: a random ``sid`` (the secret) plus ``uid`` (an identifier)."""
    roles = {"sid": "identifier" if both_identifiers else "secret", "uid": "identifier"}
    post = state(cookie("sid", random_value()), cookie("uid", UID))
    return fake_lab(post, pre, roles=roles, **kw)


def test_token_entropy_samples_only_the_secret_of_a_set():
    asked: list[str] = []

    def sample(token, want):  # the identifier's values would all repeat: it must never be sampled
        asked.append(token.name)
        return sampled([UID] * 1000 if token.name == "uid" else [secrets.token_urlsafe(33) for _ in range(1000)])

    outcome = run("token-entropy", set_lab(sample=sample))
    assert asked == ["sid"]
    assert outcome.verdict is Verdict.PASS, outcome.summary
    assert "cookie `uid`" in outcome.summary and "identifier that accompanies the secret" in outcome.summary
    assert [m["role"] for m in outcome.evidence["members"]] == ["secret", "identifier"]


def test_token_entropy_fails_when_no_member_changes_between_logins():
    outcome = run("token-entropy", set_lab(both_identifiers=True, sample=lambda t, w: pytest.fail("sampled")))
    assert outcome.verdict is Verdict.FAIL and "no per-login secret" in outcome.summary


def test_rotate_on_login_does_not_judge_an_identifier_kept_across_login():
    pre = state(cookie("sid", random_value()), cookie("uid", UID))  # uid from an earlier visit, same value
    outcome = run("rotate-on-login", set_lab(pre))
    assert outcome.verdict is Verdict.PASS, outcome.summary
    assert "cookie `sid`" in outcome.summary and "so it is not judged" in outcome.summary


def test_rotate_on_login_still_fails_a_secret_kept_beside_an_identifier():
    sid = random_value()
    lab = set_lab(state(cookie("sid", sid)), answers={"pre-login": REJECTED})
    lab.login = replace(lab.login, post_login=state(cookie("sid", sid), cookie("uid", UID)))
    lab.login = replace(lab.login, tokens=replace(lab.login.tokens, tokens=lab.login.post_login.items))
    outcome = run("rotate-on-login", lab)
    assert outcome.verdict is Verdict.FAIL and "cookie `sid`" in outcome.summary and "`uid` (" in outcome.summary


def test_session_fixation_plants_only_the_secret_of_a_set():
    lab = set_lab()
    lab.anonymous = state(cookie("sid", random_value()))
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.PASS, outcome.summary
    planted = outcome.evidence["planted_unissued_id"]["planted"]
    assert len(planted) == 1 and planted[0].startswith("cookie `sid`"), planted
    assert "was not planted as a session ID" in outcome.summary


def test_session_fixation_not_applicable_when_no_member_is_a_secret():
    outcome = run("session-fixation", set_lab(both_identifiers=True))
    assert outcome.verdict is Verdict.NOT_APPLICABLE and "no session secret" in outcome.summary


def set_sss_lab(alone: Outcome, *outcomes: Outcome) -> FakeLab:
    lab = set_lab(identifiers_alone=alone)
    lab.logout = logout_replay(lab, dict(zip(CLIENTS, outcomes, strict=False)))
    return lab


def test_server_side_state_passes_with_an_identifier_beside_the_secret():
    outcome = run("server-side-state", set_sss_lab(REJECTED, REJECTED, REJECTED))
    assert outcome.verdict is Verdict.PASS, outcome.summary
    assert "identifier that accompanies the secret cookie `sid`" in outcome.summary
    assert "not recognised" not in outcome.summary


def test_server_side_state_fails_when_the_identifier_alone_logs_in():
    outcome = run("server-side-state", set_sss_lab(AUTH, REJECTED, REJECTED))
    assert outcome.verdict is Verdict.FAIL and "client-held identity" in outcome.summary
    assert outcome.evidence["identifiers_alone"]["outcome"] == "authenticated"


def test_server_side_state_error_when_the_identifier_replay_faults():
    outcome = run("server-side-state", set_sss_lab(FAULT, REJECTED, REJECTED))
    assert outcome.verdict is Verdict.ERROR and "a fault is not a rejection" in outcome.summary


def test_token_opacity_reports_an_identifier_beside_an_opaque_secret():
    outcome = run("token-opacity", set_lab(identifiers_alone=REJECTED))
    assert outcome.verdict is Verdict.PASS and "identifier that accompanies the secret" in outcome.summary


def test_token_opacity_fails_when_the_identifier_alone_logs_in():
    outcome = run("token-opacity", set_lab(identifiers_alone=AUTH))
    assert outcome.verdict is Verdict.FAIL and "client-held identity" in outcome.summary


# --- the suite covers every check ---------------------------------------------------------------------------
@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_every_verdict_a_check_can_give_has_a_verdict_test(check_id: str):
    # Read from the sources: the verdicts the check's module can return (Verdict.X in it), against those its
    # tests here assert (Verdict.X, or the verdict's value in quotes, in a test named test_<check>_...).
    module = Path(__file__).resolve().parent.parent / "isp_audit" / "checks" / f"{check_id.replace('-', '_')}.py"
    can_give = set(re.findall(r"Verdict\.([A-Z_]+)", module.read_text(encoding="utf-8")))
    source = Path(__file__).read_text(encoding="utf-8")
    tested: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith(f"test_{check_id.replace('-', '_')}_"):
            body = ast.get_source_segment(source, node) or ""
            tested |= set(re.findall(r"Verdict\.([A-Z_]+)", body))
            tested |= {v.upper() for v in re.findall(r'"(pass|fail|warn|not_applicable|error)"', body)}
    assert can_give, f"{check_id}: no Verdict in its module"
    assert not can_give - tested, f"{check_id}: no FakeLab test asserts {sorted(can_give - tested)}"


def test_session_fixation_warns_when_no_token_was_issued_but_a_page_faulted():
    lab = fake_lab()  # the arrival is issued nothing
    lab.arrival_statuses = (200, 503, 200)
    outcome = run("session-fixation", lab)
    assert outcome.verdict is Verdict.WARN, outcome.summary
    assert "/account (answered 503 Service Unavailable)" in outcome.summary and "is unknown" in outcome.summary
