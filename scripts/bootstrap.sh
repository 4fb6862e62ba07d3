#!/usr/bin/env bash
# Makes a fresh Debian machine ready to run Tailrace: pinned pnpm through npm, nats-server (and, with --test, the
# real peers the tests talk to) from Debian, the workspace's packages, and a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
APT_RUNTIME=(nats-server)
APT_TEST=(rsyslog rsyslog-gnutls rsyslog-openssl prometheus chromium)

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v 2>/dev/null)" != "$PNPM_VERSION" ]; then
  log "installing pnpm@$PNPM_VERSION with npm (corepack cannot verify signatures here)"
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi

missing=()
for pkg in "${APT_RUNTIME[@]}"; do
  case "$pkg" in
    nats-server) command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server) ;;
    *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
done
if [ "$want_test" = 1 ]; then
  for pkg in "${APT_TEST[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing from Debian: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# test/kubernetes.test.ts renders deploy/kubernetes with kubectl (not a Debian package here); say so early.
if [ "$want_test" = 1 ] && ! command -v kubectl >/dev/null 2>&1; then
  log "kubectl is missing: test/kubernetes.test.ts will fail until it is installed"
fi
log "installing workspace packages"
pnpm install --frozen-lockfile --reporter=silent
log "building"
pnpm run --silent build
