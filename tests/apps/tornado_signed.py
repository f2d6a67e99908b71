"""Tornado's own signed cookie (``set_signed_cookie``, format v2), served by tornado's HTTP server.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.tornado_signed --port 8001``.

Expected real behaviour (tornado/web.py, read and tried by hand with requests): the session is the cookie
``user`` = ``2|1:0|10:<unix-s>|4:user|8:<b64 of the user name>|<64 hex HMAC-SHA256>``, the pattern of
tornado's own authentication guide (the signed value is the user name itself). The server keeps no record
of it: logout only clears the cookie, so a copy captured while logged in still opens /account after
logout. Each login signs a new value, but the only change between two logins is the timestamp field.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import secrets
import signal

import tornado.web

from tests.apps._common import HOST, USERNAME, parse_port, require_password

_FORM = (
    "<form method='post' action='/login'><label>Username <input name='username'></label>"
    "<label>Password <input type='password' name='password'></label><button type='submit'>Sign in</button></form>"
)


def _page(title: str, body: str) -> str:
    return f"<!doctype html><title>{title}</title><h1>{title}</h1>{body}"


class _Base(tornado.web.RequestHandler):
    def get_current_user(self) -> str | None:
        raw = self.get_signed_cookie("user")  # None for a missing, forged or expired (31 days) cookie
        return raw.decode() if raw else None


class Home(_Base):
    def get(self) -> None:
        self.write(_page("Welcome", "<a href='/login'>Sign in</a>"))


class Login(_Base):
    def initialize(self, password: str) -> None:
        self.password = password

    def get(self) -> None:
        self.write(_page("Sign in", _FORM))

    def post(self) -> None:
        ok = self.get_argument("username", "") == USERNAME and hmac.compare_digest(
            self.get_argument("password", ""), self.password
        )
        if not ok:
            self.write(_page("Sign in", "<p>Invalid username or password</p>" + _FORM))
            return
        self.set_signed_cookie("user", USERNAME, httponly=True, samesite="Lax")  # version 2 by default
        self.redirect("/account")


class Account(_Base):
    def get(self) -> None:
        user = self.current_user
        if not user:
            self.redirect("/login")
            return
        logout = "<form method='post' action='/logout'><button>Log out</button></form>"
        self.write(_page("Account", f"<p>Signed in as {html.escape(user)}</p>{logout}"))


class Logout(_Base):
    def post(self) -> None:
        self.clear_cookie("user")  # all tornado can do: the signed value itself stays valid
        self.redirect("/")


def create_app(password: str) -> tornado.web.Application:
    routes = [
        (r"/", Home),
        (r"/login", Login, {"password": password}),
        (r"/account", Account),
        (r"/logout", Logout),
    ]
    return tornado.web.Application(routes, cookie_secret=secrets.token_hex(32), xsrf_cookies=False)


async def _serve(port: int, password: str) -> None:
    create_app(password).listen(port, address=HOST)
    print(f"serving on http://{HOST}:{port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    port = parse_port("Tornado signed-cookie fixture app", argv)
    asyncio.run(_serve(port, require_password()))


if __name__ == "__main__":
    main()
