"""A real portfolio for the portfolio tests: both built-in demo apps (served in this process) and one
address where nothing listens, with checks limited to two fast ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from isp_audit.demo.apps import PASSWORD_ENV, ClientSideApp, RunningApp, ServerSideApp
from tests.apps_fixtures import free_port

FAST_CHECKS = ("cookie-attributes", "token-in-url")
PASSWORD = "portfolio-Pa55-" + os.urandom(4).hex()


@dataclass(frozen=True)
class DemoPair:
    server_url: str
    client_url: str

    @property
    def env(self) -> dict[str, str]:
        return {PASSWORD_ENV: PASSWORD, "SERVER_URL": self.server_url, "WRONG_PASSWORD": "not-the-password"}


@pytest.fixture(scope="module")
def demo_pair() -> Iterator[DemoPair]:
    # The demo apps read the password from this process's environment on each login.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSWORD_ENV, PASSWORD)
        with RunningApp(ServerSideApp()) as server, RunningApp(ClientSideApp()) as client:
            yield DemoPair(server.url, client.url)


def write_portfolio(folder: Path, pair: DemoPair, name: str = "portfolio.yaml") -> Path:
    """Four targets: an inline profile whose address comes from ${SERVER_URL}, a profile file (relative to
    the portfolio) for the client-side app, an inline profile for a port where nothing listens, and the
    server-side app with a wrong password (its login fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles").mkdir(exist_ok=True)
    (folder / "profiles" / "client.yaml").write_text(
        f"name: Client App\ntarget: {{base_url: '{pair.client_url}'}}\n"
        f"login: {{url: /login, username: alice, password_env: {PASSWORD_ENV}}}\n",
        encoding="utf-8",
    )
    login = f"{{url: /login, username: alice, password_env: {PASSWORD_ENV}}}"
    text = f"""\
defaults:
  checks: [{", ".join(FAST_CHECKS)}]
targets:
  - name: server
    target: {{base_url: "${{SERVER_URL}}"}}
    login: {login}
  - profiles/client.yaml
  - name: unreachable
    target: {{base_url: "http://127.0.0.1:{free_port()}/"}}
    login: {login}
  - name: wrong-password
    target: {{base_url: "${{SERVER_URL}}"}}
    login: {{url: /login, username: alice, password_env: WRONG_PASSWORD}}
"""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
