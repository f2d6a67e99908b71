"""Stopping a scan on request (Ctrl-C in a portfolio) without losing its evidence.

A portfolio does not let Ctrl-C raise wherever it lands: a KeyboardInterrupt while a target's evidence is being
written or packed would lose it. Instead the signal calls :func:`request_stop`, which raises KeyboardInterrupt
only inside the stoppable window (:func:`stoppable`: the scanner's login and checks, where the scanner turns it
into "interrupted (Ctrl-C)" and goes on to write what was found). Anywhere else the request is remembered: a
scan not yet in its window stops as soon as it enters it, and a scan past it finishes writing.

One-target scans keep Python's own Ctrl-C handling; nothing here changes them. State is per process: each
portfolio worker has its own.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_state = {"requested": False, "open": False}
_listeners: list[Callable[[], None]] = []  # told of the first request (they run in a signal handler: no locks)


def request_stop(_signum: int | None = None, _frame: object = None) -> None:
    """Ask the scan in this process to stop (usable as a signal handler). The first request interrupts an
    open window; later ones change nothing (a second interrupt could land in the writing of the evidence)."""
    if _state["requested"]:
        return
    _state["requested"] = True
    for listener in list(_listeners):
        listener()
    if _state["open"]:
        raise KeyboardInterrupt


def stop_requested() -> bool:
    return _state["requested"]


@contextmanager
def stoppable() -> Iterator[None]:
    """The part of a scan a stop request may interrupt (KeyboardInterrupt, raised at once if one is waiting)."""
    if _state["requested"]:
        raise KeyboardInterrupt
    _state["open"] = True
    try:
        if _state["requested"]:  # asked between the test above and the window's opening
            raise KeyboardInterrupt
        yield
    finally:
        _state["open"] = False


@contextmanager
def ctrl_c_requests_stop() -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT) calls :func:`request_stop` instead of raising wherever it lands. Signal
    handlers belong to the main thread; elsewhere this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def listening(listener: Callable[[], None]) -> Iterator[None]:
    """Call ``listener`` (from the signal handler: it must take no lock) when a stop is first requested."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def reset() -> None:
    """Forget a request (a new portfolio run in the same process)."""
    _state.update(requested=False, open=False)
