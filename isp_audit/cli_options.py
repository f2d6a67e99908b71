"""The options of ``isp-audit scan`` (and the browser options other commands share), declared once.

Each is an ``Annotated`` type that typer reads (flag, help text, bounds), so a command's signature reads
``profile_path: opt.Profile = None`` and its body stays the parsing-and-calling it is. The defaults stay
in the signatures, where typer takes them from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# The target, in quick mode or through a profile
Url = Annotated[str | None, typer.Argument(help="Target URL (quick mode, without a profile).")]
Profile = Annotated[Path | None, typer.Option("--profile", "-p", help="YAML target profile.")]
Username = Annotated[
    str | None, typer.Option(help="Quick mode: the username (leave out for a password-only login form).")
]
PasswordEnv = Annotated[str | None, typer.Option(help="Environment variable holding the password.")]
LoginUrl = Annotated[str | None, typer.Option(help="Quick mode: the login page (default: URL).")]

# What is written
Out = Annotated[Path, typer.Option("--out", "-o", help="Folder for results and evidence.")]
Json = Annotated[bool, typer.Option("--json", help="Print results.json to stdout.")]
Report = Annotated[
    list[str] | None,
    typer.Option(
        help="Also write FORMAT[:PATH] (html, json, md, junit, sarif, oscal, csv, matrix); "
        "PATH '-' is stdout. Repeatable."
    ),
]
Operator = Annotated[str | None, typer.Option(help="Who ran the assessment (default user@host).")]
Pack = Annotated[bool, typer.Option("--pack", help="Make the output folder a BagIt evidence pack.")]
Zip = Annotated[Path | None, typer.Option("--zip", help="Also zip the evidence pack to this file.")]

# What is run, and how hard
Checks = Annotated[str | None, typer.Option(help="Only these check ids (comma-separated).")]
Skip = Annotated[str | None, typer.Option(help="Skip these check ids (comma-separated).")]
Policy = Annotated[
    str | None, typer.Option(help="Policy base: ism (default), nist-800-63b-4-aal2, nist-800-63b-3-aal2, …")
]
EntropySamples = Annotated[
    int | None, typer.Option(help="Tokens to collect for token-entropy (default 1000, up to 20000).")
]
Concurrency = Annotated[
    int | None,
    typer.Option(min=1, max=32, help="Most requests in flight to the target at once (default 4)."),
]
MeasureTimeouts = Annotated[
    bool, typer.Option("--measure-timeouts", help="Measure idle/absolute expiry by waiting (slow).")
]
TimeoutBudget = Annotated[str | None, typer.Option(help="Longest wait for --measure-timeouts, e.g. 20m (default 20m).")]
MaxTime = Annotated[
    str | None,
    typer.Option(
        help="Longest the whole scan may take, e.g. 45m (default 30m, plus twice --timeout-budget with "
        "--measure-timeouts); past it no check starts, unfinished ones are reported as errors and "
        "everything found is written (exit 2)."
    ),
]

# How the run ends
FailOn = Annotated[
    str | None,
    typer.Option(
        help="Lowest severity whose failure gives exit 1: critical, high, medium, low, info, none (default low)."
    ),
]
Advisory = Annotated[bool, typer.Option("--advisory", help="Always exit 0 after writing everything.")]
Waivers = Annotated[Path | None, typer.Option(help="YAML waiver file (check, target, justification, owner, expires).")]
Attestations = Annotated[Path | None, typer.Option(help="YAML attestations for the manual ISM-2066 items.")]

# The browser (shared by scan, demo and doctor)
Browser = Annotated[
    str | None,
    typer.Option(
        "--browser",
        help="Chromium/Chrome binary (else $ISP_AUDIT_BROWSER, Playwright's own, or chromium on PATH).",
    ),
]
Headed = Annotated[bool, typer.Option("--headed", help="Show the browser window.")]

# A portfolio
Targets = Annotated[
    Path | None, typer.Option("--targets", help="A portfolio file: audit each of its targets (see README).")
]
Jobs = Annotated[int, typer.Option("--jobs", help="With --targets: targets audited at once.")]
Shard = Annotated[
    str | None, typer.Option("--shard", help="With --targets: audit only the K-th of N slices, e.g. 2/4.")
]
