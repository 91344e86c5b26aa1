# Sourced after bindings/paths.sh by the scripts that run Swift on Linux:
# a Debian 13 chroot with swiftlang, made once with debootstrap and kept in
# $TEND_CACHE/swift-root, and a way to run a command inside it.
sysroot="$cache/swift-root"
as_root=$( [ "$(id -u)" = 0 ] && echo "" || echo sudo )

# Makes the chroot if it is not there (about 3 minutes and 3 GB, once).
swift_root_ready() {
  [ -e "$sysroot/.tend-ready" ] && return
  echo "Making a Debian 13 chroot with Swift in $sysroot (once; about 3 GB)"
  command -v debootstrap >/dev/null || { $as_root apt-get update -qq; $as_root apt-get install -y -qq debootstrap; }
  if mountpoint -q "$sysroot/proc" 2>/dev/null; then
    echo "something is still mounted in $sysroot; not touching it" >&2
    exit 1
  fi
  $as_root rm -rf "$sysroot"
  $as_root debootstrap --variant=minbase --include=swiftlang,libc6-dev,libstdc++-14-dev \
    trixie "$sysroot" http://deb.debian.org/debian
  $as_root touch "$sysroot/.tend-ready"
}

# Runs a shell command line inside the chroot, /proc, /dev and /sys bound
# for the call only; the caller copies what it needs into $sysroot/work.
in_swift_root() {
  local m status=0
  for m in proc dev sys; do
    mountpoint -q "$sysroot/$m" || $as_root mount --bind "/$m" "$sysroot/$m"
  done
  $as_root chroot "$sysroot" /bin/sh -c "HOME=/work $1" || status=$?
  for m in sys dev proc; do
    mountpoint -q "$sysroot/$m" && $as_root umount "$sysroot/$m" || true
  done
  return "$status"
}
