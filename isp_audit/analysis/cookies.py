"""Set-Cookie parsing that keeps every attribute exactly as the server sent it (attributes are evidence)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: tuple[tuple[str, str], ...]  # (name as sent, value or "") in order

    def attr(self, name: str) -> str | None:
        return next((v for k, v in self.attributes if k.lower() == name.lower()), None)

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.attributes)

    @property
    def deletes(self) -> bool:
        """True when this header tells the browser to drop the cookie (empty value, Max-Age<=0, past Expires)."""
        max_age = self.attr("Max-Age")
        if max_age is not None:
            try:
                return int(max_age) <= 0
            except ValueError:
                pass
        expires = self.attr("Expires")
        if expires:
            try:
                return parsedate_to_datetime(expires) <= datetime.now(UTC)
            except (TypeError, ValueError):
                pass
        return self.value == ""

    def redacted(self, fingerprint: str) -> str:
        """The header with the value replaced by its fingerprint and every attribute kept."""
        attrs = "".join(f"; {k}={v}" if v != "" else f"; {k}" for k, v in self.attributes)
        return f"{self.name}={fingerprint}{attrs}"


AttributeValue = str | bool  # an attribute sent without a value (HttpOnly) is True


@dataclass(frozen=True)
class SetCookieRecord:
    """One Set-Cookie header the scan received, as the evidence keeps it: the value only as a fingerprint."""

    at: str
    client: str
    url: str
    cookie: str
    value_fp: str
    deletes: bool
    attributes: tuple[tuple[str, AttributeValue], ...]
    header: str  # the header with its value replaced by the fingerprint

    def attr(self, name: str) -> AttributeValue | None:
        """An attribute by name, whatever its case (``None`` when absent)."""
        return attribute(dict(self.attributes), name)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "client": self.client,
            "url": self.url,
            "cookie": self.cookie,
            "value_fp": self.value_fp,
            "deletes": self.deletes,
            "attributes": dict(self.attributes),
            "header": self.header,
        }


def attribute(attributes: Mapping[str, AttributeValue], name: str) -> AttributeValue | None:
    """The one case-insensitive attribute lookup (Set-Cookie attribute names are case-insensitive)."""
    return next((v for k, v in attributes.items() if k.lower() == name.lower()), None)


def record_set_cookie(parsed: SetCookie, at: str, client: str, url: str, fp: Callable[[str], str]) -> SetCookieRecord:
    """The evidence record of one parsed header; ``fp`` fingerprints the value, which is never kept."""
    value_fp = fp(parsed.value) if parsed.value else ""
    attributes = {k: v if v != "" else True for k, v in parsed.attributes}
    return SetCookieRecord(
        at=at,
        client=client,
        url=url,
        cookie=parsed.name,
        value_fp=value_fp or "(empty)",
        deletes=parsed.deletes,
        attributes=tuple(attributes.items()),
        header=parsed.redacted(value_fp),
    )


def parse_set_cookie(header: str) -> SetCookie | None:
    parts = [p.strip() for p in header.split(";")]
    if not parts or "=" not in parts[0]:
        return None
    name, _, value = parts[0].partition("=")
    attrs = []
    for p in parts[1:]:
        if not p:
            continue
        k, _, v = p.partition("=")
        attrs.append((k.strip(), v.strip()))
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return SetCookie(name.strip(), value, tuple(attrs))
