"""Profile validation: every mistake is one line naming the key (and line) — never a traceback."""

from __future__ import annotations

import pytest

from isp_audit.errors import ProfileError
from isp_audit.profile import parse_profile, starter_profile

GOOD = """\
name: shop
target:
  base_url: https://shop.example/
  scope: [sso.shop.example]
login:
  url: /login
  username: alice
  password_env: SHOP_PASSWORD
authenticated:
  url: /account
  expect_text: Signed in
logout:
  url: /logout
  method: POST
"""


def test_good_profile_loads() -> None:
    profile = parse_profile(GOOD)
    assert profile.login.mode == "auto"
    assert profile.in_scope("https://sso.shop.example/x")
    assert profile.in_scope("https://shop.example:443/x")
    assert not profile.in_scope("https://evil.example/")
    assert profile.url("/account") == "https://shop.example/account"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("password_env:", "pasword_env:"), "line 8: login.pasword_env: unknown key"),
        (GOOD.replace("  method: POST", "  method: DELETE"), "line 14: logout.method: Input should be 'GET' or 'POST'"),
        (GOOD.replace("  base_url: https://shop.example/\n", ""), "target.base_url: required key is missing"),
        (GOOD.replace("https://shop.example/", "shop.example"), "line 3: target.base_url: must be an absolute"),
        (
            GOOD.replace("  scope: [sso.shop.example]", "  scope: sso"),
            "line 4: target.scope: Input should be a valid list",
        ),
        (GOOD.replace("  expect_text: Signed in\n", ""), "authenticated: give at least one of expect_text"),
        (GOOD + "  click: text=Log out\n", "logout: give either url (with method) or click"),
        ("target: [unclosed\n", "line 2: not valid YAML"),
        ("- just\n- a list\n", "a profile is a YAML mapping"),
    ],
)
def test_profile_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.yaml")
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith("p.yaml")
    assert message in line, line


def test_login_steps_take_exactly_one_action() -> None:
    text = GOOD.replace("  url: /login\n", "  steps:\n    - goto: /login\n      click: '#next'\n", 1)
    with pytest.raises(ProfileError, match=r"line 7: login.steps.0: each step takes exactly one of"):
        parse_profile(text, "p.yaml")


def test_starter_profile_is_a_valid_profile() -> None:
    profile = parse_profile(starter_profile("https://app.example/sign-in"))
    assert profile.target.base_url == "https://app.example/"
    assert profile.login.url == "https://app.example/sign-in"
    assert profile.login.password_env == "APP_PASSWORD"
