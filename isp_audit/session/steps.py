"""The scripted step language (goto, fill, select, click, press, wait_for) shared by login and logout.

One runner, so a profile's ``login.steps`` and ``logout.steps`` mean exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..profile import LoginStep
from .clients import Client


def run_steps(
    client: Client, steps: Sequence[LoginStep], goto: Callable[[str], object], fill_in: Callable[[str], str]
) -> None:
    """Run ``steps`` in ``client``'s page; ``goto`` navigates to a (filled-in) profile URL, ``fill_in``
    replaces the placeholders a value may carry ({username}, {password}, {totp})."""
    page = client.page
    for step in steps:
        kind = step.kind
        if kind == "goto":
            goto(fill_in(step.goto or ""))
        elif kind == "fill" and step.fill:
            page.fill(step.fill.selector, fill_in(step.fill.value))
        elif kind == "select" and step.select:
            page.select_option(step.select.selector, fill_in(step.select.value))
        elif kind == "click":
            page.click(step.click or "")
            page.wait_for_load_state("load")
        elif kind == "press" and step.press:
            page.press(step.press.selector, step.press.key)
            page.wait_for_load_state("load")
        elif kind == "wait_for" and step.wait_for:
            w = step.wait_for
            if w.selector:
                page.wait_for_selector(w.selector)
            if w.url:
                page.wait_for_url(w.url)
            if w.text:
                page.get_by_text(w.text).first.wait_for()


def describe_step(step: LoginStep) -> str:
    """One step in words for the evidence (no filled-in values: they may be secrets)."""
    if step.goto:
        return f"goto {step.goto}"
    if step.fill:
        return f"filled {step.fill.selector}"
    if step.select:
        return f"selected in {step.select.selector}"
    if step.click:
        return f"clicked {step.click}"
    if step.press:
        return f"pressed {step.press.key} in {step.press.selector}"
    w = step.wait_for
    assert w is not None
    return "waited for " + " and ".join(
        part for part in (w.selector, w.url and f"url {w.url}", w.text and f"text {w.text!r}") if part
    )
