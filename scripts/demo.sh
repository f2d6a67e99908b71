#!/usr/bin/env bash
# Quick start, part 1: set everything up (.venv, isp-audit, a Chromium) and run the built-in demo audit.
#   bash scripts/demo.sh [extra `isp-audit demo` options, e.g. --headed]
# Exit status is the demo's: 0 when both demo apps got the verdicts they were built to get.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ISP_ROOT"

setup_venv
install_package
ensure_browser
log "set-up done in ${SECONDS}s; running: isp-audit demo --out isp-audit-demo $*"

rc=0
"$VENV/bin/isp-audit" demo --out isp-audit-demo "$@" || rc=$?
if ((rc == 0)); then
    log "demo ok; reports in $ISP_ROOT/isp-audit-demo/{server-side,client-side}/"
else
    log "demo exited $rc"
fi
exit "$rc"
