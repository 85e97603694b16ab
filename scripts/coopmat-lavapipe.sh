#!/usr/bin/env bash
# Runs a command with a software Vulkan driver that has cooperative matrices
# (VK_KHR_cooperative_matrix): Mesa >= 26.1 lavapipe, as the ONLY Vulkan driver. Debian 12's
# own lavapipe (Mesa 22.3) has none, so on first use this provisions one from Debian's
# packages: a Debian 13 (trixie) minbase root made with debootstrap, with
# mesa-vulkan-drivers from trixie-backports and the Vulkan loader (libvulkan1) in it. That
# Mesa needs Debian 13's glibc, so programs built here run against the root through the
# root's own dynamic loader (no chroot, no mounts, nothing to clean up afterwards):
#
#   ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path LIBDIRS BINARY ARGS
#
# Through wgpu 30 the driver shows as "llvmpipe (LLVM 19.1.7, 256 bits)" with
# EXPERIMENTAL_COOPERATIVE_MATRIX, configs 8x8x8 f16->f16 and f16->f32, subgroup size 8.
#
# Usage (from anywhere; paths are relative to the current directory):
#   scripts/coopmat-lavapipe.sh [--direct] CMD [ARGS...]   provision if needed, then run CMD
#   scripts/coopmat-lavapipe.sh --check    provision if needed and verify; print a summary
#   scripts/coopmat-lavapipe.sh --env      provision if needed; print `export VAR=...` lines
#                                          (eval "$(scripts/coopmat-lavapipe.sh --env)")
#   scripts/coopmat-lavapipe.sh --help
# e.g.
#   scripts/coopmat-lavapipe.sh target/release/flopcost devices
#   scripts/coopmat-lavapipe.sh target/debug/deps/kernels-0123abcd --test-threads=1 coopmat
#   scripts/coopmat-lavapipe.sh cargo test --test kernels coopmat
#
# How CMD is run:
#   - an ELF executable (a path, or a name found on PATH), except cargo: through the root's
#     dynamic loader, as above, so it gets the root's glibc, Vulkan loader, Mesa and LLVM.
#     Caveat: in such a process /proc/self/exe (Rust's std::env::current_exe()) names the
#     loader, not CMD; argv[0] is still CMD.
#   - cargo (by its name): run as it is, with CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
#     set to this script (unless already set), so each test, bench or `cargo run` binary
#     that cargo starts goes through the root's loader; rustc and build scripts run natively.
#   - anything else (a shell script, a builtin), or any CMD after --direct: run as it is,
#     with the variables below exported.
#   A program started natively (not through the loader) with these variables cannot load
#   the driver (wrong glibc) and sees no Vulkan device at all -- never the host's Mesa.
#   So a test that spawns a Vulkan program (e.g. the flopcost binary) must spawn it as
#   "$FLOPCOST_COOPMAT_LDSO" --library-path "$FLOPCOST_COOPMAT_LIBPATH" BINARY ARGS
#   when FLOPCOST_COOPMAT_LDSO is set (or as "$FLOPCOST_COOPMAT_RUNNER" BINARY ARGS).
#   LD_LIBRARY_PATH is never set: Debian 13's libc would break every host program.
#
# Environment read:
#   FLOPCOST_COOPMAT_ROOT    the cache folder (default: .cache/coopmat-lavapipe/ in the
#                            repository root; git must ignore it). No ':' '"' '\' in it.
#   FLOPCOST_COOPMAT_MIRROR  Debian mirror (default: http://deb.debian.org/debian)
# Environment exported to CMD (and printed by --env):
#   FLOPCOST_COOPMAT_ROOT     the cache folder, absolute
#   FLOPCOST_COOPMAT_LDSO     the root's ld-linux-x86-64.so.2
#   FLOPCOST_COOPMAT_LIBPATH  the root's library folders, for --library-path
#   FLOPCOST_COOPMAT_RUNNER   this script, absolute (RUNNER BINARY ARGS == the LDSO line)
#   FLOPCOST_COOPMAT_MESA     the installed mesa-vulkan-drivers version
#   VK_DRIVER_FILES, VK_ICD_FILENAMES  only the root's lavapipe ICD json (a copy with an
#                            absolute library_path), so no other driver is visible;
#                            VK_ADD_DRIVER_FILES is unset
#   VK_LOADER_LAYERS_DISABLE  ~implicit~ unless set: the host's implicit layers (Mesa 22.3's
#                            device_select) are built for the host's libraries
#
# Cache layout: root/ (the Debian 13 root), lvp_icd.json, stamp (written last, only after
# a verified provisioning: without it, or with an older recipe, everything is redone),
# provision.log (the output of the last provisioning), .lock (flock). A root left half
# made by an interrupted run is in root.new/ or lacks the stamp, and is removed and redone.
# A fresh provisioning takes 1-1.5 minutes and ~420 MB; a cached call adds ~70 ms.
# Needs, to provision: x86-64 Debian (or derivative) with apt, root (sudo -n is tried
# otherwise), network to the mirror. Exit status: CMD's own; 1 when provisioning or
# verification failed (the message names the step and what to do); 2 for bad usage.
set -euo pipefail

RECIPE=1 # bump when the provisioning changes: older caches are then redone
MIN_MESA=26.1
SUITE=trixie

prog=coopmat-lavapipe
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
MIRROR=${FLOPCOST_COOPMAT_MIRROR:-http://deb.debian.org/debian}

say() { echo "$prog: $*" >&2; }
die() { # die STEP WHAT-TO-DO...: a provisioning failure
  local step=$1
  shift
  say "FAILED at step: $step"
  local line
  for line in "$@"; do say "  $line"; done
  exit 1
}
usage_error() {
  say "$*"
  say "usage: $0 [--direct] CMD [ARGS...] | --check | --env | --help"
  exit 2
}

# --- Arguments ---------------------------------------------------------------------------
mode=run
direct=0
while [ $# -gt 0 ]; do
  case $1 in
    --help | -h)
      sed -n '2,/^set -euo pipefail/p' "$SELF" | sed '$d' | sed -E 's/^# ?//'
      exit 0
      ;;
    --check | --env)
      [ "$direct" = 0 ] || usage_error "--direct takes a command, not $1"
      mode=${1#--}
      shift
      [ $# -eq 0 ] || usage_error "--$mode takes no arguments"
      ;;
    --direct)
      direct=1
      shift
      ;;
    --)
      shift
      break
      ;;
    -*) usage_error "unknown option: $1" ;;
    *) break ;;
  esac
done
if [ "$mode" = run ] && [ $# -eq 0 ]; then usage_error "no command given"; fi

# What CMD is (checked before provisioning, so a typo costs nothing).
path=
if [ "$mode" = run ]; then
  cmd=$1
  shift
  if [[ $cmd == */* ]]; then
    path=$cmd
  elif [ "$(type -t -- "$cmd" || true)" = file ]; then
    path=$(type -P -- "$cmd")
  fi
  if [ "$direct" = 0 ] && [ -n "$path" ]; then
    [ -e "$path" ] || usage_error "no such file: $path"
    if [ ! -f "$path" ] || [ ! -x "$path" ]; then usage_error "not an executable file: $path"; fi
  fi
fi

# --- Paths -------------------------------------------------------------------------------
CACHE=${FLOPCOST_COOPMAT_ROOT:-$REPO/.cache/coopmat-lavapipe}
case $CACHE in
  *:* | *'"'* | *\\* | *$'\n'*)
    usage_error "FLOPCOST_COOPMAT_ROOT must not contain ':', '\"', '\\' or a newline: $CACHE"
    ;;
esac
mkdir -p "$CACHE" 2>/dev/null || usage_error "cannot create the cache folder $CACHE"
CACHE=$(cd "$CACHE" && pwd)
ROOT=$CACHE/root
NEW=$CACHE/root.new
STAMP=$CACHE/stamp
ICD=$CACHE/lvp_icd.json
LOG=$CACHE/provision.log
LIBDIR=usr/lib/x86_64-linux-gnu
LDSO_REL=$LIBDIR/ld-linux-x86-64.so.2
LDSO=$ROOT/$LDSO_REL
LIBPATH=$ROOT/$LIBDIR:$ROOT/lib/x86_64-linux-gnu

stamp_get() { sed -n "s/^$1=//p" "$STAMP" 2>/dev/null | head -n1; }

# The stamp is valid for this recipe and this cache folder, and what it names is there.
provisioned() {
  [ -f "$STAMP" ] && [ "$(stamp_get recipe)" = "$RECIPE" ] &&
    [ "$(stamp_get cache)" = "$CACHE" ] && [ -f "$ICD" ] && [ -x "$LDSO" ] &&
    [ -f "$(stamp_get lib)" ]
}

# --- Provisioning ------------------------------------------------------------------------
T0=$SECONDS
step() { say "[$((SECONDS - T0))s] $*"; }

# Run in the new root with a clean environment (no host locale: C.UTF-8 is built into
# glibc, so no locale warnings; proxies are passed on).
in_new() {
  local -a envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LC_ALL=C.UTF-8
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true)
  local v
  for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY; do
    if [ -n "${!v:-}" ]; then envs+=("$v=${!v}"); fi
  done
  env -i "${envs[@]}" chroot "$NEW" "$@"
}

# Unmounts whatever is mounted at or under $1 (left by an interrupted debootstrap).
unmount_under() {
  local dir=$1 m
  [ -r /proc/self/mounts ] || return 0
  while IFS= read -r m; do
    [ -n "$m" ] || continue
    umount -l "$m" 2>/dev/null || umount "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '{ p = $2; gsub(/\\040/, " ", p) }
             p == d || index(p, d "/") == 1 { print p }' /proc/self/mounts | sort -r)
}

remove_tree() { # remove_tree DIR: never crosses into a mount left inside it
  [ -e "$1" ] || return 0
  unmount_under "$1"
  if awk -v d="$1" '{ p = $2; gsub(/\\040/, " ", p) }
       p == d || index(p, d "/") == 1 { f = 1 } END { exit !f }' /proc/self/mounts 2>/dev/null; then
    die "cleanup of $1" "something is still mounted under it (see /proc/self/mounts);" \
      "unmount it (umount -R $1), then rerun"
  fi
  rm -rf --one-file-system "$1" ||
    die "cleanup of $1" "could not remove it; remove it by hand, then rerun"
}

show_log_tail() {
  say "  last lines of $LOG:"
  tail -n 25 "$LOG" 2>/dev/null | sed 's/^/    | /' >&2 || true
}

# Writes $ICD: the root's lvp json with library_path made absolute (inside $ROOT). Prints
# the library's path.
write_icd() {
  local src rel lib esc
  src=$(find "$ROOT/usr/share/vulkan/icd.d" -maxdepth 1 -name 'lvp_icd*.json' 2>/dev/null |
    sort | head -n1)
  [ -n "$src" ] || die "ICD json" "the root has no usr/share/vulkan/icd.d/lvp_icd*.json:" \
    "mesa-vulkan-drivers is not (fully) installed; remove $CACHE and rerun"
  rel=$(sed -n -E 's/.*"library_path"[[:space:]]*:[[:space:]]*"([^"]*)".*/\1/p' "$src" | head -n1)
  case $rel in
    "") die "ICD json" "no library_path in $src" ;;
    /*) lib=$ROOT$rel ;;
    */*) lib=$(dirname "$src")/$rel ;;
    *) lib=$ROOT/$LIBDIR/$rel ;;
  esac
  [ -f "$lib" ] || die "ICD json" "$src names $rel, but $lib does not exist;" \
    "remove $CACHE and rerun"
  esc=$(printf '%s' "$lib" | sed -e 's/[&|\\]/\\&/g')
  sed -E "s|(\"library_path\"[[:space:]]*:[[:space:]]*)\"[^\"]*\"|\\1\"$esc\"|" "$src" >"$ICD.tmp"
  mv -f "$ICD.tmp" "$ICD"
  printf '%s\n' "$lib"
}

provision() {
  [ "$(uname -m)" = x86_64 ] ||
    die "host check" "this machine is $(uname -m); only x86-64 is supported"
  if ! { command -v apt-get && command -v dpkg; } >/dev/null; then
    die "host check" "no apt-get/dpkg: provisioning needs a Debian (or derivative) host"
  fi

  say "provisioning Mesa >= $MIN_MESA lavapipe in $CACHE (once; 1-1.5 minutes;" \
    "full log: $LOG)"
  : >"$LOG"
  if [ -e "$NEW" ] || [ -e "$ROOT" ]; then
    step "0/5 removing an older or half-made root (interrupted or failed run, older recipe)"
  fi
  remove_tree "$NEW"
  remove_tree "$ROOT"
  rm -f "$STAMP" "$ICD"

  # 1. debootstrap on the host.
  export PATH=$PATH:/usr/sbin:/sbin
  if ! command -v debootstrap >/dev/null; then
    step "1/5 installing debootstrap (host apt)"
    {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
    } >>"$LOG" 2>&1 || {
      show_log_tail
      die "1/5 host apt-get install debootstrap" \
        "check the network and the host's apt sources (apt-get update), or install" \
        "debootstrap by hand, then rerun"
    }
  fi

  # 2. A Debian 13 minbase root, in root.new/ until verified.
  step "2/5 debootstrap --variant=minbase $SUITE ($MIRROR)"
  local -a keyring=()
  if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
    keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
  fi
  local script=/usr/share/debootstrap/scripts/sid # trixie's script is a link to it
  [ -e "/usr/share/debootstrap/scripts/$SUITE" ] && script=/usr/share/debootstrap/scripts/$SUITE
  if ! LC_ALL=C debootstrap --variant=minbase "${keyring[@]}" "$SUITE" "$NEW" "$MIRROR" \
    "$script" >>"$LOG" 2>&1; then
    show_log_tail
    remove_tree "$NEW"
    die "2/5 debootstrap $SUITE" \
      "usual causes: no network to $MIRROR (set FLOPCOST_COOPMAT_MIRROR), a keyring" \
      "without Debian 13's keys ('Release signed by unknown key': apt-get install" \
      "--only-upgrade debian-archive-keyring), no disk space, or not really root"
  fi

  # 3. trixie-backports, DNS, no services.
  step "3/5 configuring apt in the root ($SUITE-backports)"
  echo "deb $MIRROR $SUITE-backports main" >"$NEW/etc/apt/sources.list.d/$SUITE-backports.list"
  if [ -e /etc/resolv.conf ]; then cp -L /etc/resolv.conf "$NEW/etc/resolv.conf" 2>/dev/null || true; fi
  printf '#!/bin/sh\nexit 101\n' >"$NEW/usr/sbin/policy-rc.d"
  chmod +x "$NEW/usr/sbin/policy-rc.d"

  # 4. Mesa from trixie-backports, and the Vulkan loader.
  step "4/5 apt-get install -t $SUITE-backports mesa-vulkan-drivers libvulkan1 (in the root)"
  if ! in_new apt-get update -q >>"$LOG" 2>&1; then
    show_log_tail
    remove_tree "$NEW"
    die "4/5 apt-get update in the $SUITE root" \
      "the root cannot reach $MIRROR (DNS from /etc/resolv.conf, proxy, or mirror down);" \
      "fix the network or set FLOPCOST_COOPMAT_MIRROR, then rerun"
  fi
  if ! in_new apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends \
    -t "$SUITE-backports" \
    mesa-vulkan-drivers libvulkan1 >>"$LOG" 2>&1; then
    show_log_tail
    remove_tree "$NEW"
    die "4/5 apt-get install mesa-vulkan-drivers from $SUITE-backports (in the root)" \
      "see the log above: a download failure (rerun) or a dependency problem in" \
      "$SUITE-backports (the package set changed: adapt this script)"
  fi
  in_new apt-get clean >>"$LOG" 2>&1 || true
  rm -rf "$NEW"/var/lib/apt/lists/* 2>/dev/null || true

  # 5. Verify, then move into place; the stamp comes last.
  step "5/5 verifying"
  local mesa
  # shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's
  mesa=$(in_new dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>>"$LOG") || mesa=""
  if [ -z "$mesa" ] || ! dpkg --compare-versions "$mesa" ge "$MIN_MESA~"; then
    remove_tree "$NEW"
    die "5/5 version check" \
      "mesa-vulkan-drivers in the root is '${mesa:-not installed}', need >= $MIN_MESA" \
      "(no VK_KHR_cooperative_matrix before); $SUITE-backports no longer carries it:" \
      "adapt SUITE in this script (e.g. the next Debian release)"
  fi
  local real new_real
  real=$(readlink -f "$NEW/$LDSO_REL" 2>/dev/null || true)
  new_real=$(readlink -f "$NEW")
  if [ ! -x "$NEW/$LDSO_REL" ] || [[ $real != "$new_real"/* ]]; then
    die "5/5 dynamic loader" "$NEW/$LDSO_REL is missing (or leads out of the root)"
  fi
  rm -f "$NEW/usr/sbin/policy-rc.d"
  mv "$NEW" "$ROOT" || die "5/5 moving the root into place" "could not mv $NEW $ROOT"

  local lib
  lib=$(write_icd)
  grep -q VK_KHR_cooperative_matrix "$lib" ||
    die "5/5 driver check" "$lib has no VK_KHR_cooperative_matrix; remove $CACHE, rerun"
  local missing
  missing=$("$LDSO" --library-path "$LIBPATH" --list "$lib" 2>&1 | grep 'not found' || true)
  [ -z "$missing" ] ||
    die "5/5 driver libraries" "$lib cannot be loaded: $missing" "remove $CACHE and rerun"
  [ -f "$ROOT/$LIBDIR/libvulkan.so.1" ] ||
    die "5/5 Vulkan loader" "the root has no $LIBDIR/libvulkan.so.1 (libvulkan1)"

  printf 'recipe=%s\ncache=%s\nmesa=%s\nlib=%s\n' "$RECIPE" "$CACHE" "$mesa" "$lib" \
    >"$STAMP.tmp"
  mv -f "$STAMP.tmp" "$STAMP"
  step "ready: mesa-vulkan-drivers $mesa, $(du -sh "$ROOT" 2>/dev/null | cut -f1) in $ROOT"
}

ensure_provisioned() {
  provisioned && return 0
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      say "not root: provisioning through sudo"
      sudo -n env FLOPCOST_COOPMAT_ROOT="$CACHE" FLOPCOST_COOPMAT_MIRROR="$MIRROR" \
        "$SELF" --check >&2 || exit 1
      provisioned && return 0
    fi
    die "permissions" "provisioning (debootstrap, chroot) needs root; run once as root:" \
      "sudo FLOPCOST_COOPMAT_ROOT=$CACHE $SELF --check"
  fi
  command -v flock >/dev/null || { provision; return 0; }
  exec 9>"$CACHE/.lock"
  flock 9
  provisioned || provision # another run may have finished it meanwhile
  exec 9>&-
}

ensure_provisioned
MESA=$(stamp_get mesa)

export FLOPCOST_COOPMAT_ROOT=$CACHE
export FLOPCOST_COOPMAT_LDSO=$LDSO
export FLOPCOST_COOPMAT_LIBPATH=$LIBPATH
export FLOPCOST_COOPMAT_RUNNER=$SELF
export FLOPCOST_COOPMAT_MESA=$MESA
export VK_DRIVER_FILES=$ICD
export VK_ICD_FILENAMES=$ICD
unset VK_ADD_DRIVER_FILES
export VK_LOADER_LAYERS_DISABLE=${VK_LOADER_LAYERS_DISABLE:-~implicit~}

case $mode in
  check)
    echo "$prog: ready: mesa-vulkan-drivers $MESA (VK_KHR_cooperative_matrix) in $ROOT"
    echo "$prog: driver $(stamp_get lib), ICD $ICD"
    exit 0
    ;;
  env)
    for v in FLOPCOST_COOPMAT_ROOT FLOPCOST_COOPMAT_LDSO FLOPCOST_COOPMAT_LIBPATH \
      FLOPCOST_COOPMAT_RUNNER FLOPCOST_COOPMAT_MESA VK_DRIVER_FILES VK_ICD_FILENAMES \
      VK_LOADER_LAYERS_DISABLE; do
      printf "export %s='%s'\n" "$v" "${!v//\'/\'\\\'\'}"
    done
    echo "unset VK_ADD_DRIVER_FILES"
    exit 0
    ;;
esac

# --- Running CMD -------------------------------------------------------------------------
if [ "$direct" = 0 ] && [ -n "$path" ] && [ "$(basename -- "$cmd")" = cargo ]; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=${CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER:-$SELF}
  exec "$cmd" "$@"
fi
if [ "$direct" = 0 ] && [ -n "$path" ]; then
  if [ "$(head -c 4 -- "$path")" = $'\x7fELF' ]; then
    exec "$LDSO" --library-path "$LIBPATH" "$path" "$@"
  fi
fi
exec "$cmd" "$@"
