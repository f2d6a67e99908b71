"""Measure Actual Budget sync server 25.6.0 (npm) session behaviour by hand (password-only, header token).

Run: /work/main/.venv/bin/python tests/zoo_real/actual/measure.py   (from the repo root)
The server rate-limits to 500 requests a minute per client; this script stays far below that.
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import glob
import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, running

H = "X-ACTUAL-TOKEN"


class Actual(z.Adapter):
    name = "actual"
    anon_paths = ["/", "/login", "/account/needs-bootstrap"]
    session_cookies = []

    def login(self, s):
        r = s.post(self.url("/account/login"), json={"loginMethod": "password", "password": ADMIN_PASSWORD}, timeout=20)
        self.last_login = r
        return {H: r.json()["data"]["token"]}

    def logout(self, s, headers):
        # The web client's "Sign out" only deletes user-token from its own IndexedDB storage
        # (kcab worker: signOut = multiRemove(["user-token", ...])); there is no server logout route.
        return None

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url("/account/validate"), timeout=20)
        return (r.status_code == 200, f"GET /account/validate -> {r.status_code} {r.text[:70]}")


def main() -> None:
    with running("actual") as base:
        ad = Actual()
        ad.base = base
        data = Path(glob.glob("/tmp/zoo-actual-*/data")[0])
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        tok = st["headers"][H]
        z.show(
            "login response",
            {
                "status": ad.last_login.status_code,
                "set_cookie": z.set_cookies(ad.last_login),
                "body_keys": list(ad.last_login.json()["data"]),
                "token": z.fp(tok),
            },
        )
        z.show("needed items", z.needed_items(ad, st))
        z.show(
            "token also accepted in the JSON body (validate-user.js)",
            ad.url("/account/validate") and z.client().get(base + "/account/validate", json={"token": tok}).status_code,
        )
        logins = [ad.fresh_login()[1]["headers"][H] for _ in range(5)]
        z.show(
            "5 more logins: distinct tokens",
            {"unique": len(set(logins)), "same_as_first": all(t == tok for t in logins)},
        )
        z.show(
            "logout-invalidates (no server logout exists; the client forgets the token)",
            {"captured_replayed_after_client_logout": ad.oracle(st)},
        )
        z.show("concurrent sessions", z.concurrent(ad))
        z.show(
            "anomalous reuse: foreign UA/lang",
            {"foreign": ad.oracle(st, z.UA_THIEF, "ru-RU"), "owner_after": ad.oracle(st)},
        )
        con = sqlite3.connect(data / "server-files" / "account.sqlite")
        rows = con.execute("select token, expires_at, auth_method from sessions").fetchall()
        z.show("white box: sessions table", [(z.fp(t), e, m) for t, e, m in rows])
        con.close()
        z.show("URL leaks of the token (requests)", z.url_leaks({H: tok}))

        store = {}

        def do_login(page):
            page.goto(base + "/")
            page.wait_for_selector("input[type=password]", timeout=60000)
            page.fill("input[type=password]", ADMIN_PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_timeout(6000)
            store["idb"] = page.evaluate("""async () => {
                const out = {};
                for (const d of await indexedDB.databases()) out[d.name] = d.version;
                return out; }""")
            page.screenshot(path="/tmp/actual-after-login.png")

        def do_logout(page):
            try:
                page.click("text=Server online", timeout=8000)
                page.click("text=Sign out", timeout=8000)
                page.wait_for_selector("input[type=password]", timeout=20000)
                store["logout"] = "Server online menu > Sign out"
            except Exception as e:  # recorded, not hidden
                store["logout"] = f"not found: {e.__class__.__name__}"
                page.screenshot(path="/tmp/actual-logout.png")

        b = z.browser_session(base + "/", do_login, do_logout)
        b["post_login_cookies"] = [c["name"] for c in b["post_login_cookies"]]
        b["url_hits"] = [u for u in b["urls"] if tok in u]
        b["urls"] = len(b["urls"])
        b.update(store)
        b["storage_values_contain_token"] = any(tok in json.dumps(x) for x in z.STORAGE_FULL)
        z.show("browser (password-only login, user menu)", b)


if __name__ == "__main__":
    main()
