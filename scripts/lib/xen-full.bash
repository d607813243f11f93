# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2026 The XenBus-rs Authors
# shellcheck shell=bash disable=SC2154
#
# Sourced by scripts/xen-full-test (PVH domU) and scripts/nt-xen-hvm-test (HVM domU): the full
# Xen stack under qemu-system-x86_64 (TCG). Debian's Xen 4.17 with Debian's Linux as PV dom0,
# running from an initramfs built here out of Debian packages that are only downloaded and
# unpacked with dpkg -x (never installed): busybox-static, the Xen userspace (xl, xenstored,
# xenconsoled) and its libraries, the dom0 kernel's modules; for an HVM domU also qemu-xen (the
# device model), hvmloader, SeaBIOS and their libraries.
#
# The sourcing script sets root, out (the work directory, shared by both scenarios: debs/ is the
# download cache), timeout_s, qemu and tag, sources scripts/lib/xen-qemu.bash first (say,
# apt_update, ensure_qemu, build_kernel), and gets:
#   full_prepare [hvm]          download and unpack (sets kver)
#   full_rootfs DIR [hvm]       the dom0 root: packages, busybox, the dom0 modules, xl; checks
#                               that every DT_NEEDED of the binaries is in the image
#   full_modules DIR M...       copies dom0 kernel modules (paths under kernel/) into DIR
#   full_pack DIR IMAGE         a reproducible newc cpio of DIR
#   full_boot LOG INITRD        one boot (QEMU's status; 124 on timeout)
#   seabios_nomenu IN OUT       SeaBIOS without the 2.5 s boot-menu wait
#   make_boot_disk ELF MODULE CMDLINE DISK   the HVM boot disk (scripts/lib/xtk-bootsector.S)
#
# Facts relied on, measured (see the project's notes on the full stack): the dom0 kernel boots
# as PV dom0 with dom0_mem=384M under -cpu max (SVM + NPT) with smap=0 (QEMU 7.2's TCG);
# bootscrub=0 keeps QEMU's RSS near 500 MiB; dom0's `reboot -f` resets the machine and
# -no-reboot turns that into QEMU exiting.

# The dom0 userspace: the closure of xl, xenstored, xen-init-dom0, xenconsoled, xenstore-utils.
full_user_pkgs=(busybox-static xen-utils-4.17 xenstore-utils libc6 libgcc-s1 libuuid1 libyajl2
    libzstd1 zlib1g liblzma5 libtinfo6 libncurses6 libxencall1 libxendevicemodel1 libxenevtchn1
    libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenmisc4.17 libxenstore4 libxentoolcore1
    libxentoollog1)
# An HVM domU's device model: qemu-xen (qemu-system-xen) and its DT_NEEDED closure, SeaBIOS, the
# iPXE option ROMs of the emulated NICs. qemu-system-data and seabios are pinned to bookworm's
# release: a host with bookworm-backports would otherwise fetch 10.0's, which qemu-xen 7.2
# does not match.
full_hvm_pkgs=(qemu-system-xen qemu-system-data/bookworm seabios/bookworm ipxe-qemu
    libblkid1 libbz2-1.0 libdw1 libelf1 libfdt1 libffi8 libglib2.0-0 libgstreamer-plugins-base1.0-0
    libgstreamer1.0-0 libjpeg62-turbo liblz4-1 libmount1 libopus0 liborc-0.4-0 libpcre2-8-0
    libpixman-1-0 libsasl2-2 libselinux1 libspice-server1 libssl3 libstdc++6 libudev1 libunwind8
    libusb-1.0-0)
full_hv_pkg=xen-hypervisor-4.17-amd64

# The dom0 kernel: bookworm's newest 6.1 ABI (old ABIs leave the archive), or XEN_FULL_KVER.
full_resolve_kver() {
    kver=${XEN_FULL_KVER:-}
    [ -n "$kver" ] && return
    local found
    found=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
        awk '{print $1}' | sort -V | tail -n1)
    if [ -z "$found" ]; then
        apt_update
        found=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
            awk '{print $1}' | sort -V | tail -n1)
    fi
    kver=${found#linux-image-}
    [ -n "$kver" ] || kver=6.1.0-56-amd64
}

# The cached .deb of package spec $1 (`name` or `name/release`, as apt-get download takes it),
# if any.
full_deb() {
    compgen -G "$out/debs/${1%%/*}_*_*.deb" | head -n1
}

full_download() {
    local missing=() p
    for p in "$@"; do
        [ -n "$(full_deb "$p")" ] || missing+=("$p")
    done
    [ "${#missing[@]}" = 0 ] && return
    say "downloading ${missing[*]} (unpacked only, never installed)"
    if ! (cd "$out/debs" && timeout 600 apt-get download "${missing[@]}" >&2 2>/dev/null); then
        apt_update
        (cd "$out/debs" && timeout 600 apt-get download "${missing[@]}" >&2)
    fi
}

full_unpack() {
    local dir=$1 p
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    for p in "$@"; do
        dpkg -x "$(full_deb "$p")" "$dir"
    done
}

# full_prepare [hvm]: everything downloaded and unpacked under $out (again only when the set
# of cached packages changed).
full_prepare() {
    local hvm=${1:-}
    mkdir -p "$out/debs"
    full_resolve_kver
    say "dom0 kernel $kver"
    full_download "${full_user_pkgs[@]}" "linux-image-$kver" "$full_hv_pkg"
    [ -z "$hvm" ] || full_download "${full_hvm_pkgs[@]}"
    if [ ! -s "$out/stamp-unpacked" ] || [ "$(cat "$out/stamp-unpacked")" != "$(ls "$out/debs")" ]; then
        say "unpacking"
        full_unpack "$out/user" "${full_user_pkgs[@]}"
        full_unpack "$out/kernel" "linux-image-$kver"
        full_unpack "$out/hv" "$full_hv_pkg"
        rm -rf "$out/hvm"
        # QEMU's multiboot loader wants the plain ELF32 inside the .gz.
        zcat "$out"/hv/boot/xen-4.17-amd64.gz >"$out/xen-4.17.elf"
        cp "$out/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
        ls "$out/debs" >"$out/stamp-unpacked"
    fi
    if [ -n "$hvm" ] && [ "$(cat "$out/hvm/.packages" 2>/dev/null)" != "${full_hvm_pkgs[*]}" ]; then
        full_unpack "$out/hvm.tmp" "${full_hvm_pkgs[@]}"
        echo "${full_hvm_pkgs[*]}" >"$out/hvm.tmp/.packages"
        rm -rf "$out/hvm"
        mv "$out/hvm.tmp" "$out/hvm"
    fi
}

# full_modules DIR PATH...: the dom0 kernel's modules (paths under lib/modules/KVER/kernel/,
# without .ko) copied flat into DIR/lib/modules and appended to its load order.
full_modules() {
    local dir=$1 m
    shift
    for m in "$@"; do
        cp "$out/kernel/lib/modules/$kver/kernel/$m.ko" "$dir/lib/modules/"
        echo "${m##*/}" >>"$dir/lib/modules/order"
    done
}

# full_rootfs DIR [hvm]: the dom0 root file system without /init and the scenario's files.
full_rootfs() {
    local rootfs=$1 hvm=${2:-} bb f lib absent=""
    rm -rf "$rootfs"
    mkdir -p "$rootfs"/{proc,sys,dev,etc/xen,root,lib/modules,tmp,var,run}
    cp -a "$out/user/." "$rootfs/"
    local files=("$rootfs"/usr/lib/xen-4.17/bin/* "$rootfs"/usr/bin/xenstore*)
    if [ -n "$hvm" ]; then
        cp -a "$out/hvm/usr/lib/." "$rootfs/usr/lib/"
        [ ! -d "$out/hvm/lib" ] || cp -a "$out/hvm/lib/." "$rootfs/lib/"
        # The PV-in-PVH shim (6 MB) is never used here.
        rm -f "$rootfs/usr/lib/xen-4.17/boot/xen-shim"
        mkdir -p "$rootfs/usr/libexec" "$rootfs/usr/share/qemu/keymaps" "$rootfs/usr/share/seabios"
        cp "$out/hvm/usr/libexec/xen-qemu-system-i386" "$rootfs/usr/libexec/"
        # libxl passes -vnc none even with vnc=0, and QEMU then loads this keymap.
        cp "$out/hvm/usr/share/qemu/keymaps/en-us" "$rootfs/usr/share/qemu/keymaps/"
        cp "$out/hvm/usr/share/seabios/bios-256k.bin" "$rootfs/usr/share/seabios/"
        # Only the option ROMs of the emulated NICs (the iPXE tree is large).
        rm -rf "$rootfs/usr/lib/ipxe"
        mkdir -p "$rootfs/usr/lib/ipxe/qemu"
        cp "$out"/hvm/usr/lib/ipxe/qemu/efi-{rtl8139,e1000}.rom "$rootfs/usr/lib/ipxe/qemu/"
        files+=("$rootfs/usr/libexec/xen-qemu-system-i386")
    fi
    rm -rf "$rootfs"/usr/share/{doc,man,locale,lintian,bug,info} \
        "$rootfs"/usr/lib/x86_64-linux-gnu/gconv "$rootfs"/usr/lib/x86_64-linux-gnu/gstreamer*
    files+=("$rootfs"/usr/lib/x86_64-linux-gnu/*.so* "$rootfs"/lib/x86_64-linux-gnu/*.so*)
    # Every DT_NEEDED of the binaries and libraries must be in the image.
    for f in "${files[@]}"; do
        for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            [ -e "$rootfs/lib/x86_64-linux-gnu/$lib" ] || [ -e "$rootfs/usr/lib/x86_64-linux-gnu/$lib" ] ||
                absent="$absent ${f#"$rootfs"}:$lib"
        done
    done
    if [ -n "$absent" ]; then
        echo "$tag: libraries missing from the dom0 image:$absent" >&2
        exit 1
    fi
    bb=$rootfs/bin/busybox
    for applet in $("$bb" --list); do
        [ -e "$rootfs/bin/$applet" ] || [ -e "$rootfs/usr/bin/$applet" ] ||
            [ -e "$rootfs/sbin/$applet" ] || [ -e "$rootfs/usr/sbin/$applet" ] ||
            ln -s busybox "$rootfs/bin/$applet"
    done
    full_modules "$rootfs" drivers/xen/xen-privcmd drivers/xen/xenfs/xenfs drivers/xen/xen-evtchn \
        drivers/xen/xen-gntdev drivers/xen/xen-gntalloc
    # Debian's /usr/sbin/xl is a wrapper script that needs bash: use the real binary.
    mkdir -p "$rootfs/usr/sbin"
    rm -f "$rootfs/usr/sbin/xl"
    ln -s /usr/lib/xen-4.17/bin/xl "$rootfs/usr/sbin/xl"
    printf '%s\n' 'autoballoon="off"' >"$rootfs/etc/xen/xl.conf"
}

# The first lines of every dom0 /init: mounts, the Xen modules, xenfs, xenstored,
# xen-init-dom0, xenconsoled. Defines say and finish.
full_init_head() {
    cat <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib/xen-4.17/lib
say() { echo "XFT-DOM0: $*"; }
finish() { say "$1"; sleep 1; reboot -f; sleep 10; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" || finish "FAIL insmod $m"
done
mount -t xenfs xenfs /proc/xen || finish "FAIL mount xenfs"
grep -q control_d /proc/xen/capabilities || finish "FAIL not the control domain"
mkdir -p /var/run/xenstored /var/lib/xenstored /var/log/xen /var/lib/xen /var/run/xen \
    /run/xen /var/lock /tmp
xenstored --pid-file /var/run/xenstored.pid || finish "FAIL xenstored"
n=0
until xenstore-read / >/dev/null 2>&1; do
    n=$((n + 1)); [ $n -lt 100 ] || finish "FAIL xenstored does not answer"; sleep 0.1
done
say "xenstored up"
xen-init-dom0 >/dev/null || finish "FAIL xen-init-dom0"
# The console backend logs what each guest writes to its console ring.
mkdir -p /var/log/xen/console
xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
    say "xenconsoled did not start"
EOF
}

# full_pack DIR IMAGE: a reproducible newc cpio (sorted entries).
full_pack() {
    (cd "$1" && find . | LC_ALL=C sort | "$1/bin/busybox" cpio -o -H newc 2>/dev/null) >"$2"
}

# full_boot LOG INITRD: Xen + the dom0 kernel + INITRD under QEMU; Xen's console (COM1) to LOG.
full_boot() {
    local log=$1 initrd=$2 rc=0
    timeout --kill-after=5 "$timeout_s" "$qemu" \
        -machine q35 -accel tcg -cpu max -m 1G -smp 2 \
        -display none -no-reboot -monitor none -nic none -serial "file:$log" \
        -kernel "$out/xen-4.17.elf" \
        -append "console=com1 com1=115200,8n1 dom0_mem=384M,max:384M dom0_max_vcpus=1 dom0-iommu=none bootscrub=0 smap=0 loglvl=all guest_loglvl=all" \
        -initrd "$out/vmlinuz console=hvc0 earlyprintk=xen nomodeset loglevel=4,$initrd" \
        </dev/null >"$log.qemu" 2>&1 || rc=$?
    return "$rc"
}

# seabios_nomenu IN OUT: SeaBIOS with the boot-menu wait at 0 ms. Without fw_cfg (no kernel=)
# nothing turns the menu off, so every HVM boot would wait 2.5 s for ESC. The wait is the
# default of romfile_loadint("etc/boot-menu-wait", 2500): `mov $2500,%edx; xor %ecx,%ecx;
# mov $<the name's address>,%eax`. The exact context must occur once, or nothing is patched.
seabios_nomenu() {
    local in=$1 dest=$2 name addr pattern at size
    size=$(stat -c %s "$in")
    name=$(LC_ALL=C grep -obUa 'etc/boot-menu-wait' "$in" | cut -d: -f1)
    if [ "$(echo "$name" | wc -w)" != 1 ]; then
        echo "$tag: SeaBIOS: etc/boot-menu-wait not found once; not patching" >&2
        return 1
    fi
    # The image ends at 1 MiB: file offset o is address 0x100000 - size + o.
    addr=$((0x100000 - size + name))
    pattern=$(printf '\\xba\\xc4\\x09\\x00\\x00\\x31\\xc9\\xb8\\x%02x\\x%02x\\x%02x\\x%02x' \
        $((addr & 0xff)) $(((addr >> 8) & 0xff)) $(((addr >> 16) & 0xff)) $(((addr >> 24) & 0xff)))
    at=$(LC_ALL=C grep -obUaP "$pattern" "$in" | cut -d: -f1)
    if [ "$(echo "$at" | wc -w)" != 1 ]; then
        echo "$tag: SeaBIOS: the boot-menu wait's code not found once; not patching" >&2
        return 1
    fi
    cp "$in" "$dest.tmp"
    printf '\000\000\000\000' | dd of="$dest.tmp" bs=1 seek=$((at + 1)) conv=notrunc status=none
    mv "$dest.tmp" "$dest"
}

# full_symbol ELF NAME: the symbol's value as 0x...
full_symbol() {
    nm "$1" | awk -v s="$2" '$3 == s { print "0x" $1 }'
}

# The dom0 peer of the inter-domain checks (crates/xen-pvh-test/dom0/xtk-peer.c): a static
# program over the kernel's Xen devices (the uapi headers of linux-libc-dev; no Xen library
# needed), left in $out/xtk-peer.
build_peer() {
    say "building the dom0 peer"
    ${CC:-gcc} -static -O2 -Wall -Wextra -Werror -o "$out/xtk-peer" \
        "$root/crates/xen-pvh-test/dom0/xtk-peer.c" >&2
}

# make_image_archive OUT NAME FILE [NAME FILE...]: several driver images as one boot module,
# as the stand-in kernel reads it (crates/xen-pvh-test/src/nt/mod.rs, `images`): "XTKIMAGE",
# a little-endian u32 count, then per image a 32-byte NUL-padded name, a u64 offset from the
# archive's start and a u64 size; the images follow, each at a 16-byte boundary.
make_image_archive() {
    local out_file=$1
    shift
    local count=$(($# / 2)) offset header i name file size
    header=$((12 + 48 * count))
    offset=$(((header + 15) / 16 * 16))
    le() { # le VALUE BYTES: VALUE little-endian in BYTES bytes, as printf escapes
        local v=$1 n=$2 k
        for ((k = 0; k < n; k++)); do
            printf '\\x%02x' $((v & 255))
            v=$((v >> 8))
        done
    }
    {
        printf 'XTKIMAGE'
        printf "$(le "$count" 4)"
        local args=("$@") o=$offset
        for ((i = 0; i < count; i++)); do
            name=${args[$((2 * i))]}
            file=${args[$((2 * i + 1))]}
            size=$(stat -c %s "$file")
            printf '%s' "$name"
            head -c $((32 - ${#name})) /dev/zero
            printf "$(le "$o" 8)"
            printf "$(le "$size" 8)"
            o=$(((o + size + 15) / 16 * 16))
        done
        head -c $((offset - header)) /dev/zero
        for ((i = 0; i < count; i++)); do
            file=${args[$((2 * i + 1))]}
            size=$(stat -c %s "$file")
            cat "$file"
            head -c $(((size + 15) / 16 * 16 - size)) /dev/zero
        done
    } >"$out_file"
}

# make_boot_disk ELF MODULE CMDLINE DISK: the HVM guest's boot disk. LBA 0 the boot sector
# (scripts/lib/xtk-bootsector.S, its numbers from the kernel's multiboot symbols), LBA 1 the
# command line, LBA 2 the kernel's flat image (pvh_image_start to pvh_load_end), then MODULE
# (loaded at the first MiB boundary past the kernel's .bss); padded to whole MiB.
make_boot_disk() {
    local elf=$1 module=$2 cmdline=$3 disk=$4 tmp start load_end bss_end entry
    tmp=$(mktemp -d)
    start=$(full_symbol "$elf" pvh_image_start)
    load_end=$(full_symbol "$elf" pvh_load_end)
    bss_end=$(full_symbol "$elf" pvh_bss_end)
    entry=$(full_symbol "$elf" mb_start32)
    if [ -z "$start" ] || [ -z "$load_end" ] || [ -z "$bss_end" ] || [ -z "$entry" ]; then
        echo "$tag: $elf has no multiboot symbols" >&2
        return 1
    fi
    objcopy -O binary "$elf" "$tmp/kernel.bin"
    local kbytes kernel_sectors module_bytes module_sectors module_lba module_load
    kbytes=$(stat -c %s "$tmp/kernel.bin")
    if [ "$kbytes" != $((load_end - start)) ]; then
        echo "$tag: flat image is $kbytes bytes, the multiboot header says $((load_end - start))" >&2
        return 1
    fi
    kernel_sectors=$(((kbytes + 511) / 512))
    module_bytes=$(stat -c %s "$module")
    module_sectors=$(((module_bytes + 511) / 512))
    module_lba=$((2 + kernel_sectors))
    module_load=$(((bss_end + 0xfffff) & ~0xfffff))
    as --32 -o "$tmp/bs.o" --defsym KERNEL_SECTORS="$kernel_sectors" --defsym KERNEL_LOAD="$start" \
        --defsym KERNEL_ENTRY="$entry" --defsym MODULE_LBA="$module_lba" \
        --defsym MODULE_SECTORS="$module_sectors" --defsym MODULE_LOAD="$module_load" \
        --defsym MODULE_BYTES="$module_bytes" "$root/scripts/lib/xtk-bootsector.S"
    ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$tmp/bs.bin" "$tmp/bs.o"
    [ "$(stat -c %s "$tmp/bs.bin")" = 512 ] || { echo "$tag: boot sector is not 512 bytes" >&2; return 1; }
    if [ "${#cmdline}" -gt 500 ]; then
        echo "$tag: command line too long" >&2
        return 1
    fi
    local total=$(((module_lba + module_sectors) * 512))
    total=$(((total + 0xfffff) & ~0xfffff))
    rm -f "$disk"
    truncate -s "$total" "$disk"
    dd if="$tmp/bs.bin" of="$disk" conv=notrunc status=none
    printf '%s\0' "$cmdline" | dd of="$disk" bs=512 seek=1 conv=notrunc status=none
    dd if="$tmp/kernel.bin" of="$disk" bs=512 seek=2 conv=notrunc status=none
    dd if="$module" of="$disk" bs=512 seek="$module_lba" conv=notrunc status=none
    rm -rf "$tmp"
    say "boot disk: kernel $kbytes bytes at $start (entry $entry), module $module_bytes bytes at $(printf '%#x' "$module_load"), $total bytes"
}
