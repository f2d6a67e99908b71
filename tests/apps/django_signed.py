"""Django with the signed-cookie session backend (the client-side store), otherwise like ``django_db``.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.django_signed --port 8004``.

The project itself (views, settings, hardened mode) is in ``_django``, shared with ``django_db``.
Expected real behaviour: ``sessionid`` holds the whole session, signed (``signing.dumps``) but not
encrypted, so there is no server-side record. ``login()`` still calls ``cycle_key``, and the value
changes at login anyway because the payload does. ``logout()`` flushes, which here only tells the
browser to delete the cookie: a cookie captured while logged in still works if replayed after logout,
in both modes; Django has no setting that changes that. The hardened idle timeout is enforced
(the signature's timestamp is checked against ``SESSION_COOKIE_AGE``), so a captured cookie stops
working once it has been idle that long.
"""

from __future__ import annotations

from tests.apps._django import SIGNED_COOKIES_ENGINE
from tests.apps._django import main as _main


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port``, build the database (users only) in a temp dir and serve until terminated."""
    _main(SIGNED_COOKIES_ENGINE, "Django signed-cookie-session fixture app", argv)


if __name__ == "__main__":
    main()
