"""The check implementations, registered explicitly (no import side effects).

Each check is a small module with one public function ``run(lab) -> CheckOutcome``. Its meaning (title,
severity, references, remediation) lives in the catalogue file ``checks/<id>.yaml``; a test keeps the
registry and the catalogue in step.
"""

from __future__ import annotations

from collections.abc import Callable

from ..lab import SessionLab
from ..model import CheckOutcome
from . import (
    absolute_timeout,
    anomalous_reuse,
    concurrent_sessions,
    cookie_attributes,
    idle_timeout,
    jwt_hygiene,
    logout_invalidates,
    rotate_on_login,
    server_side_state,
    session_fixation,
    token_entropy,
    token_in_url,
    token_in_web_storage,
    token_opacity,
)

CheckFunction = Callable[[SessionLab], CheckOutcome]

# Order matters for speed and isolation: checks that use the baseline's live session run first, the
# logout experiment after them, then the checks that read everything the scan saw (URLs, storage).
# A check that ends a session marks it, and the next one that needs a live session logs in afresh.
REGISTRY: dict[str, CheckFunction] = {
    "token-opacity": token_opacity.run,
    "cookie-attributes": cookie_attributes.run,
    "rotate-on-login": rotate_on_login.run,
    "session-fixation": session_fixation.run,
    "jwt-hygiene": jwt_hygiene.run,
    "concurrent-sessions": concurrent_sessions.run,
    "idle-timeout": idle_timeout.run,
    "absolute-timeout": absolute_timeout.run,
    "logout-invalidates": logout_invalidates.run,
    "server-side-state": server_side_state.run,
    "anomalous-reuse": anomalous_reuse.run,
    "token-in-url": token_in_url.run,
    "token-in-web-storage": token_in_web_storage.run,
    # Last: sampling creates many sessions, which can evict live ones from a bounded session store
    # (cachelib's FileSystemCache keeps 500) and would distort the checks above.
    "token-entropy": token_entropy.run,
}
