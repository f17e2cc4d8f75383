#!/usr/bin/env bash
# Prepare Asterisk 22 (current LTS) in a Debian sid chroot, beside the native Asterisk 16, so the
# tests can run against both. Idempotent: when the chroot already holds Asterisk >= 20 it only
# prints the version (well under a second).
#
#   HOTLINE_AST22_ROOT   chroot folder (default /var/cache/hotline/asterisk22)
#   HOTLINE_AST22_MIRROR Debian mirror URI; default: the one this machine's apt sources use
#
# The chroot is built in <root>.tmp and renamed to <root> only when complete, so an interrupted
# run never leaves a chroot that looks finished; the next run resumes from the debootstrapped
# <root>.tmp (or starts over if debootstrap itself did not finish). proc, sys, dev and dev/pts are
# mounted only while apt runs and are always unmounted afterwards (also on failure).
# To run Asterisk inside the chroot use scripts/chroot-mounts.sh up|down ROOT RUNTIME_DIR.
set -euo pipefail

log() { printf '[asterisk22] %s\n' "$*"; }
die() { printf '[asterisk22] error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "must run as root (debootstrap, mount, chroot)"
  exec sudo -E bash "$0" "$@"
fi

ROOT=${HOTLINE_AST22_ROOT:-/var/cache/hotline/asterisk22}
case $ROOT in /*) ;; *) ROOT="$PWD/$ROOT" ;; esac
ROOT=$(realpath -m -- "$ROOT")
[ "$ROOT" != / ] || die "HOTLINE_AST22_ROOT must not be /"
case $ROOT in *[[:space:]]*) die "HOTLINE_AST22_ROOT must not contain spaces: $ROOT" ;; esac
TMP="$ROOT.tmp"
MARK=.hotline-asterisk22       # in the chroot's top folder: "debootstrapped by this script"
MIN_MAJOR=20
WANT_PKGS=(asterisk asterisk-moh-opsound-gsm asterisk-core-sounds-en-gsm)

# "Asterisk 22.x.y..." of the chroot at $1, or nothing.
ast_version() {
  [ -x "$1/usr/sbin/asterisk" ] || return 0
  chroot "$1" /usr/sbin/asterisk -V 2>/dev/null | head -n1 || true
}
version_ok() { # version string -> major >= MIN_MAJOR ?
  local major
  major=$(printf '%s' "$1" | sed -n 's/^Asterisk \([0-9][0-9]*\)\..*/\1/p')
  [ -n "$major" ] && [ "$major" -ge "$MIN_MAJOR" ]
}

# ---- fast path -----------------------------------------------------------------------------
v=$(ast_version "$ROOT")
if version_ok "$v"; then log "$v ready in $ROOT"; exit 0; fi

start=$SECONDS
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9                         # one builder at a time; re-check once we hold the lock
v=$(ast_version "$ROOT")
if version_ok "$v"; then log "$v ready in $ROOT"; exit 0; fi
LOGFILE="$ROOT.install.log"
: >"$LOGFILE"

# ---- mounts --------------------------------------------------------------------------------
mounts_under() { # mount points at or below $1, deepest first
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r
}
unmount_all_under() {
  local m
  for m in $(mounts_under "$1"); do
    umount "$m" 2>/dev/null || umount -l "$m" || { echo "[asterisk22] cannot unmount $m" >&2; return 1; }
  done
}
cleanup() {
  local rc=$?
  if [ -d "$TMP" ] && [ -n "$(mounts_under "$TMP")" ]; then
    unmount_all_under "$TMP" || true
    log "unmounted proc, sys, dev, dev/pts of $TMP"
  fi
  if [ $rc -ne 0 ] && [ -s "$LOGFILE" ]; then
    echo "[asterisk22] failed (exit $rc); last lines of $LOGFILE:" >&2
    tail -n 25 "$LOGFILE" >&2 || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

mount_private() { local t=${*: -1}; mount "$@"; mount --make-private "$t"; }
mount_chroot() {
  mountpoint -q "$TMP/proc"    || mount_private -t proc proc "$TMP/proc"
  mountpoint -q "$TMP/sys"     || mount_private -t sysfs sysfs "$TMP/sys"
  mountpoint -q "$TMP/dev"     || mount_private --bind /dev "$TMP/dev"
  mkdir -p "$TMP/dev/pts"
  mountpoint -q "$TMP/dev/pts" || mount_private --bind /dev/pts "$TMP/dev/pts"
}

in_chroot() {
  chroot "$TMP" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# ---- the Debian mirror this machine already uses ---------------------------------------------
# Prints "URI<TAB>SUITES" for every enabled deb source (deb822 .sources files and sources.list).
apt_source_lines() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush(  n, a, i) {
        if (uris != "" && types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) !~ /^(no|false)/) {
          n = split(uris, a, /[ \t]+/)
          for (i = 1; i <= n; i++) if (a[i] != "") print a[i] "\t" suites
        }
        uris = types = suites = enabled = key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/   { if (key == "uris") uris = uris " " $0; else if (key == "suites") suites = suites " " $0; next }
      { key = tolower($1); sub(/:.*/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val; else if (key == "enabled") enabled = val }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { i = 2
           if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           if (i + 1 <= NF) print $i "\t" $(i + 1) }' "$f"
  done
}
debian_mirror() {
  if [ -n "${HOTLINE_AST22_MIRROR:-}" ]; then printf '%s' "${HOTLINE_AST22_MIRROR%/}"; return; fi
  local lines uri
  lines=$(apt_source_lines | grep -v -- '-security' | grep -E '^(https?|ftp|file):' || true)
  # A URI ending in /debian first; else one serving a Debian suite name.
  uri=$(printf '%s\n' "$lines" | awk -F'\t' '$1 ~ /\/debian\/?$/ {print $1; exit}')
  [ -n "$uri" ] || uri=$(printf '%s\n' "$lines" | awk -F'\t' \
    '$2 ~ /(^| )(buster|bullseye|bookworm|trixie|forky|sid|stable|testing|unstable|oldstable)( |$)/ {print $1; exit}')
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  printf '%s' "${uri%/}"
}

# ---- 1. host tools -------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap on the host"
  if ! apt-get install -y -qq debootstrap >>"$LOGFILE" 2>&1; then
    apt-get update -qq >>"$LOGFILE" 2>&1
    apt-get install -y -qq debootstrap >>"$LOGFILE" 2>&1
  fi
fi

# ---- 2. a chroot to work on: resume, repair or debootstrap -------------------------------------
if [ -e "$ROOT" ]; then
  if [ -f "$ROOT/$MARK" ]; then
    [ -z "$(mounts_under "$ROOT")" ] ||
      die "$ROOT has no working Asterisk >= $MIN_MAJOR but has mounts; run scripts/chroot-mounts.sh down first"
    log "$ROOT has no working Asterisk >= $MIN_MAJOR (${v:-none}); repairing it"
    if [ -e "$TMP" ]; then unmount_all_under "$TMP"; rm -rf --one-file-system "$TMP"; fi
    mv "$ROOT" "$TMP"
  elif [ -d "$ROOT" ] && [ -z "$(ls -A "$ROOT")" ]; then
    rmdir "$ROOT"
  else
    die "$ROOT exists but was not made by this script; remove it or set HOTLINE_AST22_ROOT"
  fi
fi

if [ -e "$TMP" ]; then
  unmount_all_under "$TMP"            # left by a run that was killed
  if [ -f "$TMP/$MARK" ]; then
    log "resuming from $TMP (debootstrap already done)"
  else
    log "removing unfinished $TMP"
    rm -rf --one-file-system "$TMP"
  fi
fi

if [ ! -e "$TMP" ]; then
  mirror=$(debian_mirror)
  log "debootstrap --variant=minbase sid $TMP $mirror (log: $LOGFILE)"
  t0=$SECONDS
  debootstrap --variant=minbase sid "$TMP" "$mirror" >>"$LOGFILE" 2>&1 ||
    die "debootstrap failed"
  unmount_all_under "$TMP"
  printf 'debootstrap --variant=minbase sid %s\n' "$mirror" >"$TMP/$MARK"
  log "debootstrap done in $((SECONDS - t0)) s"
fi

# ---- 3. configure and install Asterisk inside ------------------------------------------------
printf '#!/bin/sh\n# no service may start inside this chroot\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"
chmod 755 "$TMP/usr/sbin/policy-rc.d"
for f in /etc/hosts /etc/resolv.conf; do
  if [ -e "$f" ]; then cp -L --remove-destination "$f" "$TMP$f"; fi
done
# The sid Release file on the mirror may be expired (snapshot): keep apt inside working later too.
printf 'Acquire::Check-Valid-Until "false";\n' >"$TMP/etc/apt/apt.conf.d/99hotline-no-valid-until"

mount_chroot
# A run killed while dpkg was working leaves packages half-configured; finish them first.
in_chroot dpkg --configure -a >>"$LOGFILE" 2>&1 || die "dpkg --configure -a failed inside the chroot"
log "apt-get update inside the chroot"
in_chroot apt-get -o Acquire::Check-Valid-Until=false update -qq >>"$LOGFILE" 2>&1 ||
  die "apt-get update failed inside the chroot"

pkgs=()
for p in "${WANT_PKGS[@]}"; do
  if in_chroot apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
    pkgs+=("$p")
  elif [ "$p" = asterisk ]; then
    die "sid has no package 'asterisk'"
  else
    log "warning: sid has no package $p; skipping it"
  fi
done
log "apt-get install ${pkgs[*]}"
t0=$SECONDS
in_chroot apt-get -o Acquire::Check-Valid-Until=false install -y -qq --no-install-recommends \
  "${pkgs[@]}" >>"$LOGFILE" 2>&1 || die "apt-get install failed inside the chroot"
v=$(ast_version "$TMP")
if ! version_ok "$v"; then   # installed but broken (files removed by hand): reinstall once
  log "Asterisk in the chroot is '${v:-missing}'; reinstalling it"
  in_chroot apt-get -o Acquire::Check-Valid-Until=false install -y -qq --no-install-recommends \
    --reinstall asterisk asterisk-modules >>"$LOGFILE" 2>&1 || die "apt-get --reinstall failed"
  v=$(ast_version "$TMP")
fi
in_chroot apt-get clean >>"$LOGFILE" 2>&1 || true
log "installed in $((SECONDS - t0)) s"

unmount_all_under "$TMP"
[ -z "$(mounts_under "$TMP")" ] || die "something is still mounted under $TMP"
log "unmounted proc, sys, dev, dev/pts"

version_ok "$v" || die "Asterisk in the chroot is '${v:-missing}', want >= $MIN_MAJOR"

# ---- 4. publish ------------------------------------------------------------------------------
mv "$TMP" "$ROOT"
log "$v ready in $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1), $((SECONDS - start)) s)"
