"""The target profile: what to audit and how to log in, loaded from YAML and validated.

Credentials never live in the file: ``password_env`` names an environment variable (or the CLI prompts).
A validation error becomes one line naming the key and, where the YAML tells us, its line number.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .envsubst import expand_env
from .errors import ProfileError
from .net.scope import Scope
from .policy import Policy, build_policy
from .request_oracle import SAFE_METHODS, RequestSpec, check_template


class _Strict(BaseModel):
    # Unknown keys are errors: a typo like `pasword_env` must not silently drop the setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    base_url: str
    scope: list[str] = Field(default_factory=list, description="hosts (host or host:port) the scanner may contact")

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        check_http_url(value, relative_ok=False)
        return value if urlsplit(value).path else value + "/"


def check_http_url(value: str, relative_ok: bool = True) -> str:
    """``value`` if it is an http(s) URL with a host and a port in 1–65535 (or, when ``relative_ok``, a path
    relative to the base URL); else ValueError with the reason, which the profile error names the key of."""
    parts = urlsplit(value)
    if relative_ok and not parts.scheme and not parts.netloc:
        return value
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL, e.g. https://app.example/")
    try:
        port = parts.port
    except ValueError:
        port = 0  # not a number, or outside 0-65535
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise ValueError(f"port must be a number from 1 to 65535 in {value}")
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class LoginSelectors(_Strict):
    username: str | None = None  # leave out for a password-only form
    password: str
    submit: str | None = None
    otp: str | None = None


class FillAction(_Strict):
    selector: str
    value: str


class PressAction(_Strict):
    selector: str
    key: str


class WaitFor(_Strict):
    selector: str | None = None
    url: str | None = None
    text: str | None = None


class LoginStep(_Strict):
    """One step of a scripted login; exactly one key is set. Values may use {username}, {password}, {totp}."""

    goto: HttpUrl | None = None
    fill: FillAction | None = None
    click: str | None = None
    press: PressAction | None = None
    select: FillAction | None = None
    wait_for: WaitFor | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LoginStep:
        given = [k for k in ("goto", "fill", "click", "press", "select", "wait_for") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("each step takes exactly one of goto, fill, click, press, select, wait_for")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("goto", "fill", "click", "press", "select", "wait_for") if getattr(self, k) is not None)


class Login(_Strict):
    url: HttpUrl | None = None
    username: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    totp_secret_env: str | None = None
    selectors: LoginSelectors | None = None
    steps: list[LoginStep] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Login:
        # The username is optional: password-only forms (a single password field) have none.
        if not self.has_username and uses_username(self.steps):
            raise ValueError("steps use {username}, but neither username nor username_env is given")
        if self.selectors is not None and (self.selectors.username is None) == self.has_username:
            raise ValueError(
                "selectors.username is set but neither username nor username_env is given"
                if self.selectors.username
                else "give selectors.username to say where the username goes (or leave out username)"
            )
        if self.steps is None and self.url is None:
            raise ValueError("give url (the login page) unless steps are given")
        if self.steps is not None and self.selectors is not None:
            raise ValueError("give selectors or steps, not both")
        return self

    @property
    def mode(self) -> str:
        return "steps" if self.steps else "selectors" if self.selectors else "auto"

    @property
    def has_username(self) -> bool:
        return bool(self.username or self.username_env)


def uses_username(steps: list[LoginStep] | None) -> bool:
    """Whether a step value that placeholders are filled into uses ``{username}``."""
    for step in steps or []:
        values = (step.goto or "", step.fill.value if step.fill else "", step.select.value if step.select else "")
        if any("{username}" in value for value in values):
            return True
    return False


class OracleRequest(_Strict):
    """``authenticated.request``: a server request whose answer tells logged-in from anonymous (safe method
    only), with header templates placing the token as the app does (see isp_audit.request_oracle)."""

    method: str = "GET"
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _safe(cls, value: str) -> str:
        if value.upper() not in SAFE_METHODS:
            raise ValueError(
                f"must be GET or HEAD (the oracle is asked many times and must change nothing), not {value}"
            )
        return value.upper()

    @field_validator("headers")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            check_template(template)
        return value

    def spec(self) -> RequestSpec:
        return RequestSpec(self.method, tuple(self.headers.items()))


class Authenticated(_Strict):
    """The oracle: how to tell a logged-in client from an anonymous one (a page, or a server request)."""

    url: HttpUrl | None = None
    request: OracleRequest | None = None
    expect_text: str | None = None
    expect_selector: str | None = None
    expect_status: int | None = None
    not_redirected_to: str | None = None

    @model_validator(mode="after")
    def _some_expectation(self) -> Authenticated:
        if (self.url is None) == (self.request is None):
            raise ValueError("give exactly one of url (a page) or request (a server request)")
        if self.request is not None and self.expect_selector:
            raise ValueError("expect_selector needs a page (url); a request oracle takes expect_status or expect_text")
        if not any((self.expect_text, self.expect_selector, self.expect_status, self.not_redirected_to)):
            raise ValueError("give at least one of expect_text, expect_selector, expect_status, not_redirected_to")
        return self

    @property
    def oracle_url(self) -> str:
        """The page or request URL (relative to the base URL, or absolute)."""
        return self.request.url if self.request is not None else self.url or "/"


class Logout(_Strict):
    """How to log out: a URL (with method), a selector to click, or steps in the login step language."""

    url: HttpUrl | None = None
    method: Literal["GET", "POST"] = "GET"
    click: str | None = None
    steps: list[LoginStep] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Logout:
        if sum(way is not None for way in (self.url, self.click, self.steps)) != 1:
            raise ValueError("give either url (with method) or click or steps, exactly one")
        if self.steps is not None and not self.steps:
            raise ValueError("steps must list at least one step")
        return self


class PolicySettings(_Strict):
    """``policy:`` in a profile: a named base and any values to override (see isp_audit.policy)."""

    base: str = "ism"
    entropy_min_bits: float | None = None
    entropy_preferred_bits: float | None = None
    entropy_samples: int | None = None
    entropy_browser_samples: int | None = None
    entropy_time_budget: str | float | None = None
    concurrency: int | None = None
    idle_timeout: str | float | None = None
    absolute_timeout: str | float | None = None
    measure_timeouts: bool | None = None
    timeout_budget: str | float | None = None
    concurrent_logins: int | None = None
    max_concurrent_sessions: int | None = None

    @model_validator(mode="after")
    def _builds(self) -> PolicySettings:
        self.build()  # surface a bad base or value as a profile error, with its key
        return self

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"base"}).items() if v is not None}

    def build(self, extra: dict[str, Any] | None = None) -> Policy:
        return build_policy(self.base, {**self.overrides(), **(extra or {})})


class Profile(_Strict):
    name: str | None = None
    target: Target
    login: Login
    authenticated: Authenticated | None = None
    logout: Logout | None = None
    checks: list[str] | None = None
    skip: list[str] = Field(default_factory=list)
    policy: PolicySettings = Field(default_factory=PolicySettings)

    @model_validator(mode="after")
    def _logout_steps_username(self) -> Profile:
        if self.logout is not None and not self.login.has_username and uses_username(self.logout.steps):
            raise ValueError("logout.steps use {username}, but neither login.username nor login.username_env is given")
        return self

    @property
    def base_url(self) -> str:
        return self.target.base_url

    def url(self, path_or_url: str) -> str:
        """Resolve a profile URL (absolute, or relative to the base URL)."""
        return urljoin(self.target.base_url, path_or_url)

    @property
    def scope_hosts(self) -> frozenset[str]:
        """Allowed ``host`` and ``host:port`` entries; the base URL's host is always in scope."""
        base = urlsplit(self.target.base_url)
        hosts = {base.hostname or "", base.netloc}
        hosts.update(self.target.scope)
        return frozenset(h.lower() for h in hosts if h)

    @property
    def scope(self) -> Scope:
        return Scope(self.scope_hosts)

    def in_scope(self, url: str) -> bool:
        return self.scope.allows(url)

    @property
    def display_name(self) -> str:
        return self.name or urlsplit(self.target.base_url).netloc


def load_profile(path: Path) -> Profile:
    """Read and validate a YAML profile, raising :class:`ProfileError` with one readable line."""
    return parse_profile(read_text_file(path, "profile", ProfileError), str(path))


def read_text_file(path: Path, what: str, error: type[Exception]) -> str:
    """The UTF-8 text of an input file (profile, waivers, attestations), or ``error`` with one line."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        raise error(f"{what} {path} is not UTF-8 text (byte {bad:#04x} at offset {exc.start})") from exc


def load_yaml_mapping(text: str, source: str, error: type[Exception], what: str) -> tuple[Any, dict[str, Any]]:
    """Parse YAML into (node tree for line numbers, data); a syntax error or a non-mapping is one line."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{source}{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise error(f"{source}: {what}")
    reject_duplicate_keys(root, source, error)
    return root, data


def reject_duplicate_keys(root: Any, source: str, error: type[Exception]) -> None:
    """Raise ``error`` naming the key and its line when a YAML mapping holds a key twice.

    PyYAML keeps the last value silently, so ``password_env`` given twice, or two ``waivers:`` lists, would
    drop one without a word. Merge keys (``<<``) are left to YAML's own rules.
    """
    seen_nodes: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if node is None or id(node) in seen_nodes:
            continue  # aliases share nodes (and may form cycles): each node is looked at once
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in keys:
                        raise error(f"{source} line {key.start_mark.line + 1}: duplicate key {key.value!r}")
                    keys.add((key.tag, key.value))
                pending += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    root, data = load_yaml_mapping(
        text, source, ProfileError, "a profile is a YAML mapping with at least `target:` and `login:`"
    )
    data = expand_env(data, source, ProfileError, lambda loc: yaml_line_of(root, loc))
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc) or "(top level)"
        line = yaml_line_of(root, err["loc"])
        where = f" line {line}" if line else ""
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        raise ProfileError(f"{source}{where}: {key}: {message}") from exc


def yaml_line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """Walk a composed YAML node tree along an error location (keys and indexes) to the nearest line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def env_value(name: str, what: str) -> str:
    """Read a credential from the environment, or fail with a line naming the variable."""
    value = os.environ.get(name)
    if not value:
        raise ProfileError(f"environment variable {name} ({what}) is not set")
    return value


def check_credentials(profile: Profile) -> None:
    """Fail before any traffic when a credential's environment variable is missing."""
    login = profile.login
    if login.username_env:
        env_value(login.username_env, "login username")
    if login.password_env:
        env_value(login.password_env, "login password")
    if login.totp_secret_env:
        env_value(login.totp_secret_env, "TOTP secret")


def quick_profile(url: str, username: str | None, password_env: str | None, login_url: str | None) -> Profile:
    """The profile behind ``isp-audit scan URL [--username U] --password-env VAR`` (no username: the login
    form is password-only)."""
    try:
        return Profile.model_validate(
            {
                "target": {"base_url": url},
                "login": {"url": login_url or url, "username": username, "password_env": password_env},
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        message = err["msg"].removeprefix("Value error, ")
        raise ProfileError(f"{'.'.join(str(p) for p in err['loc'])}: {message}") from exc


STARTER_TEMPLATE = """\
# isp-audit target profile (YAML). Check it with: isp-audit scan --profile THIS_FILE
# Secrets never go in this file: the password comes from the environment variable named below.
name: {name}
target:
  base_url: {url}
  # Hosts the scanner may contact (host or host:port). The base URL's host is always allowed;
  # redirects anywhere else are recorded, never followed.
  scope: []
login:
  url: {login_url}          # the login page
  username: alice           # or username_env: APP_USER; leave both out for a password-only form
  password_env: APP_PASSWORD
  # totp_secret_env: APP_TOTP_SECRET   # base32 TOTP secret, for MFA logins
  # Automatic mode finds the form with a password field. To be explicit instead:
  # selectors: {{username: "#user", password: "#pass", submit: "button[type=submit]"}}
  # Or script a multi-page / SSO login (values may use {{username}}, {{password}}, {{totp}}):
  # steps:
  #   - goto: /login
  #   - fill: {{selector: "#user", value: "{{username}}"}}
  #   - click: "text=Next"
  #   - fill: {{selector: "#pass", value: "{{password}}"}}
  #   - press: {{selector: "#pass", key: Enter}}
  #   - wait_for: {{url: "**/dashboard"}}
# How to tell a logged-in client from an anonymous one. Leave it out and isp-audit derives one
# (and records what it chose).
# authenticated:
#   url: /account
#   expect_text: "Signed in as"        # or expect_selector / expect_status / not_redirected_to: /login
# How to log out. Leave it out and isp-audit looks for a "log out" / "sign out" link or button.
# logout:
#   url: /logout
#   method: POST                       # or: click: "text=Log out"
# checks: [rotate-on-login, logout-invalidates, server-side-state]   # default: every check
# The thresholds judged against; ISM values by default (base: ism). Other bases: nist-800-63b-4-aal2,
# nist-800-63b-3-aal2, nist-800-63b-aal3. Any single value can be overridden:
# policy:
#   base: ism
#   idle_timeout: 15m
#   absolute_timeout: 12h
#   entropy_samples: 1000
#   measure_timeouts: false
"""


def starter_profile(url: str) -> str:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}/"
    login_url = url if parts.path not in ("", "/") else urljoin(base, "login")
    return STARTER_TEMPLATE.format(name=parts.netloc, url=base, login_url=login_url)
