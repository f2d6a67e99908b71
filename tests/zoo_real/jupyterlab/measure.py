"""Measure JupyterLab 4.6.6 / jupyter_server 2.21.1 session behaviour by hand (password-only login).

Run: /work/main/.venv/bin/python tests/zoo_real/jupyterlab/measure.py   (from the repo root)
"""

# ruff: noqa: RUF012  (adapters declare their paths and cookie names as plain class lists)
from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoolib as z
from launch import ADMIN_PASSWORD, JUPYTER_HASH, running


class Jupyter(z.Adapter):
    name = "jupyterlab"
    anon_paths = ["/", "/lab", "/login"]

    @property
    def cookie(self):
        return "username-" + re.sub(r"[^A-Za-z0-9]", "-", self.base.split("//")[1])

    def login(self, s):
        r = s.get(self.url("/login"), timeout=20)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        self.last_login = s.post(
            self.url("/login?next=%2Flab"), data={"_xsrf": xsrf, "password": ADMIN_PASSWORD}, timeout=20
        )
        return {}

    def logout(self, s, headers):
        return s.get(self.url("/logout"), timeout=20)

    def oracle(self, state, ua=z.UA_OWNER, lang="en-AU"):
        r = z.load(state, ua, lang).get(self.url("/api/me"), allow_redirects=False, timeout=20)
        return (r.status_code == 200, f"GET /api/me -> {r.status_code} {r.text[:60]!r}")


def main() -> None:
    with running("jupyterlab") as base:
        ad = Jupyter()
        ad.base = base
        ad.session_cookies = [ad.cookie]
        z.show(
            "login form fields",
            re.findall(r'<input[^>]*name="([^"]+)"', __import__("requests").get(base + "/login").text),
        )
        z.show("pre-login visits", z.pre_login(ad))
        _s, st = ad.fresh_login()
        z.show("login Set-Cookie", [h[:40] + "…" + h[h.find(";") :] for h in z.set_cookies(ad.last_login)])
        z.show("logged-in state", {n: z.fp(v) for n, v in z.names(st).items()})
        z.show("needed items", z.needed_items(ad, st))
        val = z.names(st)[ad.cookie]
        parts = val.split("|")
        payload = base64.b64decode(parts[4].split(":", 1)[1]).decode()
        z.show(
            "decoded session cookie (tornado secure cookie v2)",
            {"fields": parts[:4], "payload_keys": sorted(__import__("json").loads(payload))},
        )
        z.show("rotate-on-login", z.rotate(ad))
        z.show("fixation", z.fixation(ad))
        z.show("logout-invalidates", z.logout_replay(ad))
        z.show("concurrent sessions", z.concurrent(ad))
        z.show("anomalous reuse", z.anomalous(ad))
        # entropy: the cookie is signed state; sample anyway to show the structure
        toks = [z.names(ad.fresh_login()[1])[ad.cookie] for _ in range(10)]
        z.show(
            "10 fresh login cookies: distinct?",
            {"unique": len(set(toks)), "common_prefix_len": len(__import__("os").path.commonprefix(toks))},
        )
        # white box: forge a cookie with the secret from the runtime dir (shows state is client-held)
        key = Path(glob.glob("/tmp/zoo-jupyterlab-*/runtime/jupyter_cookie_secret")[0]).read_bytes()
        h = hmac.new(key, digestmod=hashlib.sha256)  # as ServerApp._default_cookie_secret + cookie_secret_hook
        h.update(b"")
        h.update(JUPYTER_HASH.encode())
        secret = h.digest()
        import time as _t

        ts = str(int(_t.time()))
        body = base64.b64encode(
            b'{"username": "forged", "name": "forged", "display_name": "forged", '
            b'"initials": null, "color": null, "avatar_url": null}'
        ).decode()

        def f(x):
            return f"{len(x)}:{x}"

        to_sign = "|".join(["2", "1:0", f(ts), f(ad.cookie), f(body), ""])
        sig = hmac.new(secret, to_sign.encode(), hashlib.sha256).hexdigest()
        forged = to_sign + sig
        z.show(
            "white box: cookie forged with jupyter_cookie_secret, user 'forged'",
            ad.oracle({"cookies": [(ad.cookie, forged, "127.0.0.1", "/")], "headers": {}}),
        )
        z.show("URL leaks of session values", z.url_leaks({ad.cookie: val}))

        def do_login(page):
            page.goto(base + "/login?next=%2Flab")
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit], #login_submit")
            page.wait_for_url("**/lab**")
            page.wait_for_selector("text=File", timeout=60000)

        def do_logout(page):
            page.click("div.lm-MenuBar-itemLabel:text-is('File')")
            page.click("text=Log Out")
            page.wait_for_timeout(2000)

        b = z.browser_session(base + "/login", do_login, do_logout)
        b["post_login_cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "expires", "path")}
            for c in b["post_login_cookies"]
        ]
        b["url_hits"] = [u for u in b["urls"] if val[-12:] in u]
        b["urls"] = len(b["urls"])
        z.show("browser (login, File > Log Out)", b)


if __name__ == "__main__":
    main()
