"""The assessment policy: the thresholds checks judge against, with ISM values as the defaults.

A profile may pick a named base policy and override single values; the report states the policy applied,
because the same token can pass under NIST SP 800-63B-4 AAL2 (1 h idle) and fail under ISM-0428 (15 min).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Seconds from 900, "900s", "15m", "12h" or "1d"."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 12h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def format_duration(seconds: float) -> str:
    """``15m``, ``12h``, ``1d`` for exact values; ``31.0 days``-style approximations otherwise."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:g}s"


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "ism"
    description: str = (
        "ASD ISM: ISM-2065 entropy (128 bits minimum, 256 preferred), ISM-0428 15 min idle / 12 h overall"
    )
    entropy_min_bits: float = 128
    entropy_preferred_bits: float = 256
    entropy_samples: int = Field(1000, ge=20, le=20000)
    entropy_browser_samples: int = Field(30, ge=5, le=500)
    entropy_time_budget: float = 20.0  # the least; it grows with the measured cost of one token (session.sampling)
    concurrency: int = Field(4, ge=1, le=32)  # most requests in flight to the target at once
    idle_timeout: float = 15 * 60
    absolute_timeout: float = 12 * 3600
    measure_timeouts: bool = False
    timeout_budget: float = 20 * 60
    concurrent_logins: int = Field(3, ge=2, le=20)
    max_concurrent_sessions: int | None = None

    @field_validator("entropy_time_budget", "idle_timeout", "absolute_timeout", "timeout_budget", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    def summary(self) -> dict[str, Any]:
        """The values a report shows, durations in human units."""
        return {
            "name": self.name,
            "description": self.description,
            "entropy": f"fail below {self.entropy_min_bits:g} bits, warn below {self.entropy_preferred_bits:g} bits",
            "entropy_samples": self.entropy_samples,
            "idle_timeout": format_duration(self.idle_timeout),
            "absolute_timeout": format_duration(self.absolute_timeout),
            "timeouts": f"measured, budget {format_duration(self.timeout_budget)}"
            if self.measure_timeouts
            else "declared only (not measured)",
            "concurrent_sessions": f"at most {self.max_concurrent_sessions}"
            if self.max_concurrent_sessions
            else "no configured maximum (reported)",
        }


# Named bases (standards.md §3 and §5.1): an ISM assessment uses "ism"; the NIST ones help when an agency
# also reports against SP 800-63B. Only the values that differ from the ISM defaults are listed.
BASES: dict[str, dict[str, Any]] = {
    "ism": {},
    "nist-800-63b-4-aal2": {
        "description": "NIST SP 800-63B-4 AAL2: idle ≤ 1 h (SHOULD), overall ≤ 24 h (SHOULD); 64-bit session secrets",
        "idle_timeout": "1h",
        "absolute_timeout": "24h",
        "entropy_min_bits": 64,
        "entropy_preferred_bits": 128,
    },
    "nist-800-63b-3-aal2": {
        "description": "NIST SP 800-63B-3 AAL2: idle 30 min, overall 12 h (SHALL); 64-bit session secrets",
        "idle_timeout": "30m",
        "entropy_min_bits": 64,
        "entropy_preferred_bits": 128,
    },
    "nist-800-63b-aal3": {
        "description": "NIST SP 800-63B AAL3: idle 15 min, overall 12 h; 64-bit session secrets",
        "entropy_min_bits": 64,
        "entropy_preferred_bits": 128,
    },
}


def build_policy(base: str = "ism", overrides: dict[str, Any] | None = None) -> Policy:
    if base not in BASES:
        raise ValueError(f"unknown policy base {base!r}; known: {', '.join(BASES)}")
    values = {"name": base, **BASES[base], **(overrides or {})}
    if overrides:
        values["name"] = f"{base} (customised: {', '.join(sorted(overrides))})"
    return Policy.model_validate(values)
