"""``${VAR}`` in profiles and portfolio files: values from the environment, an unset one is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from isp_audit.errors import ProfileError
from isp_audit.profile import parse_profile
from tests.conftest import run_cli, write_profile

PROFILE = """\
name: shop
target:
  base_url: ${APP_URL}
  scope: ["${SSO_HOST}"]
login:
  url: ${APP_URL}login
  username: alice
  password_env: SHOP_PASSWORD
authenticated:
  url: /account
  expect_text: Price $${NOT_A_VAR} and $5
"""


def test_variables_fill_base_url_scope_urls_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_URL", "https://review-42.shop.example/")
    monkeypatch.setenv("SSO_HOST", "sso.shop.example")
    profile = parse_profile(PROFILE, "shop.yaml")
    assert profile.base_url == "https://review-42.shop.example/"
    assert profile.login.url == "https://review-42.shop.example/login"
    assert profile.in_scope("https://sso.shop.example/x")
    # $${ is the escape for a literal ${; a lone $ is left alone.
    assert profile.authenticated is not None
    assert profile.authenticated.expect_text == "Price ${NOT_A_VAR} and $5"


def test_a_value_cannot_change_the_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Substitution works on parsed values, so YAML inside a variable stays part of one string value.
    monkeypatch.setenv("APP_URL", "https://a.example/")
    monkeypatch.setenv("SSO_HOST", "sso.example\nlogin: {url: /evil}")
    profile = parse_profile(PROFILE, "shop.yaml")
    assert profile.target.scope == ["sso.example\nlogin: {url: /evil}"]
    assert profile.login.url == "https://a.example/login"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t, "shop.yaml line 3: target.base_url: environment variable APP_URL is not set"),
        (lambda t: t.replace("${APP_URL}", "${APP_URL"), "shop.yaml line 3: target.base_url: unclosed ${"),
        (lambda t: t.replace("${APP_URL}", "${1X}"), "shop.yaml line 3: target.base_url: ${1X} is not a variable"),
    ],
)
def test_unset_or_malformed_variables_are_one_line(monkeypatch: pytest.MonkeyPatch, edit, message: str) -> None:
    monkeypatch.delenv("APP_URL", raising=False)
    monkeypatch.setenv("SSO_HOST", "sso.shop.example")
    with pytest.raises(ProfileError) as info:
        parse_profile(edit(PROFILE), "shop.yaml")
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_cli_unset_variable_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write_profile(tmp_path / "shop.yaml", PROFILE)
    env = {"SSO_HOST": "sso.shop.example", "SHOP_PASSWORD": "x"}
    run = run_cli("scan", "--profile", str(path), "--out", str(tmp_path / "out"), env=env)
    assert run.code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == [f"isp-audit: error: {path} line 3: target.base_url: environment variable APP_URL is not set"]
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()
