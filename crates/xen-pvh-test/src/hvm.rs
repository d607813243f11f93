// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The HVM guest's emulated machine as Windows sees it: PCI configuration space through ports
//! `0xCF8`/`0xCFC`, the functions qemu-xen provides (the Xen platform device, the PIIX3 IDE
//! controller with the boot disk, the emulated NIC), the PDO record PnP would keep for each
//! ([`xen_pvh_test::pci::Pdo`]), and what the emulated-device unplug does to them.
//!
//! [`enumerate`] prints one `XTK-PCI:` line per function and BAR, and `XTK-PDO:` lines with the
//! IDs and raw resources of each function a driver would bind to (the platform device, the IDE
//! controller, the NIC), then checks what the Xen platform device must look like for xen.sys
//! and xenbus.sys: vendor 0x5853, an I/O BAR of 256 ports, a 16 MiB prefetchable memory BAR,
//! INTA routed. [`after_unplug`] checks what QEMU did once xen.sys wrote its unplug masks: the
//! emulated NIC is gone from configuration space, the IDE disk no longer answers, the platform
//! device stays.

use crate::harness::check;
use crate::kprintln;
use alloc::string::String;
use alloc::vec::Vec;
use core::arch::asm;
use core::fmt::Write as _;
use xen_pvh_test::pci::{self, Bdf, ConfigSpace, Function, Pdo};

/// Configuration mechanism #1.
const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
/// The primary IDE channel's drive/head and status registers (legacy ports; the PIIX3 runs in
/// compatibility mode).
const ATA_DRIVE: u16 = 0x1f6;
const ATA_STATUS: u16 = 0x1f7;
/// `DRDY | DSC`: a present, idle ATA disk.
pub const ATA_READY: u8 = 0x50;

fn outl(port: u16, value: u32) {
    // SAFETY: only called with the PCI configuration ports, which an HVM guest owns.
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack)) };
}

fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: as `outl`.
    unsafe { asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack)) };
    value
}

/// Configuration space through ports `0xCF8`/`0xCFC` (the kernel runs with interrupts off, so
/// nothing else uses the address register between the two accesses). The stand-in's PCI bus
/// driver serves `BUS_INTERFACE_STANDARD` and `IRP_MN_READ_CONFIG` through it too.
pub struct Ports;

impl ConfigSpace for Ports {
    fn read32(&mut self, at: Bdf, offset: u8) -> u32 {
        outl(CONFIG_ADDRESS, at.config_address(offset));
        inl(CONFIG_DATA)
    }

    fn write32(&mut self, at: Bdf, offset: u8, value: u32) {
        outl(CONFIG_ADDRESS, at.config_address(offset));
        outl(CONFIG_DATA, value);
    }
}

/// The status of the primary channel's master disk (`0x50` while the emulated disk is there).
pub fn ata_status() -> u8 {
    let value: u8;
    // SAFETY: selecting the master on the primary IDE channel and reading its status register
    // have no effect on memory; nothing else drives the emulated IDE controller.
    unsafe {
        asm!("out dx, al", in("dx") ATA_DRIVE, in("al") 0xa0u8, options(nomem, nostack));
    }
    // SAFETY: as above.
    unsafe { asm!("in al, dx", in("dx") ATA_STATUS, out("al") value, options(nomem, nostack)) };
    value
}

/// What answered at one position of an IDE channel ([`ata_identify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtaDevice {
    /// An ATAPI device (a CD/DVD drive) rather than an ATA disk.
    pub packet: bool,
    /// The model string of its IDENTIFY data (40 characters, trailing blanks kept).
    pub model: String,
    /// The firmware revision (8 characters).
    pub firmware: String,
}

/// The legacy command-block and control ports of IDE channel `channel` (0 primary, 1
/// secondary; the PIIX3 runs in compatibility mode).
const fn ata_ports(channel: u8) -> (u16, u16) {
    if channel == 0 {
        (0x1f0, 0x3f6)
    } else {
        (0x170, 0x376)
    }
}

fn outb(port: u16, value: u8) {
    // SAFETY: only called with an IDE channel's legacy ports, which the HVM guest owns and
    // nothing else drives while the stand-in probes; no memory is touched.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack)) };
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as `outb`.
    unsafe { asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack)) };
    value
}

/// `BSY`, `DRQ` and `ERR` of the ATA status register.
const ATA_BSY: u8 = 0x80;
const ATA_DRQ: u8 = 0x08;
const ATA_ERR: u8 = 0x01;

/// Issues `command` to the selected device and reads its 256-word IDENTIFY block, if it
/// answers with data.
fn ata_read_identify(base: u16, command: u8) -> Option<[u16; 256]> {
    outb(base + 7, command);
    let mut status = ATA_BSY;
    for _ in 0..100_000 {
        status = inb(base + 7);
        if status & ATA_BSY == 0 {
            break;
        }
    }
    if status & (ATA_BSY | ATA_ERR) != 0 || status & ATA_DRQ == 0 {
        return None;
    }
    let mut words = [0u16; 256];
    let buffer = words.as_mut_ptr();
    // SAFETY: `rep insw` of 256 words from the channel's data port into `words`, which holds
    // exactly 256; the direction flag is clear (the ABI guarantees it).
    unsafe {
        asm!(
            "rep insw",
            in("dx") base,
            inout("rdi") buffer => _,
            inout("rcx") 256usize => _,
            options(nostack)
        );
    }
    Some(words)
}

/// The ATA string in IDENTIFY words `words` (two characters per word, high byte first).
fn ata_string(words: &[u16]) -> String {
    words
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .map(|b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect()
}

/// Probes position `target` (0 master, 1 slave) of IDE channel `channel` as atapi.sys does:
/// selects the device with its interrupt masked (`nIEN`), then `IDENTIFY DEVICE`; a device that
/// aborts it with the ATAPI signature (`0x14`/`0xEB`) gets `IDENTIFY PACKET DEVICE`. `None`
/// when nothing answers (a status of `0x00` or `0xFF`: no device there, or QEMU unplugged it).
pub fn ata_identify(channel: u8, target: u8) -> Option<AtaDevice> {
    let (base, control) = ata_ports(channel);
    outb(control, 0x02);
    outb(base + 6, 0xa0 | (target & 1) << 4);
    // The 400 ns a device needs after a select: four reads of the alternate status.
    for _ in 0..4 {
        let _ = inb(control);
    }
    let status = inb(base + 7);
    if status == 0 || status == 0xff {
        return None;
    }
    let (words, packet) = match ata_read_identify(base, 0xec) {
        Some(words) => (words, false),
        None if inb(base + 4) == 0x14 && inb(base + 5) == 0xeb => {
            (ata_read_identify(base, 0xa1)?, true)
        }
        None => return None,
    };
    Some(AtaDevice {
        packet,
        model: ata_string(words.get(27..47).unwrap_or(&[])),
        firmware: ata_string(words.get(23..27).unwrap_or(&[])),
    })
}

/// Enumerates bus 0.
pub fn scan() -> Vec<Function> {
    pci::enumerate(&mut Ports)
}

fn report_function(f: &Function) {
    let pin = match f.interrupt_pin {
        0 => String::from("none"),
        p => alloc::format!("INT{}", char::from(b'A' + (p - 1).min(3))),
    };
    kprintln!(
        "XTK-PCI: {} {:04x}:{:04x} class {:02x}{:02x}{:02x} rev {:02x} subsys {:04x}:{:04x} \
         pin {pin} line {} ({})",
        f.bdf,
        f.vendor,
        f.device,
        f.class,
        f.subclass,
        f.prog_if,
        f.revision,
        f.subsystem_vendor,
        f.subsystem,
        f.interrupt_line,
        f.description()
    );
    for bar in &f.bars {
        kprintln!(
            "XTK-PCI:   BAR{} {:?} base {:#x} size {:#x}{}",
            bar.index,
            bar.kind,
            bar.base,
            bar.size,
            if bar.prefetchable {
                " prefetchable"
            } else {
                ""
            }
        );
    }
}

fn report_pdo(f: &Function, pdo: &Pdo) {
    kprintln!("XTK-PDO: {} DeviceID {}", f.bdf, pdo.device_id);
    kprintln!(
        "XTK-PDO: {} InstanceID {} ({})",
        f.bdf,
        pdo.instance_id,
        pdo.location
    );
    for id in &pdo.hardware_ids {
        kprintln!("XTK-PDO: {} HardwareID {id}", f.bdf);
    }
    for id in &pdo.compatible_ids {
        kprintln!("XTK-PDO: {} CompatibleID {id}", f.bdf);
    }
    for r in &pdo.resources {
        kprintln!("XTK-PDO: {} raw resource {r}", f.bdf);
    }
    let list = pci::cm_resource_list(u32::from(f.bdf.bus), &pdo.resources);
    let mut hex = String::new();
    for b in &list {
        let _ = write!(hex, "{b:02x}");
    }
    for chunk in hex.as_bytes().chunks(160) {
        kprintln!(
            "XTK-PDO: {} CM_RESOURCE_LIST[{}] {}",
            f.bdf,
            list.len(),
            core::str::from_utf8(chunk).unwrap_or("?")
        );
    }
}

/// The platform device's PDO record, for the PnP work that starts xen.sys and xenbus.sys on it.
pub static PLATFORM_PDO: spin::Once<Pdo> = spin::Once::new();

/// Scans, reports and checks the emulated machine before xen.sys loads.
pub fn enumerate() -> Vec<Function> {
    let functions = scan();
    for f in &functions {
        report_function(f);
    }
    for f in functions
        .iter()
        .filter(|f| f.is_xen_platform() || f.is_ide() || f.is_network())
    {
        report_pdo(f, &Pdo::for_function(f));
    }
    check(
        "hvm.pci.functions",
        functions.len() >= 4 && functions.iter().any(|f| f.bdf.device == 0),
        format_args!("{} functions on bus 0", functions.len()),
    );
    platform_checks(&functions);
    let ide = functions.iter().find(|f| f.is_ide());
    check(
        "hvm.pci.ide_controller",
        ide.is_some(),
        format_args!("{:?}", ide.map(|f| (f.bdf, f.vendor, f.device))),
    );
    let nic = functions.iter().find(|f| f.is_network());
    check(
        "hvm.pci.emulated_nic",
        nic.is_some_and(|f| f.bar(true).is_some() || f.bar(false).is_some()),
        format_args!(
            "{:?}",
            nic.map(|f| (f.bdf, f.vendor, f.device, f.bars.len()))
        ),
    );
    let status = ata_status();
    check(
        "hvm.ata.boot_disk_present",
        status == ATA_READY,
        format_args!("primary master status {status:#04x}"),
    );
    functions
}

fn platform_checks(functions: &[Function]) {
    let Some(platform) = functions.iter().find(|f| f.is_xen_platform()) else {
        check(
            "hvm.pci.platform_device",
            false,
            format_args!("no 5853:0001/0002 on bus 0"),
        );
        return;
    };
    check(
        "hvm.pci.platform_device",
        true,
        format_args!(
            "{} {:04x}:{:04x} subsys {:04x}:{:04x} rev {:02x} class {:02x}{:02x}",
            platform.bdf,
            platform.vendor,
            platform.device,
            platform.subsystem_vendor,
            platform.subsystem,
            platform.revision,
            platform.class,
            platform.subclass
        ),
    );
    let io = platform.bar(true);
    check(
        "hvm.pci.platform_io_bar",
        io.is_some_and(|b| b.index == 0 && b.size == 0x100 && b.base != 0),
        format_args!("{io:?}"),
    );
    let memory = platform.bar(false);
    check(
        "hvm.pci.platform_memory_bar",
        memory.is_some_and(|b| b.index == 1 && b.size == 16 << 20 && b.prefetchable && b.base != 0),
        format_args!("{memory:?}"),
    );
    check(
        "hvm.pci.platform_interrupt",
        platform.interrupt_pin == 1 && (1..16).contains(&platform.interrupt_line),
        format_args!(
            "pin {} line {} (GSI {:?} through Xen's _PRT)",
            platform.interrupt_pin,
            platform.interrupt_line,
            pci::xen_intx_gsi(platform.bdf, platform.interrupt_pin)
        ),
    );
    let pdo = Pdo::for_function(platform);
    let want = alloc::format!(
        r"PCI\VEN_5853&DEV_{:04X}&SUBSYS_{:04X}5853&REV_01",
        platform.device,
        platform.device
    );
    check(
        "hvm.pdo.platform_ids",
        pdo.device_id == want
            && pdo.hardware_ids.first() == Some(&want)
            && pdo.compatible_ids.len() == 7
            && pdo.instance_id == alloc::format!("{:02X}", platform.bdf.devfn()),
        format_args!("DeviceID {}, InstanceID {}", pdo.device_id, pdo.instance_id),
    );
    let list = pci::cm_resource_list(0, &pdo.resources);
    let has = |kind: u8| pdo.resources.iter().any(|r| r.type_code() == kind);
    check(
        "hvm.pdo.platform_resources",
        pdo.resources.len() == 3
            && has(ntddk::CmResourceTypePort)
            && has(ntddk::CmResourceTypeMemory)
            && has(ntddk::CmResourceTypeInterrupt)
            && list.len() == pci::FIRST_DESCRIPTOR + 3 * pci::DESCRIPTOR_BYTES,
        format_args!(
            "{} raw descriptors, CM_RESOURCE_LIST {} bytes",
            pdo.resources.len(),
            list.len()
        ),
    );
    PLATFORM_PDO.call_once(|| pdo);
}

/// Checks what the unplug xen.sys just performed did to the emulated machine (`before` is the
/// enumeration from before it).
pub fn after_unplug(before: &[Function]) {
    let after = scan();
    for f in &after {
        report_function(f);
    }
    let nic_before = before.iter().find(|f| f.is_network()).map(|f| f.bdf);
    let nic_after = after.iter().find(|f| f.is_network()).map(|f| f.bdf);
    check(
        "hvm.unplug.nic_gone_from_config_space",
        nic_before.is_some() && nic_after.is_none(),
        format_args!("NIC before {nic_before:?}, after {nic_after:?}"),
    );
    let status = ata_status();
    check(
        "hvm.unplug.ide_disk_gone",
        status != ATA_READY,
        format_args!("primary master status {status:#04x}, was {ATA_READY:#04x}"),
    );
    let platform = after.iter().find(|f| f.is_xen_platform()).map(|f| f.bdf);
    check(
        "hvm.unplug.platform_device_stays",
        platform.is_some(),
        format_args!("{platform:?}"),
    );
    let ide = after.iter().find(|f| f.is_ide()).map(|f| f.bdf);
    kprintln!(
        "XTK-PCI: after the unplug: {} functions (was {}), IDE controller {ide:?}",
        after.len(),
        before.len()
    );
}
