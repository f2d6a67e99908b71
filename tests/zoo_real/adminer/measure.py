"""Measure Adminer 4.8.1 (Debian package, PHP 8.2 built-in server) session behaviour by hand.

Run: /work/main/.venv/bin/python tests/zoo_real/adminer/measure.py   (from the repo root)
The database is SQLite file zoo.db in the server's working directory, opened with the zoo password through
the login-password-less plugin (tests/zoo_real/adminer/index.php).
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, running

DB_PAGE = "/?sqlite=&username=&db=zoo.db"


class Adminer(z.Adapter):
    name = "adminer"
    anon_paths = ["/", DB_PAGE]
    session_cookies = ["adminer_sid", "adminer_key"]

    def login(self, s):
        s.get(self.url("/"), timeout=20)
        self.last_login = s.post(
            self.url("/"),
            data={
                "auth[driver]": "sqlite",
                "auth[server]": "",
                "auth[username]": "",
                "auth[password]": ADMIN_PASSWORD,
                "auth[db]": "zoo.db",
            },
            timeout=20,
        )
        return {}

    def logout(self, s, headers):
        r = s.get(self.url(DB_PAGE), timeout=20)
        tok = re.search(r"name='token' value='([^']+)'", r.text).group(1)
        return s.post(self.url(DB_PAGE), data={"logout": "Logout", "token": tok}, timeout=20)

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url(DB_PAGE), allow_redirects=False, timeout=20)
        ok = "<h2>Database: zoo.db</h2>" in r.text and 'name="logout"' in r.text
        login = "auth[password]" in r.text
        return (
            ok and not login,
            f"GET {DB_PAGE} -> {r.status_code} {'database page' if ok else 'login form' if login else r.text[:60]}",
        )


def main() -> None:
    with running("adminer") as base:
        ad = Adminer()
        ad.base = base
        sess_dir = Path(glob.glob("/tmp/zoo-adminer-*/sessions")[0])
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        z.show("login Set-Cookie", z.set_cookies(ad.last_login))
        z.show("login redirect", [r.headers.get("Location") for r in ad.last_login.history])
        z.show("logged-in state", {n: z.fp(v) for n, v in z.names(st).items()})
        z.show("needed items", z.needed_items(ad, st))
        sid = z.names(st)["adminer_sid"]
        data = (sess_dir / f"sess_{sid}").read_bytes()
        keys = re.findall(rb"(?:^|;|})([a-z_]+)\|", data)
        z.show(
            "white box: PHP session file of the live adminer_sid",
            {"exists": True, "top-level keys": sorted({k.decode() for k in keys})},
        )
        z.show("rotate-on-login", z.rotate(ad))
        z.show("fixation", z.fixation(ad))
        lo = z.logout_replay(ad)
        z.show("logout-invalidates", lo)
        z.show("concurrent sessions", z.concurrent(ad))
        z.show("anomalous reuse", z.anomalous(ad))
        # entropy: anonymous GET / issues a fresh adminer_sid and adminer_key each time
        sids, keys2 = [], []
        for _ in range(300):
            c = z.client()
            c.get(base + "/", timeout=20)
            sids.append(c.cookies.get("adminer_sid"))
            keys2.append(c.cookies.get("adminer_key"))
        z.show("entropy adminer_sid (300 anonymous GET /)", z.entropy(sids))
        z.show("entropy adminer_key (300 anonymous GET /)", z.entropy(keys2))
        z.show("URL leaks of session values", z.url_leaks({n: v for n, v in z.names(st).items()}))
        z.show("session files on disk", len(list(sess_dir.iterdir())))

        def do_login(page):
            page.goto(base + "/")
            page.select_option("select[name='auth[driver]']", "sqlite")
            page.fill("input[name='auth[password]']", ADMIN_PASSWORD)
            page.fill("input[name='auth[db]']", "zoo.db")
            page.click("input[type=submit][value=Login]")
            page.wait_for_selector("#logout")

        def do_logout(page):
            page.click("#logout")
            page.wait_for_selector("input[name='auth[password]']")

        b = z.browser_session(base + "/", do_login, do_logout)
        b["post_login_cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "expires", "path")}
            for c in b["post_login_cookies"]
        ]
        b["url_hits"] = [u for u in b["urls"] if sid in u]
        b["urls"] = len(b["urls"])
        z.show("browser (login form, Logout button)", b)
        inv = sess_dir.parent / "tmp" / "adminer.invalid"
        z.show(
            "white box: Adminer brute-force counter (tmp/adminer.invalid) after the anonymous oracle calls",
            inv.read_text(errors="replace") if inv.exists() else None,
        )
        # every anonymous hit on the ?username= page counts as an invalid login; past 29 in 30 min
        # the IP is locked out, even for the right password
        for _ in range(32):
            z.client().get(base + DB_PAGE, timeout=20)
        c = z.client()
        try:
            ad.login(c)
            locked = not ad.oracle(z.state_of(c))[0]
        except Exception:
            locked = True
        body = c.get(base + DB_PAGE).text
        z.show(
            "after 32 more anonymous hits: correct-password login refused?",
            {"refused": locked, "message": "Too many unsuccessful logins" in body},
        )


if __name__ == "__main__":
    main()
