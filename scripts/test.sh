#!/usr/bin/env bash
# Quick start, part 2: set up what the tests need (.venv with '.[test]', a Chromium, the npm packages of the
# Express fixture apps), lint, run the tests.
#   bash scripts/test.sh [extra pytest options, e.g. -k tokens -x]
# Runs ruff, mypy and pytest; fails if any fails, and fails if pytest ran no tests at all.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ISP_ROOT"

setup_venv
install_package test
ensure_browser
ensure_node_apps
log "set-up done in ${SECONDS}s"

ruff_rc=0
log "ruff check ."
"$VENV/bin/ruff" check . || ruff_rc=$?

mypy_rc=0
log "mypy isp_audit"
"$VENV/bin/mypy" isp_audit || mypy_rc=$?

test_rc=0
log "pytest -q $*"
"$VPY" -m pytest -q "$@" || test_rc=$?

if ((test_rc == 5)); then
    printf 'test.sh: FAILED: pytest collected/ran no tests (pytest exit 5); a run with zero tests never passes\n' >&2
    exit 5
fi
if ((ruff_rc != 0 || mypy_rc != 0 || test_rc != 0)); then
    printf 'test.sh: FAILED: ruff check exit %d, mypy exit %d, pytest exit %d\n' "$ruff_rc" "$mypy_rc" "$test_rc" >&2
    exit $((test_rc != 0 ? test_rc : 1))
fi
log "ruff, mypy and pytest passed in ${SECONDS}s total"
