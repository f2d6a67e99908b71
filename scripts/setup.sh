# shellcheck shell=bash
# Shared, idempotent set-up for isp-audit. Sourced by scripts/demo.sh and scripts/test.sh; not run directly.
#
#   setup_venv             create .venv (python3 -m venv; apt-installs python3-venv if Debian lacks it)
#   install_package [X]    pip install -e '.[X]' into .venv (skipped when pyproject.toml is unchanged since
#                          the last successful install of the same extras)
#   ensure_browser         make sure a Chromium the tool can launch exists: Playwright's own download
#                          (bounded in time), else Debian's `apt-get install chromium`
#   ensure_node_apps       npm ci --prefix tests/apps/express for the Express fixture apps (skipped when
#                          node_modules matches package.json + package-lock.json); apt-installs Debian's nodejs
#                          and npm first when node or npm is missing
#
# Quiet by default; failures print the captured output. Knobs (environment):
#   PYTHON=python3.12            interpreter used to create .venv (default python3; needs >= 3.11)
#   ISP_AUDIT_VERBOSE=1          show all pip/apt/playwright output
#   ISP_AUDIT_FORCE_INSTALL=1    re-run pip even when the install looks current
#   ISP_AUDIT_PLAYWRIGHT_TIMEOUT seconds allowed for `playwright install chromium` (default 120; 0 skips it)
#   ISP_AUDIT_BROWSER            a browser binary to use; then nothing is installed, it is only checked

set -euo pipefail

ISP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ISP_ROOT/.venv"
VPY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
_ISP_LOG="$(mktemp -t isp-audit-setup.XXXXXX)"
_ISP_APT_UPDATED=0
trap 'rm -f "$_ISP_LOG"' EXIT

log() { printf 'setup: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

# run_quiet DESCRIPTION CMD...: run CMD with its output captured; on failure show the output and return
# CMD's status (the caller decides whether that is fatal).
run_quiet() {
    local desc="$1" rc=0
    shift
    if [[ "${ISP_AUDIT_VERBOSE:-0}" == 1 ]]; then
        "$@" || rc=$?
    else
        "$@" >"$_ISP_LOG" 2>&1 || rc=$?
        if ((rc != 0)); then
            printf 'setup: %s failed (exit %d); its output:\n' "$desc" "$rc" >&2
            tail -n 60 "$_ISP_LOG" | sed 's/^/    /' >&2
        fi
    fi
    return "$rc"
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run as root, or install sudo)"
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* with your system's package manager"
    if [[ "$_ISP_APT_UPDATED" == 0 ]]; then
        log "apt-get update"
        run_quiet "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update \
            || die "apt-get update failed"
        _ISP_APT_UPDATED=1
    fi
    log "apt-get install -y $* (this can take a few minutes)"
    run_quiet "apt-get install $*" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" \
        || die "apt-get install $* failed"
}

# ---------------------------------------------------------------------------------------------- venv

_venv_ok() { [[ -x "$VPY" ]] && "$VPY" -m pip --version >/dev/null 2>&1; }

setup_venv() {
    if _venv_ok; then
        return 0
    fi
    local py="${PYTHON:-python3}"
    if ! command -v "$py" >/dev/null 2>&1; then
        [[ -z "${PYTHON:-}" ]] || die "PYTHON=$py not found"
        log "python3 not found; installing it with apt"
        apt_install python3 python3-venv
    fi
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$py is $("$py" -V 2>&1); isp-audit needs Python >= 3.11 (set PYTHON=/path/to/python3.11+)"
    if [[ -e "$VENV" ]]; then
        log "$VENV exists but has no working python/pip; recreating it"
        rm -rf "$VENV"
    fi
    log "creating $VENV with $("$py" -V 2>&1)"
    if ! "$py" -m venv "$VENV" >"$_ISP_LOG" 2>&1; then
        # Debian's python3 ships without ensurepip until python3-venv is installed; venv leaves a half-made
        # directory behind when that happens.
        rm -rf "$VENV"
        if grep -qiE 'ensurepip|python3(\.[0-9]+)?-venv' "$_ISP_LOG" && command -v apt-get >/dev/null 2>&1; then
            log "python3 -m venv needs Debian's python3-venv; installing it"
            apt_install python3-venv
            run_quiet "python3 -m venv" "$py" -m venv "$VENV" || die "could not create $VENV"
        else
            sed 's/^/    /' "$_ISP_LOG" >&2
            die "could not create $VENV with $py -m venv"
        fi
    fi
    _venv_ok || die "$VENV was created but has no working pip"
    log "upgrading pip"
    run_quiet "pip upgrade" "$VPY" -m pip install "$(_pip_quiet)" --upgrade pip || die "could not upgrade pip in $VENV"
}

# ------------------------------------------------------------------------------------------- package

_stamp="$VENV/.isp-audit-installed"

_pip_quiet() { if [[ "${ISP_AUDIT_VERBOSE:-0}" == 1 ]]; then echo -v; else echo -q; fi; }

_install_key() { # "<sha256 of pyproject.toml> <extras or base>"
    printf '%s %s' "$(sha256sum "$ISP_ROOT/pyproject.toml" | cut -d' ' -f1)" "${1:-base}"
}

_package_ok() { # importable from this checkout (editable) and the console script exists
    [[ -x "$VENV/bin/isp-audit" ]] || return 1
    "$VPY" - "$ISP_ROOT" <<'EOF' >/dev/null 2>&1
import sys
from pathlib import Path

import isp_audit

sys.exit(not Path(isp_audit.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()))
EOF
}

install_package() {
    local extras="${1:-}" spec="$ISP_ROOT" key
    [[ -z "$extras" ]] || spec="${ISP_ROOT}[${extras}]"
    key="$(_install_key "$extras")"
    if [[ "${ISP_AUDIT_FORCE_INSTALL:-0}" != 1 && -f "$_stamp" ]] && grep -qxF "$key" "$_stamp" && _package_ok; then
        log "isp-audit${extras:+[$extras]} already installed in .venv (pyproject.toml unchanged)"
        return 0
    fi
    log "pip install -e '.${extras:+[$extras]}' into .venv"
    # Not captured: pip -q prints nothing but errors and warnings, and those should be seen as they happen.
    "$VPY" -m pip install "$(_pip_quiet)" -e "$spec" || die "pip install -e '$spec' failed"
    _package_ok || die "isp-audit is not importable from $ISP_ROOT after pip install"
    # Keep only lines for the current pyproject.toml; installing extras also satisfies the plain install.
    local hash
    hash="${key%% *}"
    {
        grep -F "$hash " "$_stamp" 2>/dev/null || true
        printf '%s\n' "$key"
        [[ -z "$extras" ]] || printf '%s\n' "$(_install_key "")"
    } | sort -u >"$_stamp.tmp"
    mv "$_stamp.tmp" "$_stamp"
}

# ---------------------------------------------------------------------------------------- node apps

_NODE_APPS="$ISP_ROOT/tests/apps/express"
_node_stamp="$_NODE_APPS/node_modules/.isp-audit-lock-hash"

_node_apps_key() { cat "$_NODE_APPS/package.json" "$_NODE_APPS/package-lock.json" | sha256sum | cut -d' ' -f1; }

ensure_node_apps() {
    [[ -f "$_NODE_APPS/package-lock.json" ]] || die "$_NODE_APPS/package-lock.json is missing"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        log "node or npm not found (the Express fixture apps need them); installing Debian's nodejs and npm"
        apt_install nodejs npm
    fi
    local key
    key="$(_node_apps_key)"
    if [[ "${ISP_AUDIT_FORCE_INSTALL:-0}" != 1 && -f "$_node_stamp" && "$(cat "$_node_stamp")" == "$key" ]]; then
        log "npm packages for tests/apps/express already installed (package-lock.json unchanged)"
        return 0
    fi
    log "npm ci --prefix tests/apps/express (node $(node --version))"
    # npm ci deletes node_modules (and so the stamp) first: a failed install is retried next time.
    run_quiet "npm ci" npm ci --prefix "$_NODE_APPS" --no-audit --no-fund --loglevel=error \
        || die "npm ci --prefix tests/apps/express failed"
    printf '%s\n' "$key" >"$_node_stamp"
}

# ------------------------------------------------------------------------------------------- browser

# The tool picks its browser itself (ISP_AUDIT_BROWSER, else Playwright's Chromium, else chromium/chrome on
# PATH); `isp-audit doctor` reports that choice and test-launches it, which is the one check that matters.
_browser_ok() { "$VENV/bin/isp-audit" doctor >"$_ISP_LOG" 2>&1; }

_browser_line() { grep -m1 '^browser' "$_ISP_LOG" | sed -E 's/^browser +//; s/: .*//'; }

_show_doctor() { sed 's/^/    /' "$_ISP_LOG" >&2; }

_system_browser() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable chrome; do
        command -v "$name" 2>/dev/null && return 0
    done
    return 1
}

ensure_browser() {
    if _browser_ok; then
        log "browser ok: $(_browser_line)"
        return 0
    fi
    if [[ -n "${ISP_AUDIT_BROWSER:-}" ]]; then
        _show_doctor
        die "ISP_AUDIT_BROWSER=$ISP_AUDIT_BROWSER does not launch; fix or unset it"
    fi
    local limit="${ISP_AUDIT_PLAYWRIGHT_TIMEOUT:-120}"
    if ! _system_browser >/dev/null && [[ "$limit" != 0 ]]; then
        log "no usable browser; trying Playwright's download (python -m playwright install chromium, ${limit}s max)"
        local rc=0
        timeout -k 10 "$limit" "$VPY" -m playwright install chromium >"$_ISP_LOG" 2>&1 || rc=$?
        if ((rc == 0)) && _browser_ok; then
            log "browser ok: $(_browser_line)"
            return 0
        fi
        # Expected where only package registries are reachable; one line of why, not the whole retry log.
        if ((rc == 124 || rc == 137)); then
            log "Playwright's download timed out after ${limit}s"
        elif ((rc != 0)); then
            log "Playwright's download failed (exit $rc): $(grep -m1 -E 'Error|error' "$_ISP_LOG" | cut -c1-160)"
        else
            log "Playwright's Chromium downloaded but does not launch: $(grep -m1 -iE 'error' "$_ISP_LOG" | cut -c1-160)"
        fi
        log "falling back to Debian's chromium"
    fi
    if ! dpkg -s chromium >/dev/null 2>&1; then
        apt_install chromium
    fi
    if _browser_ok; then
        log "browser ok: $(_browser_line)"
        return 0
    fi
    if grep -q 'found via playwright' "$_ISP_LOG"; then
        # The tool prefers Playwright's Chromium when its file exists; if that one lacks system libraries,
        # Playwright's own dependency installer (apt) is the fix.
        log "Playwright's Chromium is installed but does not launch; installing its system dependencies"
        if run_quiet "playwright install-deps chromium" as_root "$VPY" -m playwright install-deps chromium \
            && _browser_ok; then
            log "browser ok: Playwright's Chromium"
            return 0
        fi
    fi
    _show_doctor
    die "no launchable Chromium: install one (apt-get install -y chromium) or set ISP_AUDIT_BROWSER"
}
