"""Everything a check may use, and nothing more.

A check is one function ``run(lab: Lab) -> CheckOutcome``. It sees the session kit only through the
:class:`Lab` protocol below: the experiments (log in, replay a state, log out and replay) and read-only,
frozen views of what the scan recorded. It never sees the browser, the recorder or the kit's counters, so
the tests' FakeLab (tests/fakelab.py) can drive every verdict branch without a browser.

Check modules import from this module only; the pure analysis helpers they decode tokens with (token
formats, JWT crafting, entropy statistics, encodings) are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..analysis.cookies import AttributeValue, SetCookieRecord, attribute
from ..analysis.encodings import SecretIndex, contains, decodes_to
from ..analysis.entropy import EntropyPolicy, EntropyReport, analyse_tokens, required_sample_size, verdict
from ..analysis.jose import DecodedJwt, decode, lifetime_seconds, payload_claims, sensitive_claims
from ..analysis.jwt_attacks import crack_hmac_secret, expired_variant, unsigned_variants
from ..analysis.tokens import TokenAnalysis, analyse_token, id_part
from ..errors import LoginFailed, LoginNotCarriedOut
from ..model import CheckOutcome, Verdict
from ..net.classify import Outcome
from ..policy import Policy, format_duration
from ..session.records import (
    AuthCheck,
    Fingerprint,
    LoginRecord,
    LogoutReplay,
    LogoutResult,
    PageVisit,
    PreLogin,
    Replay,
    SeenUrl,
    SessionMember,
    TokenIdentification,
    TokenSample,
)
from ..state import ClientState, Cookie, StateItem

__all__ = [
    "AttributeValue",
    "AuthCheck",
    "Check",
    "CheckOutcome",
    "ClientState",
    "Cookie",
    "DecodedJwt",
    "EntropyPolicy",
    "EntropyReport",
    "Fingerprint",
    "Lab",
    "LoginFailed",
    "LoginNotCarriedOut",
    "LoginRecord",
    "LogoutReplay",
    "LogoutResult",
    "Outcome",
    "PageVisit",
    "Policy",
    "PreLogin",
    "Replay",
    "SecretIndex",
    "SeenUrl",
    "SessionMember",
    "SetCookieRecord",
    "StateItem",
    "TokenAnalysis",
    "TokenIdentification",
    "TokenSample",
    "Verdict",
    "analyse_token",
    "analyse_tokens",
    "attribute",
    "contains",
    "crack_hmac_secret",
    "decode",
    "decodes_to",
    "expired_variant",
    "format_duration",
    "id_part",
    "lifetime_seconds",
    "payload_claims",
    "required_sample_size",
    "sensitive_claims",
    "unsigned_variants",
    "verdict",
]


class Lab(Protocol):
    """The narrow interface between the checks and the session kit (:class:`isp_audit.session.kit.SessionKit`)."""

    # --- facts about the run -----------------------------------------------------------------------------
    @property
    def policy(self) -> Policy: ...

    @property
    def username(self) -> str: ...

    @property
    def target_is_https(self) -> bool: ...

    def fp(self, value: str) -> str:
        """The keyed fingerprint reports show in place of a secret value."""
        ...

    def register_secret(self, value: str) -> None:
        """Make the redactor hide ``value`` (e.g. a forged token the check is about to plant)."""
        ...

    # --- what the scan recorded (frozen views, in the order seen) ---------------------------------------
    @property
    def baseline_tokens(self) -> TokenIdentification | None:
        """The session tokens of the first login (the ones reports name), once it happened."""
        ...

    def set_cookies(self) -> tuple[SetCookieRecord, ...]: ...

    def urls_seen(self) -> tuple[SeenUrl, ...]:
        """Every URL requested, and every Location and Referer header, up to now."""
        ...

    def states_seen(self) -> tuple[ClientState, ...]: ...

    def login_states(self) -> tuple[ClientState, ...]:
        """The state right after each successful login this scan made (live and extra), in order."""
        ...

    def session_items(self, state: ClientState) -> tuple[StateItem, ...]:
        """The items of ``state`` that play the role of the baseline's session tokens."""
        ...

    # --- experiments ---------------------------------------------------------------------------------------
    def live_login(self) -> LoginRecord:
        """A logged-in session not yet ended (memoised; logs in afresh only when needed)."""
        ...

    def session_ended(self, record: LoginRecord) -> None:
        """Tell the kit the server ended this login's session, so the next live_login logs in afresh."""
        ...

    def extra_login(self, name: str, start: ClientState | None = None) -> tuple[ClientState, ClientState]:
        """Another independent login (optionally from a planted ``start``): the state before and after."""
        ...

    def anonymous_state(self, client_name: str) -> ClientState:
        """What a fresh client holds after visiting the login page anonymously."""
        ...

    def pre_login_discovery(self, client_name: str) -> PreLogin:
        """A fresh client arrives as a user does (base URL, protected page, login page): what each issued."""
        ...

    def is_authenticated(
        self,
        state: ClientState,
        label: str,
        client_name: str = "replay",
        fingerprint: Fingerprint | None = None,
        browser: bool = False,
    ) -> AuthCheck:
        """Replay ``state`` in a clean client and ask the oracle (a fault is named, never a rejection)."""
        ...

    def replace_token(self, state: ClientState, item: StateItem, value: str) -> ClientState: ...

    def logout_replay(self) -> LogoutReplay:
        """Memoised: log the live session out and replay its tokens from clean clients."""
        ...

    def sample_tokens(self, token: StateItem, want: int) -> TokenSample:
        """Up to ``want`` fresh values of ``token``, as cheaply as the application allows, within budget."""
        ...

    # --- time (waiting is the timeout checks' experiment) -----------------------------------------------
    def monotonic(self) -> float: ...

    def wait_until(self, when: float) -> None:
        """Sleep until the monotonic clock reads ``when`` (bounded by the check's deadline)."""
        ...


Check = Callable[[Lab], CheckOutcome]
