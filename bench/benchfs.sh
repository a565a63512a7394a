#!/usr/bin/env bash
# benchfs.sh - a loop-mounted scratch file system for benchmarks (root only).
#
#   bench/benchfs.sh up   DIR [ext4|xfs] [SIZE]   make DIR.img (sparse), mount it on DIR
#   bench/benchfs.sh down DIR                     unmount, detach, remove the image
#
# Why: an ext4 without a journal (the root file system of these VMs) refuses
# to reuse recently freed inodes, so file creation collapses for minutes after
# a large delete and any "delete the target, copy again" loop measures that.
# A journaled ext4 on a loop device behaves; xfs is made with reflink=1 to
# measure the reflink fast path.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,11p' "$0"; exit 2; }
img=$dir.img
case "$cmd" in
  up)
    fs=${3:-ext4}; size=${4:-24G}
    truncate -s "$size" "$img"
    dev=$(losetup -f --show --direct-io=on "$img")
    case "$fs" in
      ext4) mkfs.ext4 -q -F "$dev" ;;
      xfs) mkfs.xfs -q -f -m reflink=1 "$dev" ;;
      *) losetup -d "$dev"; rm -f "$img"; echo "benchfs: ext4 or xfs" >&2; exit 2 ;;
    esac
    mkdir -p "$dir"
    mount -o noatime "$dev" "$dir"
    echo "benchfs: $fs on $dev mounted at $dir" ;;
  down)
    dev=$(findmnt -no SOURCE "$dir" || true)
    umount "$dir"
    [ -n "$dev" ] && losetup -d "$dev" 2>/dev/null || true
    rm -f "$img"
    rmdir "$dir" 2>/dev/null || true ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
