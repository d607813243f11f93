// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The I/O manager, PnP manager and PCI bus checks (`nt.io.*`, `nt.pnp.*`, `nt.pci.*`,
//! `nt.interrupt.*`, `nt.power.*`), without xenbus.sys: the Xen platform device's PDO as the PCI
//! stand-in reports it (the one on the HVM guest's bus, or the PVH dom0's synthetic one), the
//! checks' WDM driver ([`super::iodrv`]) brought up on it by the PnP manager, then driven as
//! Windows and a driver would: IRPs through `IofCallDriver` with completion routines,
//! `STATUS_MORE_PROCESSING_REQUIRED` forwarding, an IRP from `IoAllocateIrp` that its
//! completion routine frees, `BUS_INTERFACE_STANDARD` on configuration space, work items,
//! relations invalidated and re-queried (a child added, one reported missing), power IRPs from
//! `PoRequestPowerIrp`, the line interrupt delivered at the poll point from a real Xen event,
//! a reference that keeps a deleted device alive; then the teardown and the audit: every device
//! object deleted and freed, every IRP and work item freed, every interrupt disconnected.
//!
//! Remove locks (`nt.remove_lock.*`, [`remove_locks`]) are checked from the kernel-object checks
//! instead, while `ktest.sys` is loaded: the removal that must wait needs a system thread, whose
//! start routine must lie in a loaded image's code.

use super::iodrv::{self, COMPLETIONS, ISR_CALLS, ISR_CLAIMED, ISR_IRQL, WORK_RAN};
use super::ktest::{Ktest, MS, kernel};
use super::{drv, eq};
use crate::harness::check;
use crate::nt::kcall::{self, code_address};
use crate::nt::pnp::{self, State};
use crate::nt::routines::{self, DriverObject, interrupt, io, irp, po, remove_lock, work};
use crate::nt::{pci_bus, sched, verifier};
use crate::suite::{hv, shm};
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use ntddk::{
    BUS_INTERFACE_STANDARD, BusQueryDeviceID, BusRelations, CONNECT_FULLY_SPECIFIED,
    DEVICE_CAPABILITIES, DEVICE_OBJECT, DISPATCHER_HEADER, DO_BUS_ENUMERATED_DEVICE,
    DO_DEVICE_INITIALIZING, DRIVER_OBJECT, IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    IO_CONNECT_INTERRUPT_PARAMETERS, IO_DISCONNECT_INTERRUPT_CONTEXT,
    IO_DISCONNECT_INTERRUPT_PARAMETERS, IO_REMOVE_LOCK_COMMON_BLOCK, IO_STACK_LOCATION,
    IO_STACK_LOCATION_QUERY_ID, IO_STACK_LOCATION_QUERY_INTERFACE, IRP_MJ_PNP, IRP_MN_QUERY_ID,
    IRP_MN_QUERY_INTERFACE, IRP_MN_QUERY_PNP_DEVICE_STATE, IRP_MN_SET_POWER,
    IRP_MN_SURPRISE_REMOVAL, PowerDeviceD0, PowerDeviceD3, STATUS_MORE_PROCESSING_REQUIRED,
    STATUS_NOT_SUPPORTED, STATUS_PENDING, STATUS_SUCCESS,
};
use ntstatus::NtStatus;
use xen_headers::xen::DOMID_SELF;
use xen_pvh_test::pci::{self, Function, Resource};

/// One descriptor of a `CM_RESOURCE_LIST`: type, and for an interrupt `(level, vector,
/// affinity)`, for a range `(start, length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Descriptor {
    Range(u8, u64, u32),
    Interrupt(u16, u32, u64),
    Other(u8),
}

/// The descriptors of a one-list `CM_RESOURCE_LIST`.
fn descriptors(list: &[u8]) -> Vec<Descriptor> {
    let read = |at: usize, n: usize| list.get(at..at + n);
    let count = read(16, 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    (0..usize::try_from(count).unwrap_or(0))
        .map_while(|i| {
            let at = pci::FIRST_DESCRIPTOR + pci::DESCRIPTOR_BYTES * i;
            let kind = *read(at, 1)?.first()?;
            let u16_at = |o| {
                read(at + o, 2)
                    .and_then(|b| b.try_into().ok())
                    .map(u16::from_le_bytes)
            };
            let u32_at = |o| {
                read(at + o, 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_le_bytes)
            };
            let u64_at = |o| {
                read(at + o, 8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
            };
            Some(match kind {
                ntddk::CmResourceTypePort | ntddk::CmResourceTypeMemory => {
                    Descriptor::Range(kind, u64_at(4)?, u32_at(12)?)
                }
                ntddk::CmResourceTypeInterrupt => {
                    Descriptor::Interrupt(u16_at(4)?, u32_at(8)?, u64_at(12)?)
                }
                k => Descriptor::Other(k),
            })
        })
        .collect()
}

/// The descriptors `resources` should give.
fn expected(resources: &[Resource]) -> Vec<Descriptor> {
    resources
        .iter()
        .map(|r| match *r {
            Resource::Port { start, length, .. } => {
                Descriptor::Range(ntddk::CmResourceTypePort, start, length)
            }
            Resource::Memory { start, length, .. } => {
                Descriptor::Range(ntddk::CmResourceTypeMemory, start, length)
            }
            Resource::Interrupt {
                level,
                vector,
                affinity,
                ..
            } => Descriptor::Interrupt(level, vector, affinity),
        })
        .collect()
}

/// Runs the checks on the platform function among `functions` (the HVM guest's bus) or, when
/// there is none (PVH dom0), on the synthetic one.
pub fn run(functions: &[Function]) {
    let (f, on_bus) = functions.iter().find(|f| f.is_xen_platform()).map_or_else(
        || (pci_bus::synthetic_platform(), false),
        |f| (f.clone(), true),
    );
    let pdo = pci_bus::report(&f, on_bus);
    pci_pdo(&f, pdo);
    let driver = iodrv::driver();
    let fdo = add_device(driver, pdo);
    start(&f, pdo, fdo);
    driver_irp(pdo, fdo);
    bus_interface(&f, pdo);
    power(pdo);
    interrupts(&f, pdo);
    relations(pdo);
    teardown(driver, pdo, fdo);
    audit(pdo);
}

/// What the PnP manager learnt from the PCI PDO before any driver ran.
fn pci_pdo(f: &Function, pdo: usize) {
    let record = pci::Pdo::for_function(f);
    let Some(node) = pnp::node(pdo) else {
        check("nt.pci.pdo_reported", false, format_args!("no node"));
        return;
    };
    let id = &node.identity;
    check(
        "nt.pci.pdo_reported",
        node.state == State::Enumerated
            && node.pdo == pdo
            && io::device(pdo).is_some_and(|d| d.driver == pci_bus::driver())
            && flags(pdo) & DO_BUS_ENUMERATED_DEVICE != 0
            && flags(pdo) & DO_DEVICE_INITIALIZING == 0,
        format_args!(
            "{pdo:#x} of \\Driver\\pci for {} ({})",
            f.bdf,
            f.description()
        ),
    );
    check(
        "nt.pci.query_id",
        id.device_id == record.device_id
            && id.hardware_ids == record.hardware_ids
            && id.compatible_ids == record.compatible_ids
            && id.instance_id == record.instance_id,
        format_args!(
            "DeviceID {}, {} hardware IDs, {} compatible IDs, InstanceID {}",
            id.device_id,
            id.hardware_ids.len(),
            id.compatible_ids.len(),
            id.instance_id
        ),
    );
    check(
        "nt.pci.query_device_text",
        id.description == f.description() && id.location == record.location,
        format_args!("{:?}, {:?}", id.description, id.location),
    );
    let caps = id.capabilities;
    check(
        "nt.pci.query_capabilities",
        caps.is_some_and(|c| {
            c.Address == u32::from(f.bdf.device) << 16 | u32::from(f.bdf.function)
                && c.DeviceState.get(1) == Some(&PowerDeviceD0)
                && c.DeviceState.get(4) == Some(&PowerDeviceD3)
                && !c.get(DEVICE_CAPABILITIES::UniqueID)
                && !c.get(DEVICE_CAPABILITIES::Removable)
        }),
        format_args!(
            "Address {:#x}, D-states {:?}",
            caps.map_or(0, |c| c.Address),
            caps.map(|c| c.DeviceState)
        ),
    );
    check(
        "nt.pci.query_bus_information",
        id.bus == Some((pci_bus::GUID_BUS_TYPE_PCI, ntddk::PCIBus, 0)),
        format_args!("{:?}", id.bus.map(|(_, t, n)| (t, n))),
    );
    let requirements = id.requirements.clone().unwrap_or_default();
    check(
        "nt.pci.query_resource_requirements",
        requirements == pci::requirements_list(0, pci::slot_number(f.bdf), &record.resources),
        format_args!(
            "{} bytes, {} requirements",
            requirements.len(),
            record.resources.len()
        ),
    );
    let translated = pci_bus::translated(pdo);
    let gsi = pci::xen_intx_gsi(f.bdf, f.interrupt_pin).unwrap_or(0);
    let line = translated.iter().find_map(|r| match *r {
        Resource::Interrupt { level, vector, .. } => Some((level, vector)),
        _ => None,
    });
    check(
        "nt.pci.translated_interrupt",
        line == Some((
            u16::from(pci::vector_irql(pci::interrupt_vector(gsi))),
            pci::interrupt_vector(gsi),
        )) && node.line.is_some_and(|l| l.shared && !l.latched),
        format_args!("GSI {gsi} -> (IRQL, vector) {line:?}"),
    );
}

/// A device object's `Flags`.
fn flags(device: usize) -> u32 {
    io::device_object(device)
        .get(offset_of!(DEVICE_OBJECT, Flags))
        .unwrap_or(0)
}

/// A device object's `StackSize`.
fn stack_size(device: usize) -> i8 {
    io::device_object(device)
        .get(offset_of!(DEVICE_OBJECT, StackSize))
        .unwrap_or(0)
}

/// `AddDevice` through the PnP manager; the FDO.
fn add_device(driver: usize, pdo: usize) -> usize {
    let status = pnp::add_device(driver, pdo);
    let r = iodrv::record();
    let fdo = r.fdo;
    let attached: usize = io::device_object(pdo)
        .get(offset_of!(DEVICE_OBJECT, AttachedDevice))
        .unwrap_or(0);
    let head: usize = io::driver_object(driver)
        .get(offset_of!(DRIVER_OBJECT, DeviceObject))
        .unwrap_or(0);
    check(
        "nt.io.create_device",
        status == STATUS_SUCCESS
            && fdo != 0
            && r.extension_zeroed
            && r.created_flags & DO_DEVICE_INITIALIZING != 0
            && head == fdo
            && io::device(fdo).is_some_and(|d| d.references == 1),
        format_args!(
            "AddDevice {:#x}: FDO {fdo:#x}, extension zeroed {}, flags at creation {:#x}, \
             driver's first device {head:#x}",
            status.cast_unsigned(),
            r.extension_zeroed,
            r.created_flags
        ),
    );
    check(
        "nt.io.attach_device_to_device_stack",
        r.lower == pdo && attached == fdo && stack_size(fdo) == stack_size(pdo) + 1,
        format_args!(
            "returned {:#x} (the PDO {pdo:#x}), PDO's AttachedDevice {attached:#x}, StackSize \
             {} over {}",
            r.lower,
            stack_size(fdo),
            stack_size(pdo)
        ),
    );
    fdo
}

/// The start sequence and what followed it.
fn start(f: &Function, pdo: usize, fdo: usize) {
    let completions = COMPLETIONS.load(Ordering::SeqCst);
    let before = pnp::sent();
    let reply = pnp::start(pdo);
    let after = pnp::sent();
    let sent = |minor: u8| {
        after.get(&minor).copied().unwrap_or(0) - before.get(&minor).copied().unwrap_or(0)
    };
    let r = iodrv::record();
    check(
        "nt.pnp.start_sequence",
        reply.ok()
            && pnp::node(pdo).is_some_and(|n| n.state == State::Started)
            && [
                ntddk::IRP_MN_FILTER_RESOURCE_REQUIREMENTS,
                ntddk::IRP_MN_START_DEVICE,
                ntddk::IRP_MN_QUERY_CAPABILITIES,
                IRP_MN_QUERY_PNP_DEVICE_STATE,
                ntddk::IRP_MN_QUERY_DEVICE_RELATIONS,
            ]
            .iter()
            .all(|&m| sent(m) >= 1),
        format_args!(
            "START {:#x}, IRPs sent {after:?}",
            reply.status.cast_unsigned()
        ),
    );
    check(
        "nt.io.forward_more_processing_required",
        r.start_lower_status == Some(STATUS_SUCCESS)
            && COMPLETIONS.load(Ordering::SeqCst) >= completions + 2,
        format_args!(
            "the PDO completed START with {:?}; the FDO's completion routine kept it and the FDO \
             completed it again",
            r.start_lower_status.map(i32::cast_unsigned)
        ),
    );
    let record = pci::Pdo::for_function(f);
    let translated = pci::translate(&record.resources, routines::ke::processors());
    let (raw_got, translated_got) = (descriptors(&r.start_lists.0), descriptors(&r.start_lists.1));
    check(
        "nt.pnp.start_resources",
        raw_got == expected(&record.resources) && translated_got == expected(&translated),
        format_args!("raw {raw_got:x?}, translated {translated_got:x?}"),
    );
    check(
        "nt.interrupt.connect_line_based",
        r.connect_status == Some(STATUS_SUCCESS) && r.interrupt != 0,
        format_args!(
            "status {:?}, interrupt object {:#x}",
            r.connect_status.map(i32::cast_unsigned),
            r.interrupt
        ),
    );
    let node = pnp::node(pdo);
    let child = r.children.first().copied().unwrap_or(0);
    let child_node = pnp::node(child);
    check(
        "nt.pnp.child_enumerated",
        child != 0
            && node
                .as_ref()
                .is_some_and(|n| n.children.first() == Some(&child))
            && child_node.as_ref().is_some_and(|c| {
                c.state == State::Started
                    && c.parent == Some(pdo)
                    && c.identity.device_id == r"XTK\CHILD"
                    && c.identity.hardware_ids == [r"XTK\CHILD_0", r"XTK\CHILD"]
                    && c.identity.instance_id == "0"
                    && c.identity.description == "Stand-in test child"
                    && c.identity.bus.is_some_and(|b| b.0 == iodrv::BUS_GUID)
                    && c.identity
                        .capabilities
                        .is_some_and(|caps| caps.get(DEVICE_CAPABILITIES::UniqueID))
            })
            && flags(child) & DO_BUS_ENUMERATED_DEVICE != 0,
        format_args!(
            "child {child:#x}: {:?}",
            child_node.map(|c| (c.state, c.identity.device_id, c.identity.location))
        ),
    );
    let _ = fdo;
    after_start(pdo);
}

/// The PnP manager's loop after the start: the work item queued at START ran and invalidated
/// the relations, which were queried again.
fn after_start(pdo: usize) {
    let rounds = pnp::settle();
    let r = iodrv::record();
    let node = pnp::node(pdo);
    check(
        "nt.io.work_item_ran_at_passive",
        WORK_RAN.load(Ordering::SeqCst) == 1 && work::all_outstanding().is_empty(),
        format_args!(
            "{} routine(s) ran, {} item(s) left ({rounds} rounds of the PnP loop)",
            WORK_RAN.load(Ordering::SeqCst),
            work::all_outstanding().len()
        ),
    );
    check(
        "nt.pnp.relations_invalidated_and_requeried",
        r.relation_queries == 2
            && node.as_ref().is_some_and(|n| {
                n.children.len() == iodrv::MAX_CHILDREN && n.relation_queries == 2
            })
            && r.children
                .iter()
                .all(|&c| pnp::node(c).is_some_and(|n| n.state == State::Started)),
        format_args!(
            "{} queries; children {:x?}",
            r.relation_queries,
            node.map(|n| n.children)
        ),
    );
}

/// Set by [`query_id_done`].
static DONE_DEVICE: AtomicUsize = AtomicUsize::new(usize::MAX);
static DONE_STATUS: AtomicU32 = AtomicU32::new(0);
static DONE_INFORMATION: AtomicUsize = AtomicUsize::new(0);

/// The completion routine of the checks' own IRP: records it, frees it, keeps it.
extern "win64" fn query_id_done(
    device: *mut c_void,
    irp_p: *mut c_void,
    _context: *mut c_void,
) -> NtStatus {
    DONE_DEVICE.store(device.addr(), Ordering::SeqCst);
    DONE_STATUS.store(irp::status(irp_p.addr()).cast_unsigned(), Ordering::SeqCst);
    DONE_INFORMATION.store(irp::information(irp_p.addr()), Ordering::SeqCst);
    // SAFETY: the IRP the checks allocated with IoAllocateIrp; its completion is done.
    unsafe { kcall::io_free_irp(irp_p) };
    STATUS_MORE_PROCESSING_REQUIRED
}

/// Sends a PnP IRP built the driver's way (`IoAllocateIrp` for the stack's top, the completion
/// routine freeing it): `(status, information, the completion routine's device object)`.
fn driver_send(top: usize, minor: u8, fill: impl FnOnce(DriverObject)) -> (NtStatus, usize, usize) {
    // SAFETY: a valid request.
    let p = unsafe { kcall::io_allocate_irp(stack_size(top), 0) };
    irp::set_status(p.addr(), STATUS_NOT_SUPPORTED);
    if let Some(next) = irp::next_location(p.addr()) {
        next.set(offset_of!(IO_STACK_LOCATION, MajorFunction), IRP_MJ_PNP);
        next.set(offset_of!(IO_STACK_LOCATION, MinorFunction), minor);
        fill(next);
    }
    iodrv::set_completion(p.addr(), code_address!(query_id_done), 0);
    DONE_DEVICE.store(usize::MAX, Ordering::SeqCst);
    // SAFETY: the top of the stack and the fresh IRP, its first location set up.
    let status = unsafe { kcall::iof_call_driver(core::ptr::with_exposed_provenance_mut(top), p) };
    if status == STATUS_PENDING {
        let _ = pnp::settle();
    }
    (
        DONE_STATUS.load(Ordering::SeqCst).cast_signed(),
        DONE_INFORMATION.load(Ordering::SeqCst),
        DONE_DEVICE.load(Ordering::SeqCst),
    )
}

/// An IRP of the driver's own through the stack: `IoGetAttachedDeviceReference`,
/// `IoAllocateIrp`, the completion routine freeing it.
fn driver_irp(pdo: usize, fdo: usize) {
    // SAFETY: the PDO, live.
    let top = unsafe {
        kcall::io_get_attached_device_reference(core::ptr::with_exposed_provenance_mut(pdo))
    };
    let references = io::device(fdo).map_or(0, |d| d.references);
    check(
        "nt.io.get_attached_device_reference",
        top.addr() == fdo && references == 2,
        format_args!("top {:#x}, references {references}", top.addr()),
    );
    let irps = irp::counts();
    let (status, information, device) = driver_send(fdo, IRP_MN_QUERY_ID, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_QUERY_ID {
                IdType: BusQueryDeviceID,
            },
        );
    });
    let text = read_wide(information);
    let after = irp::counts();
    check(
        "nt.io.allocate_irp_call_driver_free",
        status == STATUS_SUCCESS
            && text
                == pnp::node(pdo)
                    .map(|n| n.identity.device_id)
                    .unwrap_or_default()
            && device == 0
            && after.0 == irps.0 + 1
            && after.1 == irps.1,
        format_args!(
            "QUERY_ID {:#x} {text:?}; the completion routine saw device {device:#x} (the top \
             location's: NULL) and freed the IRP ({} live IRPs before, {} after)",
            status.cast_unsigned(),
            irps.1,
            after.1
        ),
    );
    // SAFETY: the reference IoGetAttachedDeviceReference took.
    let count = unsafe { kcall::obf_dereference_object(top) };
    eq("nt.io.dereference_object", count, 1);
}

/// The UTF-16 string in the pool block at `p` (freed after).
fn read_wide(p: usize) -> String {
    let Some(block) = routines::pool::block(p) else {
        return String::new();
    };
    // SAFETY: a live pool block of `block.size` bytes.
    let o = unsafe { DriverObject::new(p, block.size) };
    let units: Vec<u16> = (0..block.size / 2)
        .map_while(|i| o.get::<u16>(2 * i).filter(|&u| u != 0))
        .collect();
    // SAFETY: the answer's block, which the caller owns now.
    unsafe { kcall::ex_free_pool(core::ptr::with_exposed_provenance_mut(p)) };
    char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{fffd}'))
        .collect()
}

/// `QUERY_INTERFACE`'s parameters.
type Q = IO_STACK_LOCATION_QUERY_INTERFACE;
/// `BUS_INTERFACE_STANDARD.GetBusData`.
type Get = unsafe extern "win64" fn(*mut c_void, u32, *mut c_void, u32, u32) -> u32;
/// `BUS_INTERFACE_STANDARD.InterfaceDereference`.
type Dereference = unsafe extern "win64" fn(*mut c_void);
/// The fully specified connection parameters.
type F = IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS;

/// `BUS_INTERFACE_STANDARD` from the PCI PDO, through the stack: configuration space read.
fn bus_interface(f: &Function, pdo: usize) {
    let fdo = io::attached_top(pdo);
    let guid = pci_bus::GUID_BUS_INTERFACE_STANDARD;
    // SAFETY: BUS_INTERFACE_STANDARD is plain data; all-zero is valid.
    let mut interface: BUS_INTERFACE_STANDARD = unsafe { core::mem::zeroed() };
    let at = (&raw mut interface).addr();
    let (status, _, _) = driver_send(fdo, IRP_MN_QUERY_INTERFACE, |l| {
        let p = offset_of!(IO_STACK_LOCATION, Parameters);
        l.set(p + offset_of!(Q, InterfaceType), (&raw const guid).addr());
        l.set(
            p + offset_of!(Q, Size),
            u16::try_from(size_of::<BUS_INTERFACE_STANDARD>()).unwrap_or(0),
        );
        l.set(p + offset_of!(Q, Version), 1u16);
        l.set(p + offset_of!(Q, Interface), at);
        l.set(p + offset_of!(Q, InterfaceSpecificData), 0usize);
    });
    // SAFETY: the interface the PDO filled (or zeroes).
    let o = unsafe { DriverObject::new(at, size_of::<BUS_INTERFACE_STANDARD>()) };
    let context: usize = o
        .get(offset_of!(BUS_INTERFACE_STANDARD, Context))
        .unwrap_or(0);
    let get: usize = o
        .get(offset_of!(BUS_INTERFACE_STANDARD, GetBusData))
        .unwrap_or(0);
    let dereference: usize = o
        .get(offset_of!(BUS_INTERFACE_STANDARD, InterfaceDereference))
        .unwrap_or(0);
    let held = pci_bus::interface_references(pdo);
    let mut ids = [0u8; 4];
    let mut header = [0u8; 64];
    let (mut n, mut m) = (0, 0);
    if status == STATUS_SUCCESS && get != 0 && dereference != 0 {
        // SAFETY: the interface's GetBusData (the PCI stand-in's code).
        let get = unsafe { core::mem::transmute::<usize, Get>(get) };
        let context = core::ptr::with_exposed_provenance_mut(context);
        // SAFETY: the interface's context; 4 writable bytes.
        n = drv(|| unsafe { get(context, 0, ids.as_mut_ptr().cast(), 0, 4) });
        // SAFETY: as above; 64 writable bytes.
        m = drv(|| unsafe { get(context, 0, header.as_mut_ptr().cast(), 0, 64) });
        // SAFETY: the interface's InterfaceDereference.
        let dereference = unsafe { core::mem::transmute::<usize, Dereference>(dereference) };
        // SAFETY: returns the reference the query took.
        drv(|| unsafe { dereference(context) });
    }
    let want = pci::config_image(f);
    let vendor = u16::from_le_bytes([ids[0], ids[1]]);
    let device = u16::from_le_bytes([ids[2], ids[3]]);
    check(
        "nt.pci.bus_interface_standard",
        status == STATUS_SUCCESS
            && held == 1
            && n == 4
            && (vendor, device) == (f.vendor, f.device)
            && m == 64
            && header.get(8..12) == want.get(8..12)
            && header.get(0x2c..0x30) == want.get(0x2c..0x30)
            && pci_bus::interface_references(pdo) == 0,
        format_args!(
            "QUERY_INTERFACE {:#x}, {held} reference; GetBusData: {n} bytes {vendor:04x}:{device:04x}, \
             {m}-byte header; references after InterfaceDereference {}",
            status.cast_unsigned(),
            pci_bus::interface_references(pdo)
        ),
    );
}

/// Set by [`power_done`].
static POWER_DONE: spin::Mutex<Vec<(usize, u8, u32, NtStatus)>> = spin::Mutex::new(Vec::new());

/// `REQUEST_POWER_COMPLETE`.
extern "win64" fn power_done(
    device: *mut c_void,
    minor: u8,
    state: u32,
    _context: *mut c_void,
    status: *mut c_void,
) {
    let s = if status.is_null() {
        0
    } else {
        // SAFETY: the IRP's IO_STATUS_BLOCK, readable for the call.
        let o = unsafe { DriverObject::new(status.addr(), size_of::<ntddk::IO_STATUS_BLOCK>()) };
        o.get::<u32>(0).unwrap_or(0).cast_signed()
    };
    POWER_DONE.lock().push((device.addr(), minor, state, s));
}

/// Device power IRPs from `PoRequestPowerIrp` down the stack to the PDO.
fn power(pdo: usize) {
    let (requested, completed) = po::requests();
    let mut results = Vec::new();
    for state in [PowerDeviceD3, PowerDeviceD0] {
        let mut out: *mut c_void = core::ptr::null_mut();
        // SAFETY: the PDO, live; this module's completion function; a writable output.
        let status = unsafe {
            kcall::po_request_power_irp(
                core::ptr::with_exposed_provenance_mut(pdo),
                IRP_MN_SET_POWER,
                state.cast_unsigned(),
                code_address!(power_done),
                core::ptr::null_mut(),
                &raw mut out,
            )
        };
        let after_state = io::device(pdo).map_or(0, |d| d.power.1);
        results.push((status, !out.is_null(), after_state));
    }
    let done = core::mem::take(&mut *POWER_DONE.lock());
    let want_done = [
        (
            pdo,
            IRP_MN_SET_POWER,
            PowerDeviceD3.cast_unsigned(),
            STATUS_SUCCESS,
        ),
        (
            pdo,
            IRP_MN_SET_POWER,
            PowerDeviceD0.cast_unsigned(),
            STATUS_SUCCESS,
        ),
    ];
    check(
        "nt.power.request_power_irp",
        results
            == [
                (STATUS_PENDING, true, PowerDeviceD3.cast_unsigned()),
                (STATUS_PENDING, true, PowerDeviceD0.cast_unsigned()),
            ]
            && done == want_done
            && po::requests() == (requested + 2, completed + 2),
        format_args!("{results:x?}; completion functions {done:x?}"),
    );
}

/// What [`synchronized`] saw.
static SYNC_IRQL: AtomicU32 = AtomicU32::new(0);

extern "win64" fn synchronized(_context: *mut c_void) -> u8 {
    SYNC_IRQL.store(u32::from(verifier::irql()), Ordering::SeqCst);
    1
}

/// A loopback event channel bound to vCPU 0 and unmasked, with nothing pending: `(sender,
/// receiver)`.
fn loopback() -> Option<(u32, u32)> {
    let a = xen::event_channel::allocate_unbound(hv(), DOMID_SELF).ok()?;
    let b = xen::event_channel::bind_inter_domain(hv(), DOMID_SELF, a).ok()?;
    shm::clear_pending(a);
    shm::clear_pending(b);
    let _ = xen::event_channel::unmask(hv(), b);
    Some((a, b))
}

/// Clears vCPU 0's upcall flag and selector.
fn acknowledge() {
    let vi = crate::events::VCPU_INFO
        .first()
        .map_or(core::ptr::null_mut(), |p| p.load(Ordering::SeqCst));
    if vi.is_null() {
        return;
    }
    // SAFETY: vCPU 0's live vcpu_info.
    unsafe { crate::events::upcall_pending_flag(vi) }.store(0, Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { crate::events::pending_sel_word(vi) }.store(0, Ordering::SeqCst);
}

/// The line interrupt, delivered at the poll point from a real event; the lock routines; a
/// fully specified connection as xenbus.sys makes it.
fn interrupts(f: &Function, pdo: usize) {
    let mut name: Vec<u16> = "IoConnectInterruptEx".encode_utf16().collect();
    let string = crate::nt::unicode_string(&mut name);
    // SAFETY: a valid UNICODE_STRING over `name`.
    let found = unsafe { kcall::mm_get_system_routine_address(&raw const string) };
    check(
        "nt.interrupt.reached_through_system_routine_address",
        routines::lookup("IoConnectInterruptEx").map(|r| r.address) == Some(found.addr() as u64)
            && found.addr() != 0,
        format_args!("IoConnectInterruptEx at {:#x}", found.addr()),
    );
    let Some((a, b)) = loopback() else {
        check(
            "nt.interrupt.delivered_from_xen_event",
            false,
            format_args!("no loopback channel"),
        );
        return;
    };
    acknowledge();
    let (calls, claimed) = (
        ISR_CALLS.load(Ordering::SeqCst),
        ISR_CLAIMED.load(Ordering::SeqCst),
    );
    let quiet = interrupt::poll();
    let _ = xen::event_channel::send(hv(), a);
    let asserted = interrupt::xen_upcall_pending();
    let delivered = interrupt::poll();
    let gsi = pci::xen_intx_gsi(f.bdf, f.interrupt_pin).unwrap_or(0);
    let dirql = pci::vector_irql(pci::interrupt_vector(gsi));
    check(
        "nt.interrupt.delivered_from_xen_event",
        quiet == 0
            && asserted
            && delivered >= 1
            && ISR_CLAIMED.load(Ordering::SeqCst) == claimed + 1
            && ISR_IRQL.load(Ordering::SeqCst) == u32::from(dirql)
            && !interrupt::xen_upcall_pending()
            && verifier::irql() == 0,
        format_args!(
            "port {b}: before the send {quiet} calls; after it the line is asserted ({asserted}), \
             {delivered} call(s), {} claimed, at IRQL {} (DIRQL {dirql}); {} calls in all",
            ISR_CLAIMED.load(Ordering::SeqCst) - claimed,
            ISR_IRQL.load(Ordering::SeqCst),
            ISR_CALLS.load(Ordering::SeqCst) - calls
        ),
    );
    shm::clear_pending(b);
    for p in [a, b] {
        let _ = xen::event_channel::close(hv(), p);
    }
    let object = iodrv::record().interrupt;
    let o = core::ptr::with_exposed_provenance_mut(object);
    // SAFETY: the driver's connected interrupt, at PASSIVE_LEVEL.
    let old = unsafe { kcall::ke_acquire_interrupt_spin_lock(o) };
    let inside = verifier::irql();
    // SAFETY: releases the acquisition above.
    unsafe { kcall::ke_release_interrupt_spin_lock(o, old) };
    // SAFETY: the connected interrupt and this module's routine.
    let result = unsafe {
        kcall::ke_synchronize_execution(o, code_address!(synchronized), core::ptr::null_mut())
    };
    check(
        "nt.interrupt.spin_lock_and_synchronize",
        old == 0
            && inside == dirql
            && result == 1
            && SYNC_IRQL.load(Ordering::SeqCst) == u32::from(dirql)
            && verifier::irql() == 0,
        format_args!(
            "acquired from IRQL {old} at {inside}, synchronize routine at {}, back at {}",
            SYNC_IRQL.load(Ordering::SeqCst),
            verifier::irql()
        ),
    );
    fully_specified(pdo, dirql);
}

/// Connects and disconnects the line the way platform-windows does (`CONNECT_FULLY_SPECIFIED`
/// from the translated resource).
fn fully_specified(pdo: usize, dirql: u8) {
    let Some(line) = pnp::assigned_line(pdo) else {
        check(
            "nt.interrupt.connect_fully_specified",
            false,
            format_args!("no line"),
        );
        return;
    };
    let object = AtomicUsize::new(0);
    // SAFETY: plain data; all-zero is valid.
    let mut p: IO_CONNECT_INTERRUPT_PARAMETERS = unsafe { core::mem::zeroed() };
    p.Version = CONNECT_FULLY_SPECIFIED;
    let raw = (&raw mut p).cast::<c_void>();
    // SAFETY: the parameter block just built.
    let b = unsafe { DriverObject::new(raw.addr(), size_of::<IO_CONNECT_INTERRUPT_PARAMETERS>()) };
    let at = offset_of!(IO_CONNECT_INTERRUPT_PARAMETERS, u);
    b.set(at + offset_of!(F, PhysicalDeviceObject), pdo);
    b.set(at + offset_of!(F, InterruptObject), object.as_ptr().addr());
    b.set(
        at + offset_of!(F, ServiceRoutine),
        code_address!(iodrv::service),
    );
    b.set(at + offset_of!(F, SynchronizeIrql), line.irql);
    b.set(at + offset_of!(F, ShareVector), 1u8);
    b.set(at + offset_of!(F, Vector), line.vector);
    b.set(at + offset_of!(F, Irql), line.irql);
    b.set(at + offset_of!(F, InterruptMode), 0i32);
    b.set(at + offset_of!(F, ProcessorEnableMask), line.affinity);
    // SAFETY: valid parameters; `object` writable.
    let status = unsafe { kcall::io_connect_interrupt_ex(raw) };
    let connected = interrupt::all_connected().len();
    let mut d = IO_DISCONNECT_INTERRUPT_PARAMETERS {
        Version: CONNECT_FULLY_SPECIFIED,
        ConnectionContext: IO_DISCONNECT_INTERRUPT_CONTEXT {
            InterruptObject: core::ptr::with_exposed_provenance_mut(object.load(Ordering::SeqCst)),
        },
    };
    if status == STATUS_SUCCESS {
        // SAFETY: the connection just made, disconnected once.
        unsafe { kcall::io_disconnect_interrupt_ex((&raw mut d).cast()) };
    }
    check(
        "nt.interrupt.connect_fully_specified",
        status == STATUS_SUCCESS
            && line.irql == dirql
            && connected == 2
            && interrupt::all_connected().len() == 1,
        format_args!(
            "vector {:#x} IRQL {} affinity {:#x}: {:#x}; {connected} connected, then {}",
            line.vector,
            line.irql,
            line.affinity,
            status.cast_unsigned(),
            interrupt::all_connected().len()
        ),
    );
}

/// Device state invalidated; a child reported missing.
fn relations(pdo: usize) {
    let before = pnp::sent();
    // SAFETY: the PDO the PnP manager enumerated.
    unsafe { kcall::io_invalidate_device_state(core::ptr::with_exposed_provenance_mut(pdo)) };
    let _ = pnp::settle();
    let after = pnp::sent();
    let count =
        |m: &alloc::collections::BTreeMap<u8, u32>, minor| m.get(&minor).copied().unwrap_or(0);
    check(
        "nt.pnp.device_state_invalidated",
        count(&after, IRP_MN_QUERY_PNP_DEVICE_STATE)
            == count(&before, IRP_MN_QUERY_PNP_DEVICE_STATE) + 1,
        format_args!(
            "QUERY_PNP_DEVICE_STATE sent {} times, was {}",
            count(&after, IRP_MN_QUERY_PNP_DEVICE_STATE),
            count(&before, IRP_MN_QUERY_PNP_DEVICE_STATE)
        ),
    );
    let first = iodrv::record().children.first().copied().unwrap_or(0);
    iodrv::update(|r| r.drop_first = true);
    // SAFETY: as above.
    unsafe {
        kcall::io_invalidate_device_relations(
            core::ptr::with_exposed_provenance_mut(pdo),
            BusRelations,
        );
    }
    let _ = pnp::settle();
    let r = iodrv::record();
    let after_drop = pnp::sent();
    check(
        "nt.pnp.missing_child_removed",
        pnp::node(first).is_some_and(|n| n.state == State::Removed)
            && io::device(first).is_some_and(|d| d.freed)
            && r.missing_deleted == 1
            && count(&after_drop, IRP_MN_SURPRISE_REMOVAL)
                == count(&after, IRP_MN_SURPRISE_REMOVAL) + 1
            && pnp::node(pdo).is_some_and(|n| n.children.len() == 1),
        format_args!(
            "child {first:#x}: surprise-removed, removed, deleted by its bus driver and freed \
             when the PnP manager dropped its reference ({} deleted as missing)",
            r.missing_deleted
        ),
    );
}

/// `QUERY_REMOVE`/`REMOVE` of the subtree, a reference keeping the deleted FDO, `DriverUnload`.
fn teardown(driver: usize, pdo: usize, fdo: usize) {
    // SAFETY: the PDO, live: a reference on the top of its stack, the FDO.
    let held = unsafe {
        kcall::io_get_attached_device_reference(core::ptr::with_exposed_provenance_mut(pdo))
    };
    let child = iodrv::record().children.get(1).copied().unwrap_or(0);
    let removal = pnp::remove(pdo);
    let r = iodrv::record();
    let fdo_record = io::device(fdo);
    check(
        "nt.pnp.remove_children_first",
        removal
            .as_ref()
            .is_ok_and(|m| m.removed == [child, pdo] && m.failed.is_empty())
            && r.fdo_removed
            && io::device(child).is_some_and(|d| d.freed),
        format_args!("{removal:x?}; child {child:#x} freed"),
    );
    check(
        "nt.io.delete_pending_while_referenced",
        held.addr() == fdo
            && fdo_record
                .as_ref()
                .is_some_and(|d| d.deleted.is_some() && !d.freed && d.references == 1),
        format_args!(
            "after IoDeleteDevice: {:?}",
            fdo_record.map(|d| (d.deleted.is_some(), d.freed, d.references))
        ),
    );
    // SAFETY: the reference taken above.
    let count = unsafe { kcall::obf_dereference_object(held) };
    check(
        "nt.io.freed_with_last_reference",
        count == 0 && io::device(fdo).is_some_and(|d| d.freed),
        format_args!("count {count}"),
    );
    let unloaded = pnp::unload_driver(driver);
    check(
        "nt.pnp.driver_unload",
        unloaded && iodrv::record().unloaded && io::devices_of(driver).is_empty(),
        format_args!("DriverUnload called with no device objects left"),
    );
}

/// Nothing left: devices, IRPs, work items, interrupts, interface references.
fn audit(pdo: usize) {
    let references = pci_bus::delete(pdo);
    let irps = irp::all_outstanding();
    let items = work::all_outstanding();
    let interrupts = interrupt::all_connected();
    let (created, live) = io::device_counts();
    check(
        "nt.io.nothing_left",
        references == 0
            && io::device(pdo).is_some_and(|d| d.freed)
            && irps.is_empty()
            && items.is_empty()
            && interrupts.is_empty()
            && live == 0,
        format_args!(
            "{references} interface references, {} IRPs, {} work items, {} interrupts, \
             {live} of {created} device objects live",
            irps.len(),
            items.len(),
            interrupts.len()
        ),
    );
}

/// The remove-lock checks' pool block's tag (`XtkR`).
const REMOVE_LOCK_TAG: u32 = u32::from_le_bytes(*b"XtkR");
/// `NonPagedPoolNx`.
const NON_PAGED_POOL_NX: u32 = 512;
/// Where the two locks lie in their block: a free build's (`RemlockSize` 32) and a checked
/// build's (120).
const FREE_LOCK_AT: usize = 0;
const DEBUG_LOCK_AT: usize = 64;
const LOCK_BLOCK_BYTES: usize = DEBUG_LOCK_AT + remove_lock::DEBUG_SIZE as usize;
/// How long the holder thread keeps its acquisition (20 ms), and how long the boot thread
/// waits for it to exit at most (5 s).
const HOLD: i64 = -20 * MS;
const PATIENCE: i64 = -5_000 * MS;
/// The holder thread's tags: its acquisition, and the one it tries once the removal waits.
const HOLDER_TAG: usize = 0x5854_4b48;
const LATE_TAG: usize = 0x5854_4b4c;

/// What [`remove_lock_holder`] saw: its acquisition's status, the status of the one it tried
/// while the removal waited, and whether it released.
static HOLDER_ACQUIRED: AtomicI32 = AtomicI32::new(-1);
static HOLDER_LATE: AtomicI32 = AtomicI32::new(-1);
static HOLDER_RELEASED: AtomicBool = AtomicBool::new(false);

/// `IoInitializeRemoveLockEx(lock, tag, 0, 0, size)`.
fn initialize_lock(lock: usize, size: u32) {
    // SAFETY: `size` bytes of the checks' live non-paged pool block, not in use.
    unsafe {
        kcall::io_initialize_remove_lock_ex(
            core::ptr::with_exposed_provenance_mut(lock),
            REMOVE_LOCK_TAG,
            0,
            0,
            size,
        );
    }
}

/// `IoAcquireRemoveLockEx(lock, tag, __FILE__, __LINE__, size)`.
fn acquire(lock: usize, tag: usize, size: u32) -> NtStatus {
    // SAFETY: a lock the checks initialised in their live pool block; the tag is a value; the
    // file name is NUL-terminated.
    unsafe {
        kcall::io_acquire_remove_lock_ex(
            core::ptr::with_exposed_provenance_mut(lock),
            core::ptr::with_exposed_provenance_mut(tag),
            c"iomgr.rs".as_ptr(),
            line!(),
            size,
        )
    }
}

/// `IoReleaseRemoveLockEx(lock, tag, size)`.
fn release(lock: usize, tag: usize, size: u32) {
    // SAFETY: as `acquire`; `tag` holds an acquisition.
    unsafe {
        kcall::io_release_remove_lock_ex(
            core::ptr::with_exposed_provenance_mut(lock),
            core::ptr::with_exposed_provenance_mut(tag),
            size,
        );
    }
}

/// `IoReleaseRemoveLockAndWaitEx(lock, tag, size)`.
fn release_and_wait(lock: usize, tag: usize, size: u32) {
    // SAFETY: as `release`, once per lock, at PASSIVE_LEVEL.
    unsafe {
        kcall::io_release_remove_lock_and_wait_ex(
            core::ptr::with_exposed_provenance_mut(lock),
            core::ptr::with_exposed_provenance_mut(tag),
            size,
        );
    }
}

/// The lock's common block as the driver sees it: `Removed`, `IoCount`, `RemoveEvent`'s `Type`
/// and `SignalState`.
fn lock_memory(lock: usize) -> (u8, i32, u8, i32) {
    // SAFETY: a lock in the checks' live pool block, at least the common block.
    let o = unsafe { DriverObject::new(lock, size_of::<IO_REMOVE_LOCK_COMMON_BLOCK>()) };
    let event = offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, RemoveEvent);
    (
        o.get(offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, Removed))
            .unwrap_or(0xff),
        o.get(offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, IoCount))
            .unwrap_or(-1),
        o.get(event).unwrap_or(0xff),
        o.get(event + offset_of!(DISPATCHER_HEADER, SignalState))
            .unwrap_or(-1),
    )
}

/// How many acquisitions the kernel records on `lock`.
fn holds(lock: usize) -> usize {
    remove_lock::state(lock).map_or(usize::MAX, |(held, _)| held.len())
}

/// `RemoveLockHolder` (a thread of ktest.sys): acquires the remove lock its context names, holds
/// it 20 ms, tries a second acquisition (the removal waits by then), releases.
extern "win64" fn remove_lock_holder(context: *mut c_void) {
    let lock = context.addr();
    let status = acquire(lock, HOLDER_TAG, remove_lock::FREE_SIZE);
    HOLDER_ACQUIRED.store(status, Ordering::SeqCst);
    if status != STATUS_SUCCESS {
        return;
    }
    let _ = kernel().sleep(HOLD);
    let late = acquire(lock, LATE_TAG, remove_lock::FREE_SIZE);
    HOLDER_LATE.store(late, Ordering::SeqCst);
    if late == STATUS_SUCCESS {
        release(lock, LATE_TAG, remove_lock::FREE_SIZE);
    }
    release(lock, HOLDER_TAG, remove_lock::FREE_SIZE);
    HOLDER_RELEASED.store(true, Ordering::SeqCst);
}

/// The callbacks `ktest.sys` exports for the remove-lock checks.
pub fn callbacks() -> [(&'static str, usize); 1] {
    [("RemoveLockHolder", code_address!(remove_lock_holder))]
}

/// Waits for the thread behind `handle` to exit as a driver does; true when every step worked.
fn join(handle: usize) -> bool {
    let k = kernel();
    let (status, object) = k.object_of(handle, 0);
    let closed = k.close_handle(handle);
    let waited = k.wait(object, Some(PATIENCE));
    let released = k.release(object);
    status == 0 && closed == 0 && waited == 0 && released == 0
}

/// Remove locks (`nt.remove_lock.*`), as a driver uses them on its device extension: both
/// `RemlockSize` variants initialised, acquisitions and releases counted (at `DISPATCH_LEVEL`
/// too), the removal without and with another holder — a system thread of `ktest.sys` (whose
/// code a thread's start routine must be in, hence these run while it is loaded) that keeps its
/// acquisition 20 ms, during which `IoReleaseRemoveLockAndWaitEx` must block — and
/// `STATUS_DELETE_PENDING` after it.
pub fn remove_locks(kt: &Ktest) {
    use remove_lock::{DEBUG_SIZE, FREE_SIZE};
    // SAFETY: a valid request: non-paged, tagged.
    let block = unsafe {
        kcall::ex_allocate_pool_with_tag(NON_PAGED_POOL_NX, LOCK_BLOCK_BYTES, REMOVE_LOCK_TAG)
    };
    if block.is_null() {
        check(
            "nt.remove_lock.initialize",
            false,
            format_args!("no pool for the locks"),
        );
        return;
    }
    let free = block.addr() + FREE_LOCK_AT;
    let debug = block.addr() + DEBUG_LOCK_AT;
    initialize_lock(free, FREE_SIZE);
    initialize_lock(debug, DEBUG_SIZE);
    let fresh = [free, debug].map(|l| (lock_memory(l), remove_lock::state(l)));
    check(
        "nt.remove_lock.initialize",
        fresh.iter().all(|(m, s)| {
            *m == (0, 1, sched::EVENT_SYNCHRONIZATION_OBJECT, 0)
                && s.as_ref()
                    .is_some_and(|(held, removed)| held.is_empty() && !removed)
        }),
        format_args!(
            "(Removed, IoCount, RemoveEvent's Type and SignalState) and the kernel's record, \
             RemlockSize {FREE_SIZE} and {DEBUG_SIZE}: {fresh:x?}"
        ),
    );
    counts(free);
    removal_alone(debug);
    release_and_wait_blocks(kt, free);
    // SAFETY: the checks' block, freed once, nothing in use in it any more.
    unsafe { kcall::ex_free_pool(block) };
    let left = remove_lock::all_outstanding();
    check(
        "nt.remove_lock.nothing_left",
        left.is_empty(),
        format_args!("{} acquisitions held: {left:x?}", left.len()),
    );
}

/// Acquisitions and releases on `lock` (initialised, `RemlockSize` 32, nothing held), the same
/// tag twice and at `DISPATCH_LEVEL` included: `IoCount` and the kernel's record after each.
fn counts(free: usize) {
    use remove_lock::FREE_SIZE;
    let [t1, t2, t3] = [0x11usize, 0x22, 0x33];
    let statuses = [
        acquire(free, t1, FREE_SIZE),
        acquire(free, t2, FREE_SIZE),
        acquire(free, t2, FREE_SIZE),
    ];
    let mut counts = alloc::vec![(lock_memory(free).1, holds(free))];
    release(free, t2, FREE_SIZE);
    counts.push((lock_memory(free).1, holds(free)));
    release(free, t1, FREE_SIZE);
    counts.push((lock_memory(free).1, holds(free)));
    verifier::set_irql(verifier::DISPATCH_LEVEL);
    let at_dispatch = acquire(free, t3, FREE_SIZE);
    let dispatch_count = lock_memory(free).1;
    release(free, t3, FREE_SIZE);
    verifier::set_irql(verifier::PASSIVE_LEVEL);
    release(free, t2, FREE_SIZE);
    counts.push((lock_memory(free).1, holds(free)));
    check(
        "nt.remove_lock.acquire_release_counts",
        statuses == [STATUS_SUCCESS; 3] && counts == [(4, 3), (3, 2), (2, 1), (1, 0)],
        format_args!(
            "acquisitions {statuses:x?} (the same Tag twice included); (IoCount, acquisitions \
             held) after them and each release: {counts:?}"
        ),
    );
    check(
        "nt.remove_lock.at_dispatch_level",
        at_dispatch == STATUS_SUCCESS && dispatch_count == 3 && lock_memory(free).1 == 1,
        format_args!(
            "acquired at DISPATCH_LEVEL: {:#x}, IoCount {dispatch_count}, released there",
            at_dispatch.cast_unsigned()
        ),
    );
}

/// The removal of `debug` (initialised, `RemlockSize` 120, nothing held) with nothing else
/// held: no wait; then `STATUS_DELETE_PENDING` for every acquisition.
fn removal_alone(debug: usize) {
    use remove_lock::{DEBUG_SIZE, STATUS_DELETE_PENDING};
    let [t1, t2, t3] = [0x11usize, 0x22, 0x33];
    let own = acquire(debug, t1, DEBUG_SIZE);
    let before = lock_memory(debug).1;
    let blocked = sched::stats().blocked;
    release_and_wait(debug, t1, DEBUG_SIZE);
    let blocked = sched::stats().blocked.saturating_sub(blocked);
    let after = lock_memory(debug);
    check(
        "nt.remove_lock.release_and_wait_alone",
        own == STATUS_SUCCESS && before == 2 && blocked == 0 && after.0 == 1 && after.1 == 0,
        format_args!(
            "RemlockSize {DEBUG_SIZE}: acquired {:#x}, IoCount {before}; after \
             IoReleaseRemoveLockAndWaitEx (blocked {blocked} times) Removed {}, IoCount {}",
            own.cast_unsigned(),
            after.0,
            after.1
        ),
    );
    let late = acquire(debug, t2, DEBUG_SIZE);
    verifier::set_irql(verifier::DISPATCH_LEVEL);
    let late_dispatch = acquire(debug, t3, DEBUG_SIZE);
    verifier::set_irql(verifier::PASSIVE_LEVEL);
    let state = remove_lock::state(debug);
    check(
        "nt.remove_lock.delete_pending_after_release_and_wait",
        late == STATUS_DELETE_PENDING
            && late_dispatch == STATUS_DELETE_PENDING
            && lock_memory(debug).1 == 0
            && state
                .as_ref()
                .is_some_and(|(held, removed)| held.is_empty() && *removed),
        format_args!(
            "{:#x} and, at DISPATCH_LEVEL, {:#x}; IoCount {}, nothing held: {state:x?}",
            late.cast_unsigned(),
            late_dispatch.cast_unsigned(),
            lock_memory(debug).1
        ),
    );
}

/// `IoReleaseRemoveLockAndWaitEx` on `lock` (initialised, `RemlockSize` 32, nothing held)
/// while a system thread holds it: blocks until the thread released.
fn release_and_wait_blocks(kt: &Ktest, lock: usize) {
    use remove_lock::{FREE_SIZE, STATUS_DELETE_PENDING};
    let k = kernel();
    let own = acquire(lock, 0x44, FREE_SIZE);
    let (status, handle, _) = k.spawn(kt.routine("RemoveLockHolder"), lock);
    // The thread runs until it waits: its acquisition is held.
    sched::settle();
    let holding = (
        HOLDER_ACQUIRED.load(Ordering::SeqCst),
        lock_memory(lock).1,
        holds(lock),
    );
    let blocked = sched::stats().blocked;
    let t0 = k.now();
    release_and_wait(lock, 0x44, FREE_SIZE);
    let elapsed = k.now().saturating_sub(t0);
    let blocked = sched::stats().blocked.saturating_sub(blocked);
    let released = HOLDER_RELEASED.load(Ordering::SeqCst);
    let late = HOLDER_LATE.load(Ordering::SeqCst);
    let after = lock_memory(lock);
    let joined = status == 0 && join(handle);
    check(
        "nt.remove_lock.release_and_wait_blocks_until_released",
        own == STATUS_SUCCESS
            && holding == (STATUS_SUCCESS, 3, 2)
            && blocked >= 1
            && released
            && late == STATUS_DELETE_PENDING
            && elapsed >= 10 * MS.unsigned_abs()
            && after == (1, 0, sched::EVENT_SYNCHRONIZATION_OBJECT, 0)
            && joined,
        format_args!(
            "the thread's acquisition {:#x} (IoCount {}, {} held); IoReleaseRemoveLockAndWaitEx \
             blocked {blocked} time(s), returned after {elapsed} x 100 ns with the thread's \
             release done: {released}; the thread's acquisition meanwhile {:#x}; then (Removed, \
             IoCount, Type, SignalState) {after:?}; thread joined {joined}",
            holding.0.cast_unsigned(),
            holding.1,
            holding.2,
            late.cast_unsigned()
        ),
    );
}
