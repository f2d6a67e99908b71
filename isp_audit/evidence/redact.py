"""Keyed fingerprints for secrets, so evidence shows "the ID changed" without ever showing the ID.

Every secret the scan touches (password, TOTP code, cookie and storage values, Authorization headers)
is registered here. Evidence writers replace values structurally (a cookie's value by its fingerprint)
and then pass every string of the data through :meth:`Redactor.scrub_obj` before serialising it, as a
safety net for free text (URLs, page text); it finds each secret in every encoding :mod:`isp_audit.analysis.encodings`
knows (escaped, base64, hex…).
The HMAC key is random per run and never stored, so fingerprints cannot be reversed or brute-forced
from the evidence, yet within one run the same value always gets the same fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from ..analysis.encodings import MIN_RAW_LENGTH, SecretIndex

# Values shorter than this are not scrubbed from free text: replacing "1" or "en" everywhere would
# destroy the evidence. They are still fingerprinted wherever they are handled structurally.
MIN_SCRUB_LENGTH = MIN_RAW_LENGTH
# What frameworks write into a cookie to delete it or mark it empty (Starlette sets `session=null` at
# logout). These carry no secret, and treating them as one would replace `null` all over the evidence.
PLACEHOLDERS = frozenset({"null", "none", "nil", "undefined", "deleted", "delete", "expired", "false", "true"})


def is_placeholder(value: str) -> bool:
    """A deletion or empty marker rather than a value anybody could use."""
    bare = value.strip().strip("\"'").strip().lower()
    return not bare or bare in PLACEHOLDERS or set(bare) <= {"0", "-"}


class Redactor:
    """Fingerprints and scrubs secret values for one run."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._secrets: dict[str, str] = {}  # secret -> its placeholder
        self._index = SecretIndex()

    def fingerprint(self, value: str) -> str:
        """16 hex characters of HMAC-SHA256(run key, value); registers the value as a secret."""
        self.register(value)
        return hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]

    def fp(self, value: str) -> str:
        """The fingerprint in the form used in evidence and prose: ``fp:3fa2…``."""
        return f"fp:{self.fingerprint(value)}"

    def register(self, value: str | None) -> None:
        """Remember a secret so that :meth:`scrub` removes it, in every form it can be written in."""
        if not value or len(value) < MIN_SCRUB_LENGTH or value in self._secrets or is_placeholder(value):
            return
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]
        self._secrets[value] = f"[fp:{digest}]"
        self._index.add(value)

    def scrub(self, text: str) -> str:
        """Replace every registered secret in ``text``, in any of its forms, by its fingerprint."""
        if not self._secrets or not text:
            return text
        out, pos = [], 0
        for hit in self._index.hits(text):
            # Overlapping secrets are replaced as one span, so no part of either survives.
            out += [text[pos : hit.start], *(self._secrets[s] for s in hit.secrets)]
            pos = hit.end
        return "".join(out) + text[pos:] if out else text

    def scrub_obj(self, obj: Any) -> Any:
        """Scrub every string inside a JSON-like structure (keys included).

        This is how structured evidence is redacted: value by value, before it is serialised, never by
        rewriting the serialised JSON/HTML/XML text, where a secret that equals a piece of syntax would
        corrupt the file.
        """
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, dict):
            return {self.scrub(str(k)): self.scrub_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.scrub_obj(v) for v in obj]
        return obj

    @property
    def secret_count(self) -> int:
        return len(self._secrets)
