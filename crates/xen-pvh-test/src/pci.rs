// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! PCI enumeration as Windows' PCI bus driver does it, and the PDO-like record it leaves per
//! function, for the stand-in kernel's HVM mode.
//!
//! * [`enumerate`] walks bus 0 through a [`ConfigSpace`] (the kernel's is the configuration
//!   mechanism #1 ports `0xCF8`/`0xCFC`; tests use a model): vendor `0xFFFF` means no function,
//!   header-type bit 7 a multi-function device; for each type-0 function it reads the IDs, the
//!   class, the interrupt line and pin, and sizes every BAR with the write-ones probe (decode off
//!   in the command register meanwhile, every register restored after).
//! * [`Pdo::for_function`] turns a [`Function`] into what the PCI driver answers to
//!   `IRP_MN_QUERY_ID` (`PCI\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01`, the hardware IDs most
//!   specific first, the compatible IDs, the instance ID) and the raw resources PnP hands to
//!   `IRP_MN_START_DEVICE` ([`Resource`], encoded by [`cm_resource_list`] in the exact
//!   `CM_RESOURCE_LIST` layout of `wdm.h`).
//!
//! The ID forms are Microsoft's documented ones ("Identifiers for PCI Devices"): `VEN_vvvv`,
//! `DEV_dddd`, `SUBSYS_ssssvvvv` (subsystem ID, then subsystem vendor ID), `REV_rr`,
//! `CC_ccss[pp]`, upper-case hexadecimal. The instance ID is what the PCI driver reports, the
//! device/function byte (`(device << 3) | function`, two hex digits); PnP prefixes it with the
//! parent's unique ID because PCI functions are not `UniqueID`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::mem::{offset_of, size_of};
use ntddk::consts::{
    CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE, CM_RESOURCE_MEMORY_PREFETCHABLE,
    CM_RESOURCE_MEMORY_READ_WRITE, CM_RESOURCE_PORT_16_BIT_DECODE, CM_RESOURCE_PORT_IO,
    CmResourceShareDeviceExclusive, CmResourceShareShared, CmResourceTypeInterrupt,
    CmResourceTypeMemory, CmResourceTypePort, PCIBus,
};
use ntddk::types::{
    CM_FULL_RESOURCE_DESCRIPTOR, CM_PARTIAL_RESOURCE_DESCRIPTOR, CM_PARTIAL_RESOURCE_INTERRUPT,
    CM_PARTIAL_RESOURCE_LIST, CM_PARTIAL_RESOURCE_RANGE, CM_RESOURCE_LIST, IO_RESOURCE_DESCRIPTOR,
    IO_RESOURCE_INTERRUPT, IO_RESOURCE_LIST, IO_RESOURCE_RANGE, IO_RESOURCE_REQUIREMENTS_LIST,
};

/// The Xen platform device's vendor (`XenSource`).
pub const XEN_VENDOR: u16 = 0x5853;
/// The Xen platform device (`xen-platform` in QEMU).
pub const XEN_PLATFORM_DEVICE: u16 = 0x0001;
/// The Xen platform device, second form (`device_id` 2, as `XenServer` uses for the vendor
/// device).
pub const XEN_PLATFORM_DEVICE2: u16 = 0x0002;

/// Configuration-space register offsets (type-0 header).
pub mod reg {
    /// Vendor ID (16 bits) and device ID (16 bits).
    pub const ID: u8 = 0x00;
    /// Command (16 bits) and status (16 bits).
    pub const COMMAND: u8 = 0x04;
    /// Revision (8), programming interface (8), subclass (8), base class (8).
    pub const CLASS_REVISION: u8 = 0x08;
    /// Cache line, latency timer, header type (bits 16..23), BIST.
    pub const HEADER: u8 = 0x0c;
    /// BAR 0; BARs 1..5 follow every 4 bytes.
    pub const BAR0: u8 = 0x10;
    /// Subsystem vendor ID (16) and subsystem ID (16).
    pub const SUBSYSTEM: u8 = 0x2c;
    /// Interrupt line (8), interrupt pin (8), min grant, max latency.
    pub const INTERRUPT: u8 = 0x3c;
}

/// Command-register bits that turn decoding on.
const COMMAND_IO: u32 = 1 << 0;
const COMMAND_MEMORY: u32 = 1 << 1;

/// A function's address on bus 0..255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bdf {
    /// Bus.
    pub bus: u8,
    /// Device (0..31).
    pub device: u8,
    /// Function (0..7).
    pub function: u8,
}

impl Bdf {
    /// The configuration mechanism #1 address of `offset` (its low two bits dropped).
    #[must_use]
    pub fn config_address(self, offset: u8) -> u32 {
        0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device & 0x1f) << 11
            | u32::from(self.function & 0x7) << 8
            | u32::from(offset & 0xfc)
    }

    /// `(device << 3) | function`, the byte ACPI, Xen and the PCI driver's instance ID use.
    #[must_use]
    pub const fn devfn(self) -> u8 {
        ((self.device & 0x1f) << 3) | (self.function & 0x7)
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// 32-bit configuration-space access.
pub trait ConfigSpace {
    /// Reads the dword at `offset` (a multiple of 4) of `at`.
    fn read32(&mut self, at: Bdf, offset: u8) -> u32;
    /// Writes the dword at `offset` (a multiple of 4) of `at`.
    fn write32(&mut self, at: Bdf, offset: u8, value: u32);
}

/// What a BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// I/O space.
    Io,
    /// 32-bit memory space.
    Memory32,
    /// 64-bit memory space (this BAR and the next).
    Memory64,
}

/// One implemented BAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// Its number (0..5; a 64-bit BAR has the lower of its two).
    pub index: u8,
    /// What it decodes.
    pub kind: BarKind,
    /// Memory BARs: prefetchable.
    pub prefetchable: bool,
    /// The address firmware assigned.
    pub base: u64,
    /// Its size from the write-ones probe (a power of two).
    pub size: u64,
}

/// The size a BAR announces, `None` when it is not implemented (reads back 0).
///
/// `probed` is what it reads after all ones were written (both halves
/// for a 64-bit BAR: `probed_high` is the upper dword's read-back, 0 otherwise).
#[must_use]
pub fn bar_size(kind: BarKind, probed: u32, probed_high: u32) -> Option<u64> {
    let mask = match kind {
        // Bits 31..16 of an I/O BAR may be hard-wired to 0 (16-bit decode): only the bits that
        // read back 1 count.
        BarKind::Io => u64::from(probed & !0x3),
        BarKind::Memory32 => u64::from(probed & !0xf),
        BarKind::Memory64 => u64::from(probed_high) << 32 | u64::from(probed & !0xf),
    };
    if mask == 0 {
        return None;
    }
    // The lowest writable bit is the size.
    Some(mask & mask.wrapping_neg())
}

/// The kind of BAR whose value reads `value`, `None` for a reserved memory type.
#[must_use]
pub const fn bar_kind(value: u32) -> Option<BarKind> {
    if value & 1 == 1 {
        return Some(BarKind::Io);
    }
    match (value >> 1) & 0x3 {
        0 => Some(BarKind::Memory32),
        2 => Some(BarKind::Memory64),
        _ => None,
    }
}

/// One PCI function as enumeration found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Where it is.
    pub bdf: Bdf,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Subsystem vendor ID (0 for a non-type-0 header).
    pub subsystem_vendor: u16,
    /// Subsystem ID.
    pub subsystem: u16,
    /// Revision ID.
    pub revision: u8,
    /// Base class.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Header type without the multi-function bit.
    pub header_type: u8,
    /// Interrupt line (what firmware routed `INTx` to, `0xFF` for none).
    pub interrupt_line: u8,
    /// Interrupt pin (0 none, 1..4 INTA..INTD).
    pub interrupt_pin: u8,
    /// The implemented BARs.
    pub bars: Vec<Bar>,
}

impl Function {
    /// Whether this is the Xen platform device.
    #[must_use]
    pub const fn is_xen_platform(&self) -> bool {
        self.vendor == XEN_VENDOR
            && matches!(self.device, XEN_PLATFORM_DEVICE | XEN_PLATFORM_DEVICE2)
    }

    /// Whether this is an IDE controller (class 01:01).
    #[must_use]
    pub const fn is_ide(&self) -> bool {
        self.class == 0x01 && self.subclass == 0x01
    }

    /// Whether this is a network controller (class 02).
    #[must_use]
    pub const fn is_network(&self) -> bool {
        self.class == 0x02
    }

    /// The first BAR of `kind` (either memory kind for [`BarKind::Memory32`]).
    #[must_use]
    pub fn bar(&self, io: bool) -> Option<&Bar> {
        self.bars.iter().find(|b| (b.kind == BarKind::Io) == io)
    }

    /// What the device is, for reports.
    #[must_use]
    pub const fn description(&self) -> &'static str {
        match (self.vendor, self.device) {
            (XEN_VENDOR, XEN_PLATFORM_DEVICE | XEN_PLATFORM_DEVICE2) => "Xen platform device",
            (0x8086, 0x1237) => "i440FX host bridge",
            (0x8086, 0x7000) => "PIIX3 ISA bridge",
            (0x8086, 0x7010) => "PIIX3 IDE controller",
            (0x8086, 0x7020) => "PIIX3 USB controller",
            (0x8086, 0x7113) => "PIIX4 ACPI",
            (0x10ec, 0x8139) => "RTL8139 NIC",
            (0x8086, 0x100e) => "e1000 NIC",
            (0x1234, 0x1111) => "Bochs VGA",
            (0x1013, 0x00b8) => "Cirrus VGA",
            _ => "unknown",
        }
    }
}

/// Enumerates bus 0: every function that answers, in address order, with its BARs sized.
pub fn enumerate(space: &mut dyn ConfigSpace) -> Vec<Function> {
    let mut found = Vec::new();
    for device in 0..32 {
        for function in 0..8 {
            let bdf = Bdf {
                bus: 0,
                device,
                function,
            };
            let id = space.read32(bdf, reg::ID);
            if id & 0xffff == 0xffff {
                if function == 0 {
                    break;
                }
                continue;
            }
            let header = space.read32(bdf, reg::HEADER);
            found.push(read_function(space, bdf, id, header));
            // Functions 1..7 exist only behind a multi-function function 0.
            if function == 0 && header & (1 << 23) == 0 {
                break;
            }
        }
    }
    found
}

fn read_function(space: &mut dyn ConfigSpace, bdf: Bdf, id: u32, header: u32) -> Function {
    let [vendor_lo, vendor_hi, device_lo, device_hi] = id.to_le_bytes();
    let [revision, prog_if, subclass, class] = space.read32(bdf, reg::CLASS_REVISION).to_le_bytes();
    let header_type = header.to_le_bytes()[2] & 0x7f;
    let mut f = Function {
        bdf,
        vendor: u16::from_le_bytes([vendor_lo, vendor_hi]),
        device: u16::from_le_bytes([device_lo, device_hi]),
        subsystem_vendor: 0,
        subsystem: 0,
        revision,
        class,
        subclass,
        prog_if,
        header_type,
        interrupt_line: 0xff,
        interrupt_pin: 0,
        bars: Vec::new(),
    };
    if header_type != 0 {
        // Bridges and CardBus: IDs and class only (bus 0 of an HVM guest has neither).
        return f;
    }
    let [vendor0, vendor1, id0, id1] = space.read32(bdf, reg::SUBSYSTEM).to_le_bytes();
    f.subsystem_vendor = u16::from_le_bytes([vendor0, vendor1]);
    f.subsystem = u16::from_le_bytes([id0, id1]);
    let [line, pin, ..] = space.read32(bdf, reg::INTERRUPT).to_le_bytes();
    f.interrupt_line = line;
    f.interrupt_pin = pin;
    f.bars = probe_bars(space, bdf);
    f
}

/// Sizes the six BARs of a type-0 function with decoding off, restoring every register.
fn probe_bars(space: &mut dyn ConfigSpace, bdf: Bdf) -> Vec<Bar> {
    let command = space.read32(bdf, reg::COMMAND);
    // Only the command half is written back (status bits are write-one-to-clear).
    space.write32(
        bdf,
        reg::COMMAND,
        command & 0xffff & !(COMMAND_IO | COMMAND_MEMORY),
    );
    let mut bars = Vec::new();
    let mut index = 0u8;
    while index < 6 {
        let offset = reg::BAR0 + 4 * index;
        let original = space.read32(bdf, offset);
        let Some(kind) = bar_kind(original) else {
            index += 1;
            continue;
        };
        space.write32(bdf, offset, 0xffff_ffff);
        let probed = space.read32(bdf, offset);
        space.write32(bdf, offset, original);
        let (original_high, probed_high) = if kind == BarKind::Memory64 && index < 5 {
            let high = offset + 4;
            let original_high = space.read32(bdf, high);
            space.write32(bdf, high, 0xffff_ffff);
            let probed_high = space.read32(bdf, high);
            space.write32(bdf, high, original_high);
            (original_high, probed_high)
        } else {
            (0, 0)
        };
        if let Some(size) = bar_size(kind, probed, probed_high) {
            let base = match kind {
                BarKind::Io => u64::from(original & !0x3),
                BarKind::Memory32 => u64::from(original & !0xf),
                BarKind::Memory64 => u64::from(original_high) << 32 | u64::from(original & !0xf),
            };
            bars.push(Bar {
                index,
                kind,
                prefetchable: kind != BarKind::Io && original & 0x8 != 0,
                base,
                size,
            });
        }
        index += if kind == BarKind::Memory64 { 2 } else { 1 };
    }
    space.write32(bdf, reg::COMMAND, command & 0xffff);
    bars
}

/// One raw resource, as a `CM_PARTIAL_RESOURCE_DESCRIPTOR` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `CmResourceTypePort`, device-exclusive.
    Port {
        /// First port.
        start: u64,
        /// Ports.
        length: u32,
        /// `CM_RESOURCE_PORT_*`.
        flags: u16,
    },
    /// `CmResourceTypeMemory`, device-exclusive.
    Memory {
        /// First byte (bus address).
        start: u64,
        /// Bytes.
        length: u32,
        /// `CM_RESOURCE_MEMORY_*`.
        flags: u16,
    },
    /// `CmResourceTypeInterrupt` (line-based), shared as PCI `INTx` is.
    Interrupt {
        /// `Level` (the raw interrupt: the GSI).
        level: u16,
        /// `Vector` (the same GSI in a raw list).
        vector: u32,
        /// `Affinity`.
        affinity: u64,
        /// `CM_RESOURCE_INTERRUPT_*`.
        flags: u16,
    },
}

impl Resource {
    /// `CmResourceType*`.
    #[must_use]
    pub const fn type_code(&self) -> u8 {
        match self {
            Self::Port { .. } => CmResourceTypePort,
            Self::Memory { .. } => CmResourceTypeMemory,
            Self::Interrupt { .. } => CmResourceTypeInterrupt,
        }
    }

    /// `CmResourceShare*`.
    #[must_use]
    pub const fn share(&self) -> u8 {
        match self {
            Self::Interrupt { .. } => CmResourceShareShared,
            _ => CmResourceShareDeviceExclusive,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Port {
                start,
                length,
                flags,
            } => write!(f, "Port {start:#x} length {length:#x} flags {flags:#06x}"),
            Self::Memory {
                start,
                length,
                flags,
            } => write!(f, "Memory {start:#x} length {length:#x} flags {flags:#06x}"),
            Self::Interrupt {
                level,
                vector,
                affinity,
                flags,
            } => write!(
                f,
                "Interrupt level {level} vector {vector} affinity {affinity:#x} flags {flags:#06x} shared"
            ),
        }
    }
}

/// The GSI Xen's ACPI tables (`_PRT`, APIC mode) route a bus-0 function's `INTx` pin to.
///
/// It is `((device << 2) + (device >> 3) + intx) mod 32 + 16`, `intx` 0 for INTA
/// (`hvm_pci_intx_gsi`). `None` without a pin.
#[must_use]
pub fn xen_intx_gsi(bdf: Bdf, pin: u8) -> Option<u32> {
    let intx = u32::from(pin.checked_sub(1).filter(|&i| i < 4)?);
    let device = u32::from(bdf.device & 0x1f);
    Some((((device << 2) + (device >> 3) + intx) & 31) + 16)
}

/// What PnP knows of one PCI function: what `IRP_MN_QUERY_ID` returns for it and the raw
/// resources `IRP_MN_START_DEVICE` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdo {
    /// `BusQueryDeviceID`.
    pub device_id: String,
    /// `BusQueryHardwareIDs`, most specific first.
    pub hardware_ids: Vec<String>,
    /// `BusQueryCompatibleIDs`, most specific first.
    pub compatible_ids: Vec<String>,
    /// `BusQueryInstanceID`.
    pub instance_id: String,
    /// `DeviceTextLocationInformation`, as the PCI driver words it.
    pub location: String,
    /// The raw resources, BARs in order then the interrupt.
    pub resources: Vec<Resource>,
}

impl Pdo {
    /// The record for `f`.
    #[must_use]
    pub fn for_function(f: &Function) -> Self {
        let ven = format!("VEN_{:04X}", f.vendor);
        let dev = format!("DEV_{:04X}", f.device);
        let subsys = format!("SUBSYS_{:04X}{:04X}", f.subsystem, f.subsystem_vendor);
        let rev = format!("REV_{:02X}", f.revision);
        let cc6 = format!("CC_{:02X}{:02X}{:02X}", f.class, f.subclass, f.prog_if);
        let cc4 = format!("CC_{:02X}{:02X}", f.class, f.subclass);
        let device_id = format!(r"PCI\{ven}&{dev}&{subsys}&{rev}");
        let hardware_ids = alloc::vec![
            device_id.clone(),
            format!(r"PCI\{ven}&{dev}&{subsys}"),
            format!(r"PCI\{ven}&{dev}&{cc6}"),
            format!(r"PCI\{ven}&{dev}&{cc4}"),
        ];
        let compatible_ids = alloc::vec![
            format!(r"PCI\{ven}&{dev}&{rev}"),
            format!(r"PCI\{ven}&{dev}"),
            format!(r"PCI\{ven}&{cc6}"),
            format!(r"PCI\{ven}&{cc4}"),
            format!(r"PCI\{ven}"),
            format!(r"PCI\{cc6}"),
            format!(r"PCI\{cc4}"),
        ];
        Self {
            device_id,
            hardware_ids,
            compatible_ids,
            instance_id: format!("{:02X}", f.bdf.devfn()),
            location: format!(
                "PCI bus {}, device {}, function {}",
                f.bdf.bus, f.bdf.device, f.bdf.function
            ),
            resources: resources(f),
        }
    }
}

/// The raw resources of `f`: each sized BAR, then the `INTx` interrupt.
///
/// A memory BAR too large for a 32-bit `Length` is left out (it would need
/// `CmResourceTypeMemoryLarge`); the interrupt is at the GSI
/// Xen routes it to, if the function has a pin.
#[must_use]
pub fn resources(f: &Function) -> Vec<Resource> {
    let mut out = Vec::new();
    for bar in &f.bars {
        let Ok(length) = u32::try_from(bar.size) else {
            continue;
        };
        out.push(match bar.kind {
            BarKind::Io => Resource::Port {
                start: bar.base,
                length,
                flags: CM_RESOURCE_PORT_IO | CM_RESOURCE_PORT_16_BIT_DECODE,
            },
            BarKind::Memory32 | BarKind::Memory64 => Resource::Memory {
                start: bar.base,
                length,
                flags: CM_RESOURCE_MEMORY_READ_WRITE
                    | if bar.prefetchable {
                        CM_RESOURCE_MEMORY_PREFETCHABLE
                    } else {
                        0
                    },
            },
        });
    }
    if let Some(gsi) = xen_intx_gsi(f.bdf, f.interrupt_pin) {
        out.push(Resource::Interrupt {
            level: u16::try_from(gsi).unwrap_or(u16::MAX),
            vector: gsi,
            affinity: u64::MAX,
            flags: CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE,
        });
    }
    out
}

/// Bytes of one `CM_PARTIAL_RESOURCE_DESCRIPTOR` (`pack(4)`).
pub const DESCRIPTOR_BYTES: usize = size_of::<CM_PARTIAL_RESOURCE_DESCRIPTOR>();
/// Offset of the first partial descriptor in a `CM_RESOURCE_LIST` with one full descriptor.
pub const FIRST_DESCRIPTOR: usize = offset_of!(CM_RESOURCE_LIST, List)
    + offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList)
    + offset_of!(CM_PARTIAL_RESOURCE_LIST, PartialDescriptors);
const _: () = assert!(DESCRIPTOR_BYTES == 20 && FIRST_DESCRIPTOR == 20);

/// The union's offset in a descriptor.
const UNION: usize = offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, u);

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        slot.copy_from_slice(bytes);
    }
}

/// `resources` as a raw `CM_RESOURCE_LIST`: one `CM_FULL_RESOURCE_DESCRIPTOR` for PCI bus
/// `bus` (version 1, revision 1), its partial descriptors in order, each 20 bytes in `wdm.h`'s
/// `pack(4)` layout.
#[must_use]
pub fn cm_resource_list(bus: u32, resources: &[Resource]) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; FIRST_DESCRIPTOR + DESCRIPTOR_BYTES * resources.len()];
    let full = offset_of!(CM_RESOURCE_LIST, List);
    let partial = full + offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList);
    let count = u32::try_from(resources.len()).unwrap_or(u32::MAX);
    for (at, bytes) in [
        (offset_of!(CM_RESOURCE_LIST, Count), &1u32.to_le_bytes()[..]),
        (
            full + offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, InterfaceType),
            &PCIBus.to_le_bytes()[..],
        ),
        (
            full + offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, BusNumber),
            &bus.to_le_bytes()[..],
        ),
        (
            partial + offset_of!(CM_PARTIAL_RESOURCE_LIST, Version),
            &1u16.to_le_bytes()[..],
        ),
        (
            partial + offset_of!(CM_PARTIAL_RESOURCE_LIST, Revision),
            &1u16.to_le_bytes()[..],
        ),
        (
            partial + offset_of!(CM_PARTIAL_RESOURCE_LIST, Count),
            &count.to_le_bytes()[..],
        ),
    ] {
        put(&mut buf, at, bytes);
    }
    for (i, r) in resources.iter().enumerate() {
        put_descriptor(&mut buf, FIRST_DESCRIPTOR + DESCRIPTOR_BYTES * i, r);
    }
    buf
}

/// Writes `r` as the `CM_PARTIAL_RESOURCE_DESCRIPTOR` at `at`.
fn put_descriptor(buf: &mut [u8], at: usize, r: &Resource) {
    put(
        buf,
        at + offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, Type),
        &[r.type_code()],
    );
    put(
        buf,
        at + offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, ShareDisposition),
        &[r.share()],
    );
    let flags_at = at + offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, Flags);
    let u = at + UNION;
    match *r {
        Resource::Port {
            start,
            length,
            flags,
        }
        | Resource::Memory {
            start,
            length,
            flags,
        } => {
            put(buf, flags_at, &flags.to_le_bytes());
            put(
                buf,
                u + offset_of!(CM_PARTIAL_RESOURCE_RANGE, Start),
                &start.to_le_bytes(),
            );
            put(
                buf,
                u + offset_of!(CM_PARTIAL_RESOURCE_RANGE, Length),
                &length.to_le_bytes(),
            );
        }
        Resource::Interrupt {
            level,
            vector,
            affinity,
            flags,
        } => {
            put(buf, flags_at, &flags.to_le_bytes());
            put(
                buf,
                u + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Level),
                &level.to_le_bytes(),
            );
            put(
                buf,
                u + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Vector),
                &vector.to_le_bytes(),
            );
            put(
                buf,
                u + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Affinity),
                &affinity.to_le_bytes(),
            );
        }
    }
}

/// The IDT vector the stand-in assigns to GSI `gsi`'s line: `0x70 + gsi`.
///
/// For the 64 GSIs an HVM guest's IO-APICs can have, its IRQL (`vector >> 4` as on Windows
/// x64) is then a device IRQL (7..10; `DISPATCH_LEVEL` is 2, `CLOCK_LEVEL` 13).
#[must_use]
pub const fn interrupt_vector(gsi: u32) -> u32 {
    0x70 + (gsi & 0x3f)
}

/// The IRQL Windows x64 gives interrupt vector `vector` (its priority class).
#[must_use]
pub fn vector_irql(vector: u32) -> u8 {
    u8::try_from((vector >> 4) & 0xf).unwrap_or(0)
}

/// `raw` translated as the HAL translates a PCI function's resources on an x64 APIC machine.
///
/// Ports stay ports (x86 has an I/O space), memory is at the same CPU physical address, a line
/// interrupt becomes its IDT vector ([`interrupt_vector`]) with `Level` its IRQL
/// ([`vector_irql`]) and `Affinity` the `processors` active processors.
#[must_use]
pub fn translate(raw: &[Resource], processors: u32) -> Vec<Resource> {
    let affinity = if processors >= 64 {
        u64::MAX
    } else {
        (1u64 << processors.max(1)) - 1
    };
    raw.iter()
        .map(|r| match *r {
            Resource::Interrupt { vector, flags, .. } => {
                let translated = interrupt_vector(vector);
                Resource::Interrupt {
                    level: u16::from(vector_irql(translated)),
                    vector: translated,
                    affinity,
                    flags,
                }
            }
            other => other,
        })
        .collect()
}

/// `PCI_SLOT_NUMBER` of a function as `u.AsULONG`: device in bits 0..4, function in 5..7.
#[must_use]
pub fn slot_number(bdf: Bdf) -> u32 {
    u32::from(bdf.device & 0x1f) | u32::from(bdf.function & 0x7) << 5
}

/// Bytes of the fixed part of an `IO_RESOURCE_REQUIREMENTS_LIST` up to its first descriptor.
pub const FIRST_REQUIREMENT: usize =
    offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, List) + offset_of!(IO_RESOURCE_LIST, Descriptors);
/// Bytes of one `IO_RESOURCE_DESCRIPTOR`.
pub const REQUIREMENT_BYTES: usize = size_of::<IO_RESOURCE_DESCRIPTOR>();
const _: () = assert!(FIRST_REQUIREMENT == 40 && REQUIREMENT_BYTES == 32);

/// `raw` as the `IO_RESOURCE_REQUIREMENTS_LIST` the PCI driver reports for a function.
///
/// The firmware assignment is fixed: one alternative list, each BAR a range requirement that
/// only its current assignment satisfies (aligned to its size), the line interrupt its GSI.
#[must_use]
pub fn requirements_list(bus: u32, slot: u32, raw: &[Resource]) -> Vec<u8> {
    let size = FIRST_REQUIREMENT + REQUIREMENT_BYTES * raw.len();
    let mut buf = alloc::vec![0u8; size];
    let list = offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, List);
    let count = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    for (at, bytes) in [
        (
            offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, ListSize),
            &u32::try_from(size).unwrap_or(u32::MAX).to_le_bytes()[..],
        ),
        (
            offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, InterfaceType),
            &PCIBus.to_le_bytes()[..],
        ),
        (
            offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, BusNumber),
            &bus.to_le_bytes()[..],
        ),
        (
            offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, SlotNumber),
            &slot.to_le_bytes()[..],
        ),
        (
            offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, AlternativeLists),
            &1u32.to_le_bytes()[..],
        ),
        (
            list + offset_of!(IO_RESOURCE_LIST, Version),
            &1u16.to_le_bytes()[..],
        ),
        (
            list + offset_of!(IO_RESOURCE_LIST, Revision),
            &1u16.to_le_bytes()[..],
        ),
        (
            list + offset_of!(IO_RESOURCE_LIST, Count),
            &count.to_le_bytes()[..],
        ),
    ] {
        put(&mut buf, at, bytes);
    }
    for (i, r) in raw.iter().enumerate() {
        put_requirement(&mut buf, FIRST_REQUIREMENT + REQUIREMENT_BYTES * i, r);
    }
    buf
}

/// Writes `r` as the `IO_RESOURCE_DESCRIPTOR` at `at`.
fn put_requirement(buf: &mut [u8], at: usize, r: &Resource) {
    let u = at + offset_of!(IO_RESOURCE_DESCRIPTOR, u);
    put(
        buf,
        at + offset_of!(IO_RESOURCE_DESCRIPTOR, Type),
        &[r.type_code()],
    );
    put(
        buf,
        at + offset_of!(IO_RESOURCE_DESCRIPTOR, ShareDisposition),
        &[r.share()],
    );
    match *r {
        Resource::Port {
            start,
            length,
            flags,
        }
        | Resource::Memory {
            start,
            length,
            flags,
        } => {
            put(
                buf,
                at + offset_of!(IO_RESOURCE_DESCRIPTOR, Flags),
                &flags.to_le_bytes(),
            );
            let end = start.saturating_add(u64::from(length)).saturating_sub(1);
            for (field, bytes) in [
                (
                    offset_of!(IO_RESOURCE_RANGE, Length),
                    &length.to_le_bytes()[..],
                ),
                (
                    offset_of!(IO_RESOURCE_RANGE, Alignment),
                    &length.to_le_bytes()[..],
                ),
                (
                    offset_of!(IO_RESOURCE_RANGE, MinimumAddress),
                    &start.to_le_bytes()[..],
                ),
                (
                    offset_of!(IO_RESOURCE_RANGE, MaximumAddress),
                    &end.to_le_bytes()[..],
                ),
            ] {
                put(buf, u + field, bytes);
            }
        }
        Resource::Interrupt { vector, flags, .. } => {
            put(
                buf,
                at + offset_of!(IO_RESOURCE_DESCRIPTOR, Flags),
                &flags.to_le_bytes(),
            );
            for field in [
                offset_of!(IO_RESOURCE_INTERRUPT, MinimumVector),
                offset_of!(IO_RESOURCE_INTERRUPT, MaximumVector),
            ] {
                put(buf, u + field, &vector.to_le_bytes());
            }
        }
    }
}

/// The 256 bytes of type-0 configuration space a function's record implies.
///
/// IDs, command (I/O, memory and bus mastering on, as firmware leaves a device it assigned),
/// class and revision, header type, each BAR's assigned base with its type bits, subsystem IDs,
/// interrupt line and pin. The stand-in serves a function that is not on the machine's bus
/// from it.
#[must_use]
pub fn config_image(f: &Function) -> [u8; 256] {
    let mut image = [0u8; 256];
    let mut put32 = |offset: u8, value: u32| {
        put(&mut image, usize::from(offset), &value.to_le_bytes());
    };
    put32(reg::ID, u32::from(f.device) << 16 | u32::from(f.vendor));
    put32(reg::COMMAND, COMMAND_IO | COMMAND_MEMORY | 1 << 2);
    put32(
        reg::CLASS_REVISION,
        u32::from_le_bytes([f.revision, f.prog_if, f.subclass, f.class]),
    );
    put32(reg::HEADER, u32::from(f.header_type) << 16);
    put32(
        reg::SUBSYSTEM,
        u32::from(f.subsystem) << 16 | u32::from(f.subsystem_vendor),
    );
    put32(
        reg::INTERRUPT,
        u32::from(f.interrupt_pin) << 8 | u32::from(f.interrupt_line),
    );
    for bar in &f.bars {
        let offset = reg::BAR0 + 4 * bar.index;
        let prefetch = if bar.prefetchable { 0x8 } else { 0 };
        let low = u32::try_from(bar.base & 0xffff_ffff).unwrap_or(0);
        let high = u32::try_from(bar.base >> 32).unwrap_or(0);
        match bar.kind {
            BarKind::Io => put32(offset, (low & !0x3) | 1),
            BarKind::Memory32 => put32(offset, (low & !0xf) | prefetch),
            BarKind::Memory64 => {
                put32(offset, (low & !0xf) | 0x4 | prefetch);
                put32(offset + 4, high);
            }
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::vec;

    /// A model of one function's registers: reads of a BAR after an all-ones write return the
    /// size mask, as hardware does; `writable` masks what other registers take.
    #[derive(Default)]
    struct Model {
        regs: BTreeMap<(Bdf, u8), u32>,
        /// Per BAR register: the size mask hardware applies to writes (0 for unimplemented).
        bar_masks: BTreeMap<(Bdf, u8), u32>,
        /// Every write, in order.
        writes: Vec<(Bdf, u8, u32)>,
    }

    impl ConfigSpace for Model {
        fn read32(&mut self, at: Bdf, offset: u8) -> u32 {
            self.regs
                .get(&(at, offset))
                .copied()
                .unwrap_or(if at.bus == 0 && offset == 0 {
                    0xffff_ffff
                } else {
                    0
                })
        }

        fn write32(&mut self, at: Bdf, offset: u8, value: u32) {
            self.writes.push((at, offset, value));
            let stored = match self.bar_masks.get(&(at, offset)) {
                Some(&mask) => {
                    let old = self.regs.get(&(at, offset)).copied().unwrap_or(0);
                    // Type bits are read-only; the address bits take the write.
                    let ro = if old & 1 == 1 { 0x3 } else { 0xf };
                    (value & mask & !ro) | (old & ro)
                }
                // Unimplemented BARs are hard-wired to 0.
                None if (reg::BAR0..reg::BAR0 + 24).contains(&offset) => return,
                // The status half is write-one-to-clear: the model keeps it.
                None if offset == reg::COMMAND => {
                    let old = self.regs.get(&(at, offset)).copied().unwrap_or(0);
                    (old & 0xffff_0000) | (value & 0xffff)
                }
                None => value,
            };
            self.regs.insert((at, offset), stored);
        }
    }

    const fn at(device: u8, function: u8) -> Bdf {
        Bdf {
            bus: 0,
            device,
            function,
        }
    }

    impl Model {
        fn add(&mut self, bdf: Bdf, id: u32, class_rev: u32, header: u32, subsys: u32, int: u32) {
            self.regs.insert((bdf, reg::ID), id);
            self.regs.insert((bdf, reg::COMMAND), 0x0010_0007);
            self.regs.insert((bdf, reg::CLASS_REVISION), class_rev);
            self.regs.insert((bdf, reg::HEADER), header);
            self.regs.insert((bdf, reg::SUBSYSTEM), subsys);
            self.regs.insert((bdf, reg::INTERRUPT), int);
        }

        fn bar(&mut self, bdf: Bdf, index: u8, value: u32, size_mask: u32) {
            let offset = reg::BAR0 + 4 * index;
            self.regs.insert((bdf, offset), value);
            self.bar_masks.insert((bdf, offset), size_mask);
        }

        /// The bus of an HVM guest with qemu-xen (xenfv): host bridge, PIIX3 (multi-function
        /// ISA + IDE), the platform device at 00:02.0, an RTL8139 at 00:03.0.
        fn xenfv() -> Self {
            let mut m = Self::default();
            m.add(at(0, 0), 0x1237_8086, 0x0600_0002, 0, 0x1100_1af4, 0);
            m.add(at(1, 0), 0x7000_8086, 0x0601_0000, 0x0080_0000, 0, 0);
            m.add(at(1, 1), 0x7010_8086, 0x0101_8000, 0, 0x1100_1af4, 0);
            m.bar(at(1, 1), 4, 0xc101, 0xffff_fff0);
            m.add(
                at(2, 0),
                0x0001_5853,
                0xff80_0001,
                0,
                0x0001_5853,
                0x0000_0105,
            );
            m.bar(at(2, 0), 0, 0xc001, 0xffff_ff00);
            m.bar(at(2, 0), 1, 0xf000_0008, 0xff00_0000);
            m.add(
                at(3, 0),
                0x8139_10ec,
                0x0200_0020,
                0,
                0x1100_1af4,
                0x0000_010b,
            );
            m.bar(at(3, 0), 0, 0xc201, 0xffff_ff00);
            m.bar(at(3, 0), 1, 0xf100_0000, 0xffff_ff00);
            m
        }
    }

    #[test]
    fn config_address_is_mechanism_one() {
        assert_eq!(at(2, 0).config_address(0x3c), 0x8000_103c);
        assert_eq!(
            Bdf {
                bus: 1,
                device: 31,
                function: 7
            }
            .config_address(0x13),
            0x8001_ff10
        );
        assert_eq!(at(2, 0).devfn(), 0x10);
        assert_eq!(std::format!("{}", at(1, 1)), "00:01.1");
    }

    #[test]
    fn bar_sizes_follow_the_lowest_writable_bit() {
        assert_eq!(bar_size(BarKind::Io, 0xffff_ff01, 0), Some(0x100));
        // 16-bit I/O decode: the upper half reads 0.
        assert_eq!(bar_size(BarKind::Io, 0x0000_fff1, 0), Some(0x10));
        assert_eq!(
            bar_size(BarKind::Memory32, 0xff00_0008, 0),
            Some(0x100_0000)
        );
        assert_eq!(
            bar_size(BarKind::Memory64, 0x0000_000c, 0xffff_fff0),
            Some(0x10_0000_0000)
        );
        assert_eq!(bar_size(BarKind::Memory32, 0, 0), None);
        assert_eq!(bar_kind(0xc001), Some(BarKind::Io));
        assert_eq!(bar_kind(0xf000_0008), Some(BarKind::Memory32));
        assert_eq!(bar_kind(0x4), Some(BarKind::Memory64));
        assert_eq!(bar_kind(0x2), None);
    }

    #[test]
    fn enumeration_finds_every_function_of_the_xenfv_bus() {
        let mut m = Model::xenfv();
        let found = enumerate(&mut m);
        let addrs: Vec<_> = found.iter().map(|f| f.bdf).collect();
        assert_eq!(
            addrs,
            vec![at(0, 0), at(1, 0), at(1, 1), at(2, 0), at(3, 0)]
        );
        let platform = found.iter().find(|f| f.is_xen_platform()).unwrap();
        assert_eq!(
            (
                platform.subsystem_vendor,
                platform.subsystem,
                platform.revision
            ),
            (0x5853, 0x0001, 1)
        );
        assert_eq!(
            (platform.class, platform.subclass, platform.prog_if),
            (0xff, 0x80, 0)
        );
        assert_eq!((platform.interrupt_line, platform.interrupt_pin), (5, 1));
        assert_eq!(
            platform.bars,
            vec![
                Bar {
                    index: 0,
                    kind: BarKind::Io,
                    prefetchable: false,
                    base: 0xc000,
                    size: 0x100
                },
                Bar {
                    index: 1,
                    kind: BarKind::Memory32,
                    prefetchable: true,
                    base: 0xf000_0000,
                    size: 0x100_0000
                },
            ]
        );
        assert!(found.iter().any(Function::is_ide));
        assert!(found.iter().any(Function::is_network));
        assert_eq!(platform.description(), "Xen platform device");
    }

    #[test]
    fn a_single_function_device_hides_functions_one_to_seven() {
        let mut m = Model::xenfv();
        // A stale ID at 00:02.1 must not be read: 00:02.0 is not multi-function.
        m.add(at(2, 1), 0x1234_5678, 0, 0, 0, 0);
        let found = enumerate(&mut m);
        assert!(!found.iter().any(|f| f.bdf == at(2, 1)));
        assert!(!m.writes.iter().any(|w| w.0 == at(2, 1)));
    }

    #[test]
    fn probing_restores_every_bar_and_the_command_register() {
        let mut m = Model::xenfv();
        let before = m.regs.clone();
        enumerate(&mut m);
        assert_eq!(m.regs, before);
        // Decoding was off while the BARs held all ones.
        let platform_writes: Vec<_> = m.writes.iter().filter(|w| w.0 == at(2, 0)).collect();
        assert_eq!(
            platform_writes.first().map(|w| (w.1, w.2)),
            Some((4, 0x0004))
        );
        assert!(platform_writes.iter().any(|w| w.2 == 0xffff_ffff));
        assert_eq!(
            platform_writes.last().map(|w| (w.1, w.2)),
            Some((4, 0x0007))
        );
    }

    #[test]
    fn a_64_bit_bar_uses_two_registers() {
        let mut m = Model::default();
        m.add(
            at(4, 0),
            0x100e_8086,
            0x0200_0003,
            0,
            0x1100_1af4,
            0x0000_0100,
        );
        m.bar(at(4, 0), 0, 0xe000_000c, 0xfffe_0000);
        m.bar(at(4, 0), 1, 0x0000_0001, 0xffff_ffff);
        m.bar(at(4, 0), 2, 0xc301, 0xffff_ffc0);
        let found = enumerate(&mut m);
        let bars = &found.first().unwrap().bars;
        assert_eq!(bars.len(), 2);
        let first = bars.first().unwrap();
        assert_eq!(
            (first.index, first.kind, first.base, first.size),
            (0, BarKind::Memory64, 0x1_e000_0000, 0x2_0000)
        );
        let second = bars.get(1).unwrap();
        assert_eq!(
            (second.index, second.kind, second.base, second.size),
            (2, BarKind::Io, 0xc300, 0x40)
        );
    }

    #[test]
    fn the_platform_device_has_windows_ids() {
        let mut m = Model::xenfv();
        let found = enumerate(&mut m);
        let platform = found.iter().find(|f| f.is_xen_platform()).unwrap();
        let pdo = Pdo::for_function(platform);
        assert_eq!(
            pdo.device_id,
            r"PCI\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01"
        );
        assert_eq!(
            pdo.hardware_ids,
            vec![
                r"PCI\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01",
                r"PCI\VEN_5853&DEV_0001&SUBSYS_00015853",
                r"PCI\VEN_5853&DEV_0001&CC_FF8000",
                r"PCI\VEN_5853&DEV_0001&CC_FF80",
            ]
        );
        assert_eq!(
            pdo.compatible_ids,
            vec![
                r"PCI\VEN_5853&DEV_0001&REV_01",
                r"PCI\VEN_5853&DEV_0001",
                r"PCI\VEN_5853&CC_FF8000",
                r"PCI\VEN_5853&CC_FF80",
                r"PCI\VEN_5853",
                r"PCI\CC_FF8000",
                r"PCI\CC_FF80",
            ]
        );
        assert_eq!(pdo.instance_id, "10");
        assert_eq!(pdo.location, "PCI bus 0, device 2, function 0");
    }

    #[test]
    fn the_interrupt_goes_to_xens_gsi_for_the_slot() {
        // hvm_pci_intx_gsi: 00:02.0 INTA -> 24, 00:03.0 INTA -> 28, 00:01.1 INTB -> 21.
        assert_eq!(xen_intx_gsi(at(2, 0), 1), Some(24));
        assert_eq!(xen_intx_gsi(at(3, 0), 1), Some(28));
        assert_eq!(xen_intx_gsi(at(1, 1), 2), Some(21));
        assert_eq!(xen_intx_gsi(at(31, 0), 4), Some(16 + ((124 + 3 + 3) & 31)));
        assert_eq!(xen_intx_gsi(at(2, 0), 0), None);
        assert_eq!(xen_intx_gsi(at(2, 0), 5), None);
    }

    #[test]
    fn resources_follow_the_bars_then_the_interrupt() {
        let mut m = Model::xenfv();
        let found = enumerate(&mut m);
        let platform = found.iter().find(|f| f.is_xen_platform()).unwrap();
        assert_eq!(
            resources(platform),
            vec![
                Resource::Port {
                    start: 0xc000,
                    length: 0x100,
                    flags: CM_RESOURCE_PORT_IO | CM_RESOURCE_PORT_16_BIT_DECODE
                },
                Resource::Memory {
                    start: 0xf000_0000,
                    length: 0x100_0000,
                    flags: CM_RESOURCE_MEMORY_READ_WRITE | CM_RESOURCE_MEMORY_PREFETCHABLE
                },
                Resource::Interrupt {
                    level: 24,
                    vector: 24,
                    affinity: u64::MAX,
                    flags: CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE
                },
            ]
        );
        // The ISA bridge has no BARs and no pin: no resources.
        let isa = found.iter().find(|f| f.bdf == at(1, 0)).unwrap();
        assert!(resources(isa).is_empty());
    }

    #[test]
    fn the_cm_resource_list_has_wdm_h_layout() {
        let list = [
            Resource::Port {
                start: 0xc000,
                length: 0x100,
                flags: CM_RESOURCE_PORT_IO,
            },
            Resource::Memory {
                start: 0xf000_0000,
                length: 0x100_0000,
                flags: CM_RESOURCE_MEMORY_PREFETCHABLE,
            },
            Resource::Interrupt {
                level: 24,
                vector: 24,
                affinity: u64::MAX,
                flags: 0,
            },
        ];
        let bytes = cm_resource_list(0, &list);
        assert_eq!(bytes.len(), 20 + 3 * 20);
        // Read it back through the ntddk types, as a driver would.
        // SAFETY: `bytes` holds at least a CM_RESOURCE_LIST's fixed part; read unaligned.
        let head: CM_RESOURCE_LIST =
            unsafe { bytes.as_ptr().cast::<CM_RESOURCE_LIST>().read_unaligned() };
        let count = head.Count;
        let full = head.List[0];
        let (interface, bus) = (full.InterfaceType, full.BusNumber);
        let partial = full.PartialResourceList;
        let (version, revision, partials) = (partial.Version, partial.Revision, partial.Count);
        assert_eq!(
            (count, interface, bus, version, revision, partials),
            (1, PCIBus, 0, 1, 1, 3)
        );
        let d = |i: usize| -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
            let at = FIRST_DESCRIPTOR + DESCRIPTOR_BYTES * i;
            // SAFETY: descriptor `i` lies inside `bytes`; read unaligned.
            unsafe {
                bytes[at..at + DESCRIPTOR_BYTES]
                    .as_ptr()
                    .cast::<CM_PARTIAL_RESOURCE_DESCRIPTOR>()
                    .read_unaligned()
            }
        };
        let port = d(0);
        let (t, share, flags) = (port.Type, port.ShareDisposition, port.Flags);
        // SAFETY: a Port descriptor's union member is `Port`.
        let range = unsafe { port.u.Port };
        let (start, length) = (range.Start, range.Length);
        assert_eq!(
            (t, share, flags, start, length),
            (
                CmResourceTypePort,
                CmResourceShareDeviceExclusive,
                CM_RESOURCE_PORT_IO,
                0xc000,
                0x100
            )
        );
        let memory = d(1);
        let (t, flags) = (memory.Type, memory.Flags);
        // SAFETY: a Memory descriptor's union member is `Memory`.
        let range = unsafe { memory.u.Memory };
        let (start, length) = (range.Start, range.Length);
        assert_eq!(
            (t, flags, start, length),
            (
                CmResourceTypeMemory,
                CM_RESOURCE_MEMORY_PREFETCHABLE,
                0xf000_0000,
                0x100_0000
            )
        );
        let interrupt = d(2);
        let (t, share) = (interrupt.Type, interrupt.ShareDisposition);
        // SAFETY: an Interrupt descriptor's union member is `Interrupt`.
        let line = unsafe { interrupt.u.Interrupt };
        let (level, vector, affinity) = (line.Level, line.Vector, line.Affinity);
        assert_eq!(
            (t, share, level, vector, affinity),
            (
                CmResourceTypeInterrupt,
                CmResourceShareShared,
                24,
                24,
                usize::MAX
            )
        );
    }
    #[test]
    fn translation_gives_the_line_a_vector_and_device_irql() {
        let mut m = Model::xenfv();
        let found = enumerate(&mut m);
        let platform = found.iter().find(|f| f.is_xen_platform()).unwrap();
        let raw = resources(platform);
        let translated = translate(&raw, 2);
        assert_eq!(translated.len(), 3);
        assert_eq!(translated[0], raw[0], "ports stay ports");
        assert_eq!(translated[1], raw[1], "memory keeps its address");
        assert_eq!(
            translated[2],
            Resource::Interrupt {
                level: 8,
                vector: 0x88,
                affinity: 0b11,
                flags: CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE
            }
        );
        assert_eq!(vector_irql(interrupt_vector(63)), 10);
        assert_eq!(vector_irql(interrupt_vector(0)), 7);
    }

    #[test]
    fn the_requirements_list_has_wdm_h_layout() {
        let raw = [
            Resource::Port {
                start: 0xc000,
                length: 0x100,
                flags: CM_RESOURCE_PORT_IO,
            },
            Resource::Interrupt {
                level: 24,
                vector: 24,
                affinity: u64::MAX,
                flags: 0,
            },
        ];
        let bytes = requirements_list(0, slot_number(at(2, 0)), &raw);
        assert_eq!(bytes.len(), 40 + 2 * 32);
        // SAFETY: `bytes` holds the fixed part; read unaligned.
        let head: IO_RESOURCE_REQUIREMENTS_LIST = unsafe {
            bytes
                .as_ptr()
                .cast::<IO_RESOURCE_REQUIREMENTS_LIST>()
                .read_unaligned()
        };
        assert_eq!(
            (
                head.ListSize,
                head.InterfaceType,
                head.SlotNumber,
                head.AlternativeLists,
                head.List[0].Count
            ),
            (104, PCIBus, 2, 1, 2)
        );
        let d = |i: usize| -> IO_RESOURCE_DESCRIPTOR {
            let at = FIRST_REQUIREMENT + REQUIREMENT_BYTES * i;
            // SAFETY: descriptor `i` lies inside `bytes`; read unaligned.
            unsafe {
                bytes[at..at + REQUIREMENT_BYTES]
                    .as_ptr()
                    .cast::<IO_RESOURCE_DESCRIPTOR>()
                    .read_unaligned()
            }
        };
        let port = d(0);
        // SAFETY: a port descriptor's member is `Port`.
        let range = unsafe { port.u.Port };
        assert_eq!(
            (
                port.Type,
                range.Length,
                range.Alignment,
                range.MinimumAddress,
                range.MaximumAddress
            ),
            (CmResourceTypePort, 0x100, 0x100, 0xc000, 0xc0ff)
        );
        let line = d(1);
        // SAFETY: an interrupt descriptor's member is `Interrupt`.
        let i = unsafe { line.u.Interrupt };
        assert_eq!(
            (
                line.Type,
                line.ShareDisposition,
                i.MinimumVector,
                i.MaximumVector
            ),
            (CmResourceTypeInterrupt, CmResourceShareShared, 24, 24)
        );
    }

    #[test]
    fn a_config_image_enumerates_as_its_function() {
        let mut m = Model::xenfv();
        let found = enumerate(&mut m);
        let platform = found.iter().find(|f| f.is_xen_platform()).unwrap().clone();
        let image = config_image(&platform);
        // A config space serving only that image at 00:02.0 (BAR writes of all ones read the
        // size mask back, as the model's do).
        let mut one = Model::default();
        for offset in (0..=252u8).step_by(4) {
            let i = usize::from(offset);
            let value = u32::from_le_bytes(image[i..i + 4].try_into().unwrap());
            if value != 0 || offset == reg::ID {
                one.regs.insert((at(2, 0), offset), value);
            }
        }
        one.bar_masks.insert((at(2, 0), reg::BAR0), 0xffff_ff00);
        one.bar_masks.insert((at(2, 0), reg::BAR0 + 4), 0xff00_0000);
        let again = enumerate(&mut one);
        assert_eq!(again, vec![platform]);
    }
}
