"""The check implementations: one module per check, found from the catalogue (no import side effects).

Each check is a module ``isp_audit/checks/<id with underscores>.py`` with one public function
``run(lab: Lab) -> CheckOutcome`` (see :mod:`isp_audit.checks.api`). Its meaning (title, severity,
references, remediation), its place in the run order and the demo's expected verdicts live in the
catalogue file ``checks/<id>.yaml``. Adding a check touches those two files and the framework mapping
``checks/frameworks/ism.yaml``, nothing else.
"""

from __future__ import annotations

from importlib import import_module

from ..catalogue import checks_in_run_order
from .api import Check


def module_name(check_id: str) -> str:
    return f"{__name__}.{check_id.replace('-', '_')}"


def _registry() -> dict[str, Check]:
    """Every catalogued check's ``run``, in the catalogue's run order."""
    registry: dict[str, Check] = {}
    for meta in checks_in_run_order():
        run: Check = import_module(module_name(meta.id)).run
        registry[meta.id] = run
    return registry


REGISTRY: dict[str, Check] = _registry()
