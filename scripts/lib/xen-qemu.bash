# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2026 The XenBus-rs Authors
# shellcheck shell=bash disable=SC2154
#
# Sourced by scripts/xen-qemu-test and scripts/nt-xen-test: Debian's Xen 4.17 hypervisor under
# qemu-system-x86_64 (TCG) with our freestanding PVH kernel (crates/xen-pvh-test) as dom0.
#
# The sourcing script sets, before calling anything here:
#   root       the repository
#   out        its work directory (logs, the kernel's copy)
#   timeout_s  seconds per boot
#   qemu       the QEMU binary
#   tag        the prefix of progress messages
# (hence SC2154 below) and gets: say, ensure_qemu, ensure_xen (sets xen_elf), build_kernel (sets kernel) and
# boot SMP MODE LOG [MODULE].
#
# Facts relied on (measured, see the project's notes on Xen under QEMU):
# - QEMU's multiboot loader wants the plain ELF32 inside Debian's xen-4.17-amd64.gz;
# - TCG emulates AMD SVM with NPT, which PVH dom0 needs (-cpu max); q35 has no IOMMU Xen can
#   use, hence dom0-iommu=none;
# - the text after a module's path in -initrd is its command line; the first module is dom0's
#   kernel, the second dom0's initrd (the PVH start info's first module), and QEMU separates
#   modules with commas, so no path may contain a comma or a space;
# - Xen's SHUTDOWN_reboot of the hardware domain resets the machine and -no-reboot turns that
#   into QEMU exiting with status 0.

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

say() { echo "$tag: $*" >&2; }

apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        say "apt-get update"
        $sudo apt-get update -q >&2
        apt_updated=1
    fi
}

ensure_qemu() {
    command -v "$qemu" >/dev/null 2>&1 && return
    apt_update
    say "installing qemu-system-x86"
    if ! $sudo apt-get install -y -q --no-install-recommends --no-remove qemu-system-x86 >&2; then
        # bookworm's 7.2 conflicts with a preinstalled bookworm-backports qemu-utils: take QEMU
        # from bookworm-backports too.
        if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
            say "adding bookworm-backports"
            printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
                'Suites: bookworm-backports' 'Components: main' \
                'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
                $sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
            apt_updated=0
            apt_update
        fi
        $sudo apt-get install -y -q --no-install-recommends -t bookworm-backports \
            qemu-system-x86 >&2
    fi
}

# The hypervisor: XEN_ELF, or Debian's package downloaded and unpacked (never installed) once
# into the target directory, shared by the scripts that boot it.
ensure_xen() {
    local dir=${CARGO_TARGET_DIR:-$root/target}/xen-hypervisor
    xen_elf=${XEN_ELF:-$dir/xen-4.17.elf}
    [ -s "$xen_elf" ] && return
    say "fetching xen-hypervisor-4.17-amd64 (unpacked only, never installed)"
    mkdir -p "$dir/debs"
    rm -f "$dir"/debs/xen-hypervisor-4.17-amd64_*.deb
    if ! (cd "$dir/debs" && apt-get download xen-hypervisor-4.17-amd64 >&2 2>/dev/null); then
        apt_update
        (cd "$dir/debs" && apt-get download xen-hypervisor-4.17-amd64 >&2)
    fi
    rm -rf "$dir/xenpkg"
    dpkg -x "$dir"/debs/xen-hypervisor-4.17-amd64_*.deb "$dir/xenpkg"
    zcat "$dir"/xenpkg/boot/xen-4.17-amd64.gz >"$xen_elf.tmp"
    mv "$xen_elf.tmp" "$xen_elf"
}

# A path QEMU's -initrd can name: $2 copied to $out/$1, or to a fresh directory when $out
# holds a comma or a space.
initrd_path() {
    local name=$1 source=$2 path=$out/$1
    case $out in *,* | *' '*) path=$(mktemp -d)/$name ;; esac
    cp "$source" "$path"
    echo "$path"
}

build_kernel() {
    say "building the PVH test kernel"
    # The cfg switches the whole crate graph to its freestanding form (no std in `xen`, the
    # kernel's entry and linker script in xen-pvh-test); no red zone because interrupts may
    # arrive in our code; static relocation for the 32-bit entry code.
    local target_dir=${CARGO_TARGET_DIR:-$root/target}/xen-pvh
    RUSTFLAGS="--cfg xen_freestanding -C relocation-model=static -C target-feature=+crt-static -C no-redzone=yes" \
        cargo build --quiet --release -p xen-pvh-test --target x86_64-unknown-linux-gnu \
        --target-dir "$target_dir" >&2
    kernel=$(initrd_path xen-pvh-test.elf "$target_dir/x86_64-unknown-linux-gnu/release/xen-pvh-test")
}

# boot SMP MODE LOG [MODULE]: one boot with the kernel's command line `xtk.mode=MODE` and
# MODULE (a path without commas or spaces) as its first boot module; returns QEMU's status
# (124 on timeout). COM1 (Xen's console) goes to LOG, COM2 to LOG.xtr.
boot() {
    local smp=$1 mode=$2 log=$3 module=${4:-} rc=0
    timeout --kill-after=5 "$timeout_s" "$qemu" \
        -machine q35 -accel tcg -cpu max -m 1G -smp "$smp" \
        -display none -no-reboot -monitor none -nic none -serial "file:$log" \
        -serial "file:$log.xtr" \
        -kernel "$xen_elf" \
        -append "console=com1 dom0=pvh dom0-iommu=none dom0_mem=64M loglvl=all guest_loglvl=all" \
        -initrd "$kernel xtk.mode=$mode${module:+,$module}" </dev/null >"$log.qemu" 2>&1 || rc=$?
    return "$rc"
}
