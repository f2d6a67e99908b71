"""Errors that end a scan early. Each carries one line for the terminal; the CLI maps them to exit 2."""

from __future__ import annotations


class AuditError(Exception):
    """The scan could not be done (bad input, unreachable target, failed login, no browser).

    ``str(error)`` is the one-line message shown to the user; ``hint`` is an optional second line.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ProfileError(AuditError):
    """The target profile is malformed or incomplete."""


class BrowserNotFound(AuditError):
    """No usable Chromium could be found or launched."""


class LoginFailed(AuditError):
    """The login did not reach the authenticated state."""


class LoginNotCarriedOut(LoginFailed):
    """The login could not be carried out (no form found, a step timed out, nothing reached the server): the
    server said nothing about the credentials, so this is never evidence that it refused a login."""


class ScopeViolation(AuditError):
    """The target sent the scanner somewhere outside the allowed scope."""
