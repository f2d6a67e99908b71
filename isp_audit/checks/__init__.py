"""The check implementations, registered explicitly (no import side effects).

Each check is a small module with one public function ``run(lab) -> CheckOutcome``. Its meaning (title,
severity, references, remediation) lives in the catalogue file ``checks/<id>.yaml``; a test keeps the
registry and the catalogue in step.
"""

from __future__ import annotations

from collections.abc import Callable

from ..lab import SessionLab
from ..model import CheckOutcome
from . import logout_invalidates, rotate_on_login, server_side_state

CheckFunction = Callable[[SessionLab], CheckOutcome]

# Order matters for speed, not correctness: checks that need a live session run before the one that
# logs out, so a default scan needs a single login.
REGISTRY: dict[str, CheckFunction] = {
    "rotate-on-login": rotate_on_login.run,
    "logout-invalidates": logout_invalidates.run,
    "server-side-state": server_side_state.run,
}
