#!/usr/bin/env bash
# Quick start, part 2: set up what the tests need (.venv with '.[test]', a Chromium, the npm packages of the
# Express fixture apps), lint, run the tests.
#   bash scripts/test.sh [extra pytest options, e.g. -k tokens -x]
# Runs ruff, mypy and pytest; fails if any fails, and fails if pytest ran no tests at all.
# The real-app zoo (tests/test_zoo_real.py) needs its apps installed into $ISP_ZOO_CACHE (default
# /work/zoo-cache; pip, npm and, for Adminer, apt as root): done here first, a no-op when cached.
#   ISP_ZOO_APPS=all|none|app,app   which zoo apps to install and scan (default: see tests/zoo_real/zooscan.py)
#   ISP_TEST_WORKERS=N               pytest-xdist workers (default 2; 0 = one process)
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ISP_ROOT"

setup_venv
install_package test
ensure_browser
ensure_node_apps
log "set-up done in ${SECONDS}s"

# A failed install does not stop the run: the zoo tests then fail loudly for that app (CI=true) and the
# run fails below either way.
zoo_rc=0
zoo_started=$SECONDS
log "zoo apps: installing into ${ISP_ZOO_CACHE:-/work/zoo-cache} (ISP_ZOO_APPS=${ISP_ZOO_APPS:-default})"
"$VPY" -m tests.zoo_real.zooscan --install || zoo_rc=$?
log "zoo apps ready in $((SECONDS - zoo_started))s (install exit $zoo_rc)"

ruff_rc=0
log "ruff check ."
"$VENV/bin/ruff" check . || ruff_rc=$?

mypy_rc=0
log "mypy isp_audit"
"$VENV/bin/mypy" isp_audit || mypy_rc=$?

# Two workers (this machine has 2 cores; browsers and servers wait on each other much of the time), each
# test file on one worker so a file's servers and fixtures stay together. ISP_TEST_WORKERS=0 runs serially.
workers=${ISP_TEST_WORKERS:-2}
opts=()
if ((workers > 0)); then opts=(-n "$workers" --dist loadfile); fi
opts+=(--durations=25)  # the slowest tests, so a CI log shows where the 25-minute budget goes
test_rc=0
log "pytest -q ${opts[*]} $*"
"$VPY" -m pytest -q "${opts[@]}" "$@" || test_rc=$?

if ((test_rc == 5)); then
    printf 'test.sh: FAILED: pytest collected/ran no tests (pytest exit 5); a run with zero tests never passes\n' >&2
    exit 5
fi
if ((ruff_rc != 0 || mypy_rc != 0 || test_rc != 0 || zoo_rc != 0)); then
    printf 'test.sh: FAILED: ruff check exit %d, mypy exit %d, pytest exit %d, zoo install exit %d\n' \
        "$ruff_rc" "$mypy_rc" "$test_rc" "$zoo_rc" >&2
    exit $((test_rc != 0 ? test_rc : 1))
fi
log "ruff, mypy and pytest passed in ${SECONDS}s total"
