"""Django with the database session backend, django.contrib.auth and the CSRF middleware.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.django_db --port 8003``.

The project itself (views, settings, hardened mode) is in ``_django``, shared with ``django_signed``.
Expected real behaviour: ``login()`` rotates the session key (``cycle_key``) so ``sessionid``
changes at login, and ``logout()`` flushes the server-side row, so replaying the old cookie
after logout is rejected.
"""

from __future__ import annotations

from tests.apps._django import DB_ENGINE
from tests.apps._django import main as _main


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port``, build the database in a temp dir and serve until terminated."""
    _main(DB_ENGINE, "Django database-session fixture app", argv)


if __name__ == "__main__":
    main()
