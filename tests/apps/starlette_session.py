"""Starlette's own ``SessionMiddleware`` (signed client-side cookie ``session``), served by uvicorn.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.starlette_session --port 8001``.

Expected real behaviour (measured by hand with requests, see tests/test_redaction_real.py): the whole
session is the itsdangerous-signed cookie (``b64(JSON).ts.sig``), so the server keeps no record and a
cookie captured while logged in still works after logout. At logout, clearing a non-empty session makes
Starlette answer ``Set-Cookie: session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT``: the value
``null`` is what once corrupted results.json when it was taken for a secret.
"""

from __future__ import annotations

import hmac
import html
import secrets

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.apps._common import HOST, USERNAME, parse_port, require_password

_FORM = (
    "<form method='post' action='/login'><label>Username <input name='username'></label>"
    "<label>Password <input type='password' name='password'></label><button type='submit'>Sign in</button></form>"
)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>{title}</title><h1>{title}</h1>{body}")


def create_app(password: str) -> Starlette:
    async def home(request: Request) -> Response:
        return _page("Welcome", "<a href='/login'>Sign in</a>")

    async def login_page(request: Request) -> Response:
        return _page("Sign in", _FORM)

    async def login(request: Request) -> Response:
        form = await request.form()
        ok = form.get("username") == USERNAME and hmac.compare_digest(str(form.get("password", "")), password)
        if not ok:
            return _page("Sign in", "<p>Invalid username or password</p>" + _FORM)
        request.session["user"] = USERNAME
        return RedirectResponse("/account", status_code=302)

    async def account(request: Request) -> Response:
        user = request.session.get("user")
        if not user:
            return RedirectResponse("/login", status_code=302)
        logout = "<form method='post' action='/logout'><button>Log out</button></form>"
        body = f"<p>Signed in as {html.escape(user)}</p>{logout}"
        return _page("Account", body)

    async def logout(request: Request) -> Response:
        request.session.clear()  # Starlette then sends `session=null` with an expiry in 1970
        return RedirectResponse("/", status_code=302)

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/account", account),
        Route("/logout", logout, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SessionMiddleware, secret_key=secrets.token_hex(32))])


def main(argv: list[str] | None = None) -> None:
    port = parse_port("Starlette SessionMiddleware fixture app", argv)
    uvicorn.run(create_app(require_password()), host=HOST, port=port, log_level="warning")


if __name__ == "__main__":
    main()
