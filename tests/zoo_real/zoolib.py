"""Hand-run session experiments used by every tests/zoo_real/<app>/measure.py.

Loopback only, every loop bounded. Each app supplies an Adapter (login, logout, oracle); the
experiments below are the same for every app so that their results can be compared. They are
deliberately independent of isp-audit's code: this is the measured truth the scanner is judged by.

A "state" is {"cookies": [(name, value, domain, path)], "headers": {name: value}}: everything a
client presents. `oracle(state)` asks the app's authenticated endpoint from a clean client.
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import base64
import json
import math
import random
import string
import time
from collections import Counter
from urllib.parse import quote

import requests

UA_OWNER = "Mozilla/5.0 (X11; Linux x86_64) zoo-owner/1.0"
UA_THIEF = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) zoo-thief/9.9"
SEEN_URLS: list[tuple[str, str]] = []  # (kind, url) of every request, Location and Referer seen


def _hook(r, *a, **k):
    SEEN_URLS.append(("request", r.request.url))
    if r.headers.get("Location"):
        SEEN_URLS.append(("location", r.headers["Location"]))
    if r.request.headers.get("Referer"):
        SEEN_URLS.append(("referer", r.request.headers["Referer"]))
    return r


def client(ua: str = UA_OWNER, lang: str = "en-AU") -> requests.Session:
    s = requests.Session()
    s.headers.update({"User-Agent": ua, "Accept-Language": lang})
    s.hooks["response"].append(_hook)
    return s


def set_cookies(r: requests.Response) -> list[str]:
    """Raw Set-Cookie headers of a response and of its redirects."""
    out = []
    for x in [*list(r.history), r]:
        out += x.raw.headers.getlist("Set-Cookie") if x.raw is not None else []
    return out


def state_of(s: requests.Session, headers: dict | None = None) -> dict:
    return {
        "cookies": [(c.name, c.value, c.domain, c.path) for c in s.cookies],
        "headers": dict(headers or {}),
    }


def names(state: dict) -> dict:
    return {c[0]: c[1] for c in state["cookies"]}


def load(state: dict, ua: str = UA_OWNER, lang: str = "en-AU") -> requests.Session:
    """A clean client holding exactly `state`."""
    s = client(ua, lang)
    for n, v, d, p in state["cookies"]:
        s.cookies.set(n, v, domain=d, path=p)
    s.headers.update(state["headers"])
    return s


def without(state: dict, name: str) -> dict:
    return {
        "cookies": [c for c in state["cookies"] if c[0] != name],
        "headers": {k: v for k, v in state["headers"].items() if k != name},
    }


def corrupt_value(v: str) -> str:
    if not v:
        return "x"
    i = len(v) // 2
    c = v[i]
    alt = "A" if c != "A" else "B"
    if c.isdigit():
        alt = "1" if c != "1" else "2"
    return v[:i] + alt + v[i + 1 :]


def corrupted(state: dict, name: str) -> dict:
    st = {"cookies": [], "headers": dict(state["headers"])}
    for n, v, d, p in state["cookies"]:
        st["cookies"].append((n, corrupt_value(v) if n == name else v, d, p))
    if name in st["headers"]:
        st["headers"][name] = corrupt_value(st["headers"][name])
    return st


def fp(v: str) -> str:
    """Short description of a value without printing it whole."""
    return f"len={len(v)} {v[:6]}…{v[-4:]}" if len(v) > 12 else f"len={len(v)}"


class Adapter:
    """Override per app."""

    name = "app"
    base = ""
    user = "admin"
    password = "zoo-Pa55-word"
    anon_paths: list[str] = ["/"]  # base URL, a protected page, the login page
    session_cookies: list[str] = []  # names that the needed-items experiment found to be the session

    def login(self, s: requests.Session) -> dict:  # returns extra headers (SPA tokens) or {}
        raise NotImplementedError

    def logout(self, s: requests.Session, headers: dict) -> requests.Response:
        raise NotImplementedError

    def oracle(self, state: dict, ua: str = UA_OWNER, lang: str = "en-AU") -> tuple[bool, str]:
        raise NotImplementedError

    # helpers
    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    def fresh_login(self) -> tuple[requests.Session, dict]:
        s = client()
        h = self.login(s)
        st = state_of(s, h)
        ok, why = self.oracle(st)
        assert ok, f"login failed: {why}"
        return s, st


def pre_login(ad: Adapter) -> dict:
    """Anonymous visits: which cookies each page issues."""
    s = client()
    out = {}
    for p in ad.anon_paths:
        r = s.get(ad.url(p), timeout=20)
        out[p] = {
            "status": r.history[0].status_code if r.history else r.status_code,
            "final": r.url,
            "set_cookie": [h.split(";")[0].split("=")[0] + "=…;" + ";".join(h.split(";")[1:]) for h in set_cookies(r)],
        }
    out["jar_after_visits"] = {n: fp(v) for n, v in names(state_of(s)).items()}
    return out


def needed_items(ad: Adapter, st: dict) -> dict:
    res = {"all": ad.oracle(st)}
    items = [c[0] for c in st["cookies"]] + list(st["headers"])
    for n in items:
        res[f"remove {n}"] = ad.oracle(without(st, n))
        res[f"corrupt {n}"] = ad.oracle(corrupted(st, n))
    for n in items:  # each item alone
        only = {
            "cookies": [c for c in st["cookies"] if c[0] == n],
            "headers": {k: v for k, v in st["headers"].items() if k == n},
        }
        res[f"only {n}"] = ad.oracle(only)
    return res


def rotate(ad: Adapter) -> dict:
    s = client()
    for p in ad.anon_paths:
        s.get(ad.url(p), timeout=20)
    pre = state_of(s)
    h = ad.login(s)
    post = state_of(s, h)
    pre_n, post_n = names(pre), names(post)
    return {
        "pre_login_cookies": {n: fp(v) for n, v in pre_n.items()},
        "post_login_cookies": {n: fp(v) for n, v in post_n.items()},
        "same_value_across_login": [n for n in pre_n if post_n.get(n) == pre_n[n]],
        "changed": [n for n in pre_n if n in post_n and post_n[n] != pre_n[n]],
        "pre_state_replayed_after_login": ad.oracle(pre),
        "post_state": ad.oracle(post),
    }


def fixation(ad: Adapter) -> dict:
    out = {}
    attacker = client(UA_THIEF)
    for p in ad.anon_paths:
        attacker.get(ad.url(p), timeout=20)
    planted = state_of(attacker)
    victim = load(planted)
    h = ad.login(victim)
    out["exp1_planted"] = {n: fp(v) for n, v in names(planted).items()}
    out["exp1_victim_after_login"] = {n: fp(v) for n, v in names(state_of(victim)).items()}
    out["exp1_attacker_replay"] = ad.oracle(planted, UA_THIEF)
    out["exp1_victim"] = ad.oracle(state_of(victim, h))
    # the same with an attacker that presents the victim's user agent (as a scanner's two clients do)
    attacker = client(UA_OWNER)
    for p in ad.anon_paths:
        attacker.get(ad.url(p), timeout=20)
    planted = state_of(attacker)
    victim = load(planted)
    h = ad.login(victim)
    out["exp1_same_ua_victim_kept_planted"] = {
        n: names(state_of(victim)).get(n) == v for n, v in names(planted).items()
    }
    out["exp1_same_ua_attacker_replay"] = ad.oracle(planted, UA_OWNER)
    # experiment 2: never-issued values for the session cookies
    exp2 = {}
    for name in ad.session_cookies:
        ref = next((c for c in planted["cookies"] if c[0] == name), None)
        _, st = ad.fresh_login()
        real = next((c for c in st["cookies"] if c[0] == name), None)
        if real is None:
            continue
        forged = random_like(real[1])
        base_cookies = [c for c in planted["cookies"] if c[0] != name]
        fstate = {"cookies": [*base_cookies, (name, forged, real[2], real[3])], "headers": {}}
        victim = load(fstate)
        h = ad.login(victim)
        after = names(state_of(victim))
        exp2[name] = {
            "planted": fp(forged),
            "kept_as_session": after.get(name) == forged,
            "victim_value_after_login": fp(after.get(name, "")),
            "attacker_with_forged": ad.oracle({"cookies": [(name, forged, real[2], real[3])], "headers": {}}, UA_THIEF),
            "pre_login_issued": ref is not None,
        }
    out["exp2"] = exp2
    return out


def random_like(v: str) -> str:
    classes = []
    for ch in v:
        if ch.isdigit():
            classes.append(string.digits)
        elif ch in "abcdef":
            classes.append(
                "0123456789abcdef" if all(c in string.hexdigits.lower() for c in v) else string.ascii_lowercase
            )
        elif ch.islower():
            classes.append(string.ascii_lowercase)
        elif ch.isupper():
            classes.append(string.ascii_uppercase)
        else:
            classes.append(ch)
    rnd = random.SystemRandom()
    return "".join(rnd.choice(c) for c in classes)


def logout_replay(ad: Adapter) -> dict:
    s, st = ad.fresh_login()
    r = ad.logout(s, st["headers"])
    after = state_of(s, st["headers"])
    return {
        "logout_status": r.status_code if r is not None else None,
        "logout_set_cookie": [
            h.split("=")[0]
            + "="
            + ("<empty>" if h.split("=", 1)[1].split(";")[0] in ("", '""') else "…")
            + ";"
            + ";".join(h.split(";")[1:])
            for h in (set_cookies(r) if r is not None else [])
        ],
        "browser_state_after_logout": ad.oracle(after),
        "captured_replayed_after_logout": ad.oracle(st),
    }


def concurrent(ad: Adapter, n: int = 3) -> dict:
    states = [ad.fresh_login()[1] for _ in range(n)]
    return {f"session{i + 1}": ad.oracle(st) for i, st in enumerate(states)}


def anomalous(ad: Adapter) -> dict:
    _, st = ad.fresh_login()
    out = {"foreign_replay": ad.oracle(st, UA_THIEF, "ru-RU"), "owner_after_foreign": ad.oracle(st)}
    s1, st1 = ad.fresh_login()
    ad.logout(s1, st1["headers"])
    _, st2 = ad.fresh_login()
    out["logged_out_token_replayed"] = ad.oracle(st1)
    out["newer_session_after_reuse"] = ad.oracle(st2)
    return out


def entropy(tokens: list[str]) -> dict:
    tokens = [t for t in tokens if t]
    if not tokens:
        return {"n": 0}
    alphabet = sorted(set("".join(tokens)))
    lens = Counter(len(t) for t in tokens)
    L = max(lens)
    per_pos = []
    for i in range(L):
        col = Counter(t[i] for t in tokens if len(t) > i)
        tot = sum(col.values())
        per_pos.append(-sum(c / tot * math.log2(c / tot) for c in col.values()))
    const_positions = sum(1 for h in per_pos if h == 0)
    return {
        "n": len(tokens),
        "unique": len(set(tokens)),
        "lengths": dict(lens),
        "alphabet_size": len(alphabet),
        "alphabet": "".join(alphabet) if len(alphabet) <= 70 else f"{len(alphabet)} chars",
        "constant_positions": const_positions,
        "nominal_bits": round((L - const_positions) * math.log2(max(2, len(alphabet))), 1),
        "mean_observed_bits_per_position": round(sum(per_pos) / len(per_pos), 2),
    }


def b64json(v: str):
    """Try to read a value as (url-safe) base64 JSON; returns the keys or None."""
    for part in [v, *v.split(".")]:
        try:
            pad = part + "=" * (-len(part) % 4)
            d = json.loads(base64.urlsafe_b64decode(pad))
            if isinstance(d, dict):
                return sorted(d)
        except Exception:
            pass
    return None


def url_leaks(values: dict[str, str]) -> list:
    hits = []
    for kind, u in SEEN_URLS:
        for n, v in values.items():
            if len(v) >= 8 and (v in u or quote(v, safe="") in u):
                hits.append((kind, n, u[:80]))
        low = u.lower()
        for p in (";jsessionid=", ";phpsessid=", ";sid=", ";sessionid="):
            if p in low:
                hits.append((kind, p, u[:80]))
    return hits


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_session(base: str, do_login, do_logout=None, timeout_s: float = 60) -> dict:
    """Log in with Chromium; report storage, cookies (with attributes) and every URL requested."""
    from playwright.sync_api import sync_playwright

    out: dict = {"urls": []}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            ctx = b.new_context()
            ctx.set_default_timeout(timeout_s * 1000)
            page = ctx.new_page()
            page.on("request", lambda r: out["urls"].append(r.url))
            page.on(
                "response",
                lambda r: (
                    out["urls"].append("location:" + r.headers.get("location", ""))
                    if r.headers.get("location")
                    else None
                ),
            )
            page.goto(base)
            out["pre_login_storage"] = _storage(page)
            out["pre_login_cookies"] = [c["name"] for c in ctx.cookies()]
            do_login(page)
            out["post_login_storage"] = _storage(page)
            out["post_login_cookies"] = ctx.cookies()
            if do_logout:
                do_logout(page)
                out["post_logout_storage"] = _storage(page)
                out["post_logout_cookies"] = [c["name"] for c in ctx.cookies()]
        finally:
            b.close()
    return out


def _storage(page) -> dict:
    full = page.evaluate("""() => {
        const d = (s) => Object.fromEntries(Object.keys(s).map(k => [k, s.getItem(k)]));
        return {local: d(localStorage), session: d(sessionStorage)};
    }""")
    STORAGE_FULL.append(full)
    return {kind: {k: fp(v) for k, v in items.items()} for kind, items in full.items()}


STORAGE_FULL: list[dict] = []  # every storage snapshot in full, for the callers' own checks


def show(title: str, obj) -> None:
    print(f"\n## {title}")
    print(json.dumps(obj, indent=1, default=str))


def timed(f, *a, **k):
    t = time.monotonic()
    r = f(*a, **k)
    return r, round(time.monotonic() - t, 2)


def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_sign(header: dict, payload: dict, secret: bytes | None, alg: str = "HS256") -> str:
    import hashlib
    import hmac as _hmac

    h = _b64u(json.dumps(header, separators=(",", ":")).encode())
    p = _b64u(json.dumps(payload, separators=(",", ":")).encode())
    if secret is None:
        return f"{h}.{p}."
    dig = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return f"{h}.{p}." + _b64u(_hmac.new(secret, f"{h}.{p}".encode(), dig).digest())


def jwt_attacks(
    ad: Adapter, state: dict, where: tuple[str, str], token: str, secret: bytes | None, wrap=lambda t: t
) -> dict:
    """where = ("header", name) or ("cookie", name); wrap() turns a token into the presented value."""
    h, p, sig = token.split(".")
    header, payload = json.loads(_b64d(h)), json.loads(_b64d(p))

    def present(tok: str):
        st = {"cookies": [c for c in state["cookies"] if c[0] != where[1]], "headers": dict(state["headers"])}
        if where[0] == "header":
            st["headers"][where[1]] = wrap(tok)
        else:
            c = next(c for c in state["cookies"] if c[0] == where[1])
            st["cookies"].append((c[0], wrap(tok), c[2], c[3]))
        return ad.oracle(st)

    out = {
        "header": header,
        "claims": sorted(payload),
        "lifetime_s": payload.get("exp", 0) - payload.get("iat", 0) if "exp" in payload else None,
        "control": present(token),
    }
    for alg in ("none", "None", "NONE", "nOnE"):
        out[f"alg {alg}"] = present(jwt_sign({**header, "alg": alg}, payload, None))
    out["stripped signature"] = present(f"{h}.{p}.")
    inv = _b64u(bytes(255 - b for b in _b64d(sig)))
    out["corrupted signature"] = present(f"{h}.{p}.{inv}")
    import hashlib
    import hmac as _hmac

    guesses = [b"", b"secret", b"changeme", b"password", b"your-256-bit-secret", b"jwt_secret", b"verdaccio"]
    alg = header.get("alg", "HS256")
    if alg in ("HS256", "HS384", "HS512"):
        dig = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        out["weak secret among a few common guesses"] = [
            g.decode() or "<empty>" for g in guesses if _b64u(_hmac.new(g, f"{h}.{p}".encode(), dig).digest()) == sig
        ]
    if secret is not None:
        out["white-box secret verifies the signature"] = jwt_sign(header, payload, secret, alg) == token
        now = int(time.time())
        expired = {**payload, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}
        out["expired token re-signed with the real secret"] = present(jwt_sign(header, expired, secret, alg))
        out["forged fresh token re-signed with the real secret"] = present(
            jwt_sign(header, {**payload, "iat": now, "exp": now + 600}, secret, alg)
        )
    return out
