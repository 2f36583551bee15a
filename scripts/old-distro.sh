#!/usr/bin/env bash
# sudo bash scripts/old-distro.sh [SUITE]   (default: bullseye, glibc 2.31)
#
# Loads the packed prebuild on an older Debian, as a user there would get
# it: debootstrap (minbase) makes the distribution in a folder under
# $TMPDIR (kept for later runs), `npm pack`'s tarball is unpacked into
# node_modules there with node-gyp-build beside it, this machine's node is
# copied in (official Node.js 18/20 binaries need glibc 2.28), and
# scripts/old-distro-smoke.js runs in a chroot: sync, timed and async waits,
# a worker terminated in a sync wait, against scripts/lib/semctl.c linked
# statically. Needs root, debootstrap and the Debian mirror; not part of
# `npm test`.
set -euo pipefail

suite="${1:-bullseye}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${TMPDIR:-/tmp}/posix-semaphore-$suite"
work="$(mktemp -d)"

cleanup() {
  for m in "$dir/dev/shm" "$dir/proc"; do
    if mountpoint -q "$m"; then umount "$m"; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$dir/bin/sh" ]; then
  debootstrap --variant=minbase "$suite" "$dir" http://deb.debian.org/debian
fi

(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
app="$dir/opt/app"
rm -rf "$app"
mkdir -p "$app/node_modules/posix-semaphore"
tar xzf "$work"/posix-semaphore-*.tgz -C "$app/node_modules/posix-semaphore" --strip-components=1
cp -r "$root/node_modules/node-gyp-build" "$app/node_modules/"
cp "$root/scripts/old-distro-smoke.js" "$app/smoke.js"
cp "$(readlink -f "$(command -v node)")" "$dir/usr/local/bin/node"
cc -O2 -static -pthread -o "$dir/semctl" "$root/scripts/lib/semctl.c"

mkdir -p "$dir/dev/shm"
mount --bind /dev/shm "$dir/dev/shm"
mount -t proc proc "$dir/proc"
echo "old-distro: $(chroot "$dir" /usr/bin/ldd --version | head -1)"
chroot "$dir" /bin/sh -c 'cd /opt/app && exec /usr/local/bin/node smoke.js'
