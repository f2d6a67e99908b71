"""Measure Gradio 6.31.0's built-in password login (auth=(user, password)) by hand.

Run: /work/main/.venv/bin/python tests/zoo_real/gradio/measure.py   (from the repo root)
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, ADMIN_USER, running


class Gradio(z.Adapter):
    name = "gradio"
    anon_paths = ["/", "/config", "/login"]

    def login(self, s):
        self.last_login = s.post(
            self.url("/login"), data={"username": ADMIN_USER, "password": ADMIN_PASSWORD}, timeout=20
        )
        return {}

    def logout(self, s, headers):
        return s.get(self.url("/logout"), timeout=20)

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url("/config"), timeout=20)
        return (r.status_code == 200, f"GET /config -> {r.status_code} {r.text[:50]!r}")


def main() -> None:
    with running("gradio") as base:
        ad = Gradio()
        ad.base = base
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        z.show("login Set-Cookie", z.set_cookies(ad.last_login))
        names = sorted(z.names(st))
        ad.session_cookies = names
        z.show("logged-in state", {n: z.fp(v) for n, v in z.names(st).items()})
        z.show("needed items", z.needed_items(ad, st))
        z.show("rotate-on-login", z.rotate(ad))
        z.show("fixation", z.fixation(ad))
        z.show("logout-invalidates", z.logout_replay(ad))
        z.show("concurrent sessions", z.concurrent(ad))
        a, b_, c = (ad.fresh_login() for _ in range(3))
        ad.logout(c[0], {})
        z.show(
            "logout of one session (default all_session=True) ends the others?",
            {"first": ad.oracle(a[1]), "second": ad.oracle(b_[1]), "logged_out": ad.oracle(c[1])},
        )
        z.show("anomalous reuse", z.anomalous(ad))
        toks = [z.names(ad.fresh_login()[1])[names[0]] for _ in range(200)]
        z.show("entropy of the token (200 logins)", z.entropy(toks))
        z.show("URL leaks of session values", z.url_leaks(z.names(st)))

        def do_login(page):
            page.goto(base + "/")
            page.wait_for_selector("input[type=password]", timeout=60000)
            page.fill("input[type=text], input[name=username]", ADMIN_USER)
            page.fill("input[type=password]", ADMIN_PASSWORD)
            page.click("button:has-text('Login')")
            page.wait_for_timeout(5000)

        def do_logout(page):
            page.goto(base + "/logout")
            page.wait_for_timeout(2000)

        b = z.browser_session(base + "/", do_login, do_logout)
        b["post_login_cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "expires", "path")}
            for c in b["post_login_cookies"]
        ]
        tok = z.names(st)[names[0]]
        b["url_hits"] = [u for u in b["urls"] if tok in u]
        b["urls"] = len(b["urls"])
        z.show("browser (login form drawn by script; logout = GET /logout, no UI control)", b)


if __name__ == "__main__":
    main()
