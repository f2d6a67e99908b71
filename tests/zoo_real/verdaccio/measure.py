"""Measure Verdaccio 6.8.0 web-UI session behaviour by hand (JWT in localStorage, Bearer header).

Run: /work/main/.venv/bin/python tests/zoo_real/verdaccio/measure.py   (from the repo root)
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, ADMIN_USER, running

ORACLE = "/-/verdaccio/data/sidebar/zoo-secret"  # a package only logged-in users may read


class Verdaccio(z.Adapter):
    name = "verdaccio"
    anon_paths = ["/", "/-/web/detail/zoo-secret", "/-/verdaccio/data/packages"]

    def login(self, s):
        r = s.post(
            self.url("/-/verdaccio/sec/login"), json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}, timeout=20
        )
        self.last_login = r
        return {"Authorization": "Bearer " + r.json()["token"]}

    def logout(self, s, headers):
        return None  # the UI's Logout only removes localStorage items; there is no server route

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url(ORACLE), timeout=20)
        return (r.status_code == 200, f"GET {ORACLE} -> {r.status_code} {r.text[:50]!r}")


def main() -> None:
    with running("verdaccio") as base:
        ad = Verdaccio()
        ad.base = base
        work = Path(glob.glob("/tmp/zoo-verdaccio-*/storage")[0])
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        tok = st["headers"]["Authorization"].split(" ", 1)[1]
        z.show(
            "login response",
            {
                "status": ad.last_login.status_code,
                "set_cookie": z.set_cookies(ad.last_login),
                "body_keys": sorted(ad.last_login.json()),
            },
        )
        z.show("needed items", z.needed_items(ad, st))
        secret = json.loads((work / ".verdaccio-db.json").read_text())["secret"].encode()
        z.show(
            "jwt hygiene (white-box secret from storage/.verdaccio-db.json)",
            z.jwt_attacks(ad, st, ("header", "Authorization"), tok, secret, wrap=lambda t: "Bearer " + t),
        )
        toks = [ad.fresh_login()[1]["headers"]["Authorization"] for _ in range(3)]
        z.show("3 more logins: distinct tokens", len(set(toks)))
        z.show("logout-invalidates (UI logout is client-side only)", {"captured_replayed_after_logout": ad.oracle(st)})
        z.show("concurrent sessions", z.concurrent(ad))
        z.show("anomalous reuse", {"foreign": ad.oracle(st, z.UA_THIEF, "ru-RU"), "owner_after": ad.oracle(st)})
        z.show("URL leaks of the token (requests)", z.url_leaks({"jwt": tok}))

        store = {}

        def do_login(page):
            page.goto(base + "/")
            page.click("button:has-text('Login'), [data-testid='header--button-login']", timeout=30000)
            page.fill("#login--dialog-username, input[name=username]", ADMIN_USER)
            page.fill("#login--dialog-password, input[name=password]", ADMIN_PASSWORD)
            page.click("[data-testid='login-dialog-form-login-button'], button[type=submit]")
            page.wait_for_timeout(3000)
            page.screenshot(path="/tmp/verdaccio-after-login.png")

        def do_logout(page):
            try:
                page.click(
                    "[data-testid='logInDialogIcon'], button[aria-label*='account' i], #header--button-account",
                    timeout=8000,
                )
                page.get_by_text("Logout", exact=True).click(timeout=8000)
                page.wait_for_timeout(2000)
                store["logout"] = "account menu > Logout"
            except Exception as e:
                store["logout"] = f"not found: {e.__class__.__name__}"
                page.screenshot(path="/tmp/verdaccio-logout.png")

        b = z.browser_session(base + "/", do_login, do_logout)
        b["post_login_cookies"] = [c["name"] for c in b["post_login_cookies"]]
        b["url_hits"] = [u for u in b["urls"] if tok[-20:] in u]
        b["urls"] = len(b["urls"])
        b.update(store)
        full = z.STORAGE_FULL
        b["jwt_in_localStorage_after_login"] = (
            [k for k, v in full[1]["local"].items() if v.count(".") == 2 and v.startswith("eyJ")]
            if len(full) > 1
            else None
        )
        z.show("browser (login dialog, account menu)", b)


if __name__ == "__main__":
    main()
