#!/usr/bin/env bash
# Mount or unmount what a process run inside a chroot (e.g. the Asterisk 22 chroot made by
# scripts/install-asterisk22.sh) needs: a host folder at the same absolute path inside the
# chroot, plus /dev, /dev/pts and /proc.
#
#   chroot-mounts.sh up   ROOT DIR   # bind DIR to ROOT/DIR (mkdir -p), mount dev, dev/pts, proc
#   chroot-mounts.sh down ROOT DIR   # unmount ROOT/DIR, ROOT/proc, ROOT/dev/pts, ROOT/dev
#
# Both are idempotent (mountpoint -q decides) and serialised per chroot (flock). Every mount made here is marked private so that
# nothing propagates back to the host when / is a shared mount (systemd's default).
# Stop every process running inside the chroot before `down`, or the unmount reports "busy".
set -euo pipefail

log() { printf '[chroot-mounts] %s\n' "$*"; }
die() { printf '[chroot-mounts] error: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 up|down ROOT DIR" >&2; exit 2; }

[ $# -eq 3 ] || usage
cmd=$1
[ "$(id -u)" = 0 ] || die "must run as root (mount, chroot)"

root=$(realpath -e -- "$2") || die "chroot $2 does not exist"
[ "$root" != / ] || die "ROOT must not be /"
[ -d "$root/usr" ] || die "$root does not look like a chroot (no usr/)"
case $3 in /*) ;; *) die "DIR must be an absolute path: $3" ;; esac
dir=$(realpath -m -- "$3")
[ "$dir" != / ] || die "DIR must not be /"
target="$root$dir"

# Refuse a target whose path inside the chroot crosses a symlink: an absolute link such as
# ROOT/var/run -> /run would make mkdir/mount act on the host's folder instead.
check_no_symlink() {
  local p=$root part parts
  IFS=/ read -r -a parts <<<"${1#/}"
  for part in "${parts[@]}"; do
    [ -n "$part" ] || continue
    p="$p/$part"
    [ ! -L "$p" ] || die "$p is a symlink; bind into its real path instead"
  done
}

mount_private() { # mount ARGS... TARGET  (then make TARGET private)
  local t=${*: -1}
  mount "$@"
  mount --make-private "$t"
}

up() {
  check_no_symlink "$dir"
  mkdir -p -- "$dir" "$target"
  if mountpoint -q -- "$target"; then
    log "$target already mounted"
  else
    mount_private --bind "$dir" "$target"
    log "bound $dir -> $target"
  fi
  mkdir -p "$root/dev" "$root/proc"
  if ! mountpoint -q "$root/dev"; then mount_private --bind /dev "$root/dev"; log "mounted $root/dev"; fi
  mkdir -p "$root/dev/pts"
  if ! mountpoint -q "$root/dev/pts"; then
    mount_private --bind /dev/pts "$root/dev/pts"; log "mounted $root/dev/pts"
  fi
  if ! mountpoint -q "$root/proc"; then
    mount_private -t proc proc "$root/proc"; log "mounted $root/proc"
  fi
}

unmount() {
  local tries=0
  if [ -e "$1" ] && mountpoint -q -- "$1"; then
    # a process that was just stopped may hold the mount for a moment longer
    until umount -- "$1" 2>/dev/null; do
      tries=$((tries + 1))
      if [ $tries -ge 50 ]; then
        fuser -vm -- "$1" >&2 2>&1 || true
        die "cannot unmount $1 (is a process still running inside $root?)"
      fi
      sleep 0.1
    done
    log "unmounted $1"
  fi
}

# Other runtime folders still bound into this chroot (other hotline instances)?
others_bound() {
  awk -v root="$root" '$5 ~ "^"root"/" && $5 != root"/proc" && $5 !~ "^"root"/dev" {print $5}' \
    /proc/self/mountinfo | grep -q .
}

down() {
  unmount "$target"
  if others_bound; then
    log "other folders are still bound into $root: /proc and /dev stay mounted"
    return 0
  fi
  unmount "$root/proc"
  unmount "$root/dev/pts"
  unmount "$root/dev"
}

# One up or down at a time per chroot: hotline instances start and stop side by side (the
# tests run several), and a `down` that finds no other folder bound must not unmount /proc
# while another instance's `up` has just found it mounted.
exec 9>"$root/.chroot-mounts.lock"
flock 9

case $cmd in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
