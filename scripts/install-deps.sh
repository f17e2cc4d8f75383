#!/usr/bin/env bash
# Install what the hotline needs on Debian 12, idempotently:
#   Asterisk (>= 16; from the bullseye suite, pinned low, on the mirror this machine already uses),
#   SIPp (sip-tester), baresip (a third-party softphone the tests use as an operator),
#   redis-server, PostgreSQL, espeak-ng, sox, python3-venv, chromium (the browser tests),
#   fail2ban and nftables (the SIP guard: addresses guessing passwords are dropped).
# Services are never auto-started by apt: the project starts its own private instances.
set -euo pipefail

log() { printf '[install] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

asterisk_ok() {
  command -v asterisk >/dev/null 2>&1 || [ -x /usr/sbin/asterisk ] || return 1
  local v
  v=$( (asterisk -V 2>/dev/null || /usr/sbin/asterisk -V) | sed -n 's/^Asterisk \([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 16 ]
}

# The mirror URI this machine already uses for Debian (never a hard-coded host).
debian_mirror() {
  local uri=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/ {for (i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources \
          | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; break}}' \
          /etc/apt/sources.list | grep -v -- '-security' | head -n1 || true)
  fi
  [ -n "$uri" ] || { echo "cannot find a Debian mirror in the apt sources" >&2; exit 1; }
  printf '%s' "${uri%/}"
}

# apt must not start the system-wide services it installs (Asterisk on 5060, Redis on 6379).
no_autostart() {
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
}

updated=0
apt_update() { if [ "$updated" = 0 ]; then $SUDO apt-get update -qq; updated=1; fi; }

# chromium: the browser tests drive Debian's headless Chromium (playwright, no browser download)
want=(sip-tester baresip-core redis-server espeak-ng sox libsox-fmt-mp3 postgresql python3-venv chromium
      fail2ban nftables)
missing=()
for p in "${want[@]}"; do have_pkg "$p" || missing+=("$p"); done

if [ ${#missing[@]} -gt 0 ] || ! asterisk_ok; then no_autostart; fi

if ! asterisk_ok; then
  mirror=$(debian_mirror)
  log "adding bullseye (pinned low) from $mirror for Asterisk 16"
  $SUDO tee /etc/apt/sources.list.d/hotline-bullseye.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO tee /etc/apt/preferences.d/hotline-bullseye >/dev/null <<PIN
Package: *
Pin: release n=bullseye
Pin-Priority: 100
PIN
  updated=0; apt_update
  $SUDO apt-get install -y -qq -t bullseye asterisk asterisk-moh-opsound-gsm >/dev/null
  log "installed $(asterisk -V)"
else
  log "using $( (asterisk -V 2>/dev/null || /usr/sbin/asterisk -V) )"
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_update
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "system packages ready"
