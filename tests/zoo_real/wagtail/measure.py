"""Measure Wagtail 8.0.1's session behaviour by hand (requests + one Chromium run).

Run: /work/main/.venv/bin/python tests/zoo_real/wagtail/measure.py   (from the repo root)
Starts Wagtail on a free 127.0.0.1 port through launch.running, runs bounded experiments, stops it.
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, ADMIN_USER, running


class Wagtail(z.Adapter):
    name = "wagtail"
    anon_paths = ["/", "/admin/", "/admin/login/"]
    session_cookies = ["sessionid"]

    def _csrf(self, html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def login(self, s):
        r = s.get(self.url("/admin/login/"), timeout=20)
        r = s.post(
            self.url("/admin/login/"),
            data={
                "csrfmiddlewaretoken": self._csrf(r.text),
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "next": "/admin/",
            },
            headers={"Referer": self.url("/admin/login/")},
            timeout=20,
        )
        self.last_login = r
        return {}

    def logout(self, s, headers):
        s.get(self.url("/admin/"), timeout=20)
        tok = s.cookies.get("csrftoken")
        return s.post(
            self.url("/admin/logout/"),
            data={"csrfmiddlewaretoken": tok},
            headers={"Referer": self.url("/admin/")},
            timeout=20,
        )

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url("/admin/"), allow_redirects=False, timeout=20)
        return (r.status_code == 200, f"GET /admin/ -> {r.status_code} {r.headers.get('Location', '')}")


def main() -> None:
    with running("wagtail") as base:
        ad = Wagtail()
        ad.base = base
        z.show("pre-login visits", z.pre_login(ad))
        s, st = ad.fresh_login()
        z.show("login Set-Cookie", z.set_cookies(ad.last_login))
        z.show("logged-in state", {n: z.fp(v) for n, v in z.names(st).items()})
        z.show("needed items", z.needed_items(ad, st))
        z.show(
            "logout via GET (Django 5 requires POST)",
            {"status": s.get(base + "/admin/logout/").status_code, "still_logged_in": ad.oracle(z.state_of(s))},
        )
        z.show("rotate-on-login", z.rotate(ad))
        z.show("fixation", z.fixation(ad))
        z.show("logout-invalidates", z.logout_replay(ad))
        z.show("concurrent sessions", z.concurrent(ad))
        z.show("anomalous reuse", z.anomalous(ad))
        # entropy: sessionid is issued only at login (anonymous visits issue none), so sample by logins
        toks = []
        for _ in range(60):
            _, st2 = ad.fresh_login()
            toks.append(z.names(st2)["sessionid"])
        z.show("entropy of sessionid (60 form logins)", z.entropy(toks))
        z.show("URL leaks of session values", z.url_leaks({"sessionid": z.names(st)["sessionid"]}))
        # white box: the session row in the DB
        db = Path(base and __import__("glob").glob("/tmp/zoo-wagtail-*/site/db.sqlite3")[0])
        con = sqlite3.connect(db)
        key = z.names(st)["sessionid"]
        row = con.execute("select session_key, expire_date from django_session where session_key=?", (key,)).fetchone()
        z.show(
            "white box: django_session row for the live sessionid", {"found": bool(row), "expire_date": row and row[1]}
        )
        n = con.execute("select count(*) from django_session").fetchone()[0]
        z.show("white box: rows in django_session", n)
        con.close()

        def do_login(page):
            page.goto(base + "/admin/login/")
            page.fill("#id_username", ADMIN_USER)
            page.fill("#id_password", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/admin/")

        def do_logout(page):
            page.click("[aria-label='Account'], .sidebar-footer button, button:has-text('admin')", timeout=10000)
            page.click("text=Log out", timeout=10000)
            page.wait_for_url("**/admin/login/**")

        b = z.browser_session(base + "/admin/login/", do_login, do_logout)
        b["post_login_cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "expires", "path")}
            for c in b["post_login_cookies"]
        ]
        b["url_hits"] = [u for u in b["urls"] if key[:10] in u]
        b["urls"] = len(b["urls"])
        z.show("browser (login, logout through the account menu)", b)


if __name__ == "__main__":
    main()
