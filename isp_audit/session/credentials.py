"""The login credentials: read once from the profile (or the CLI's prompt), registered with the redactor.

Every secret is registered before anything can print it, so no report, step or error shows it in clear.
"""

from __future__ import annotations

import pyotp

from ..errors import AuditError
from ..evidence.redact import Redactor
from ..profile import Login, env_value


class Credentials:
    """The username, password and TOTP codes of the one account the scan logs in as."""

    def __init__(self, login: Login, redactor: Redactor) -> None:
        self._login = login
        self._redactor = redactor
        self._username: str | None = None
        self._password: str | None = None

    def set_password(self, password: str) -> None:
        """Used by the CLI's interactive prompt; otherwise the password comes from ``password_env``."""
        self._redactor.register(password)
        self._password = password

    @property
    def username(self) -> str:
        """The username, or "" when the profile gives none (a password-only login form)."""
        if self._username is None:
            login = self._login
            self._username = login.username or (
                env_value(login.username_env, "login username") if login.username_env else ""
            )
        return self._username

    @property
    def password(self) -> str:
        if self._password is None:
            env = self._login.password_env
            if not env:
                raise AuditError("no password: set login.password_env in the profile or use --password-env")
            self.set_password(env_value(env, "login password"))
        assert self._password is not None
        return self._password

    def totp(self) -> str | None:
        env = self._login.totp_secret_env
        if not env:
            return None
        secret = env_value(env, "TOTP secret")
        self._redactor.register(secret)
        code: str = pyotp.TOTP(secret).now()
        self._redactor.register(code)
        return code
