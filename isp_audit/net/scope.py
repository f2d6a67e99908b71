"""The one scope gate: may any client of ours send a request to this URL?

Two URL parsers can disagree about where a URL points. ``urlsplit`` reads
``http://127.0.0.2:19050\\@127.0.0.1/`` as host 127.0.0.1, while urllib3 (which requests uses to connect)
reads it as host 127.0.0.2. A gate that judges with one parser while another connects can be walked around,
and the client then carries the live session cookie off scope. So the gate refuses what is ambiguous
(userinfo, backslashes, whitespace or control characters in the authority), asks the parser of the
library that will actually connect, and requires every parser to agree before it compares the host with
the scope. Browsers are confined separately (a dead proxy for everything off scope, see session/kit), but
judge their requests with the same gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

from ..errors import AuditError

_BROWSER_LOCAL_SCHEMES = ("data", "blob", "about")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_AMBIGUOUS_AUTHORITY = re.compile(r"[\\@\s\x00-\x1f\x7f]")


class OutOfScope(AuditError):
    """A request our client was about to send would leave the scope of the audit."""


@dataclass(frozen=True)
class Scope:
    """The hosts (``host`` or ``host:port``, lower case) the audit may contact."""

    hosts: frozenset[str]

    def refusal(self, url: str) -> str | None:
        """None when a request to ``url`` stays in scope; otherwise the reason, in a few words."""
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep:
            return None if scheme.split(":", 1)[0] in _BROWSER_LOCAL_SCHEMES else "not an absolute URL"
        if scheme not in _DEFAULT_PORTS:
            return f"scheme {scheme!r} is not http(s) or ws(s)"
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if _AMBIGUOUS_AUTHORITY.search(authority):
            return "its authority holds userinfo, a backslash or white space, which parsers read differently"
        where = _connect_target(url)
        if where is None:
            return "its host cannot be parsed"
        host, port = where
        # A bare host entry admits every port of that host; a ``host:port`` entry admits that port only.
        if host in self.hosts or _authority(host, port) in self.hosts:
            return None
        return f"host {host}:{port} is not in scope"

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None

    def require(self, url: str) -> None:
        """Raise :class:`OutOfScope` unless a request to ``url`` stays in scope."""
        why = self.refusal(url)
        if why is not None:
            raise OutOfScope(f"refused to contact {_shown(url)}: {why}")


def _connect_target(url: str) -> tuple[str, int] | None:
    """(host, port) as the HTTP library will connect to it, if every parser agrees on it; else None."""
    try:
        prepared = requests.Request("GET", url).prepare().url or ""
        lib = parse_url(prepared)
        std = urlsplit(url)
        std_port = std.port
    except (ValueError, requests.RequestException):
        return None
    scheme = (std.scheme or "").lower()
    lib_host = (lib.host or "").strip("[]").lower()
    std_host = (std.hostname or "").lower()
    if not lib_host or lib_host != _idna(std_host) or lib.auth:
        return None
    port = lib.port or _DEFAULT_PORTS.get(scheme, 0)
    if (std_port or _DEFAULT_PORTS.get(scheme, 0)) != port:
        return None
    return lib_host, port


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _shown(url: str) -> str:
    """The URL without its query, for a one-line message (queries may carry secrets)."""
    return url.split("?", 1)[0][:200]
