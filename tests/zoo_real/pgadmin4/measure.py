"""Measure pgAdmin 4 9.18 (server mode) session behaviour by hand.

Run: /work/main/.venv/bin/python tests/zoo_real/pgadmin4/measure.py   (from the repo root)
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_EMAIL, ADMIN_PASSWORD, running


class PgAdmin(z.Adapter):
    name = "pgadmin4"
    anon_paths = ["/", "/browser/", "/login"]
    session_cookies = ["pga4_session"]

    def login(self, s):
        r = s.get(self.url("/login"), timeout=30)
        tok = re.search(r'"csrfToken": "([^"]+)"', r.text).group(1)
        self.last_login = s.post(
            self.url("/authenticate/login"),
            data={
                "csrf_token": tok,
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "language": "en",
                "internal_button": "Login",
            },
            timeout=30,
        )
        return {}

    def logout(self, s, headers):
        return s.get(self.url("/logout?next=/browser/"), timeout=30)

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url("/browser/"), allow_redirects=False, timeout=30)
        return (r.status_code == 200, f"GET /browser/ -> {r.status_code} {r.headers.get('Location', '')}")


def main() -> None:
    with running("pgadmin4") as base:
        ad = PgAdmin()
        ad.base = base
        data = Path(glob.glob("/tmp/zoo-pgadmin4-*/data")[0])
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        z.show("login Set-Cookie", z.set_cookies(ad.last_login))
        z.show("logged-in state", {n: z.fp(v) for n, v in z.names(st).items()})
        z.show("needed items", z.needed_items(ad, st))
        val = z.names(st)["pga4_session"]
        sid, digest = val.split("!", 1)
        z.show("cookie structure", {"sid": f"uuid4 {sid[:8]}…", "digest_len": len(digest)})
        z.show(
            "white box: session file for sid exists (written after the disk-write delay or at shutdown)",
            (data / "sessions" / sid).exists(),
        )
        z.show("rotate-on-login", z.rotate(ad))
        z.show("fixation", z.fixation(ad))
        z.show("logout-invalidates", z.logout_replay(ad))
        z.show("concurrent sessions", z.concurrent(ad))
        z.show("anomalous reuse", z.anomalous(ad))
        _, st3 = ad.fresh_login()
        z.show("same cookie, same UA, other Accept-Language", ad.oracle(st3, z.UA_OWNER, "ru-RU"))
        z.show("same cookie, other UA, same Accept-Language", ad.oracle(st3, z.UA_THIEF, "en-AU"))
        z.show("owner after that", ad.oracle(st3))
        toks = []
        for _ in range(300):
            c = z.client()
            c.get(base + "/login", timeout=30)
            toks.append(c.cookies.get("pga4_session").split("!")[0])
        z.show("entropy of the sid part (300 anonymous GET /login)", z.entropy(toks))
        z.show("uuid4 version nibble constant", sorted({t[14] for t in toks}))
        z.show("URL leaks of session values", z.url_leaks({"pga4_session": val, "sid": sid}))

        def do_login(page):
            page.goto(base + "/login")
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/browser/**", timeout=90000)
            page.wait_for_timeout(4000)

        def do_logout(page):
            page.click("[data-test='loggedin-username'], button:has-text('admin@example.com')", timeout=30000)
            page.click("text=Logout", timeout=10000)
            page.wait_for_url("**/login**", timeout=30000)

        b = z.browser_session(base + "/login", do_login, do_logout)
        b["post_login_cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "expires", "path")}
            for c in b["post_login_cookies"]
        ]
        b["url_hits"] = [u for u in b["urls"] if sid in u]
        b["urls"] = len(b["urls"])
        z.show("browser (login, user menu > Logout)", b)


if __name__ == "__main__":
    main()
