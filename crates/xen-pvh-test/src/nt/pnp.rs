// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The PnP manager: drivers loaded as Windows loads them, device nodes, and the IRP sequences
//! Windows sends to a device stack from enumeration to removal.
//!
//! * **Drivers** ([`load_driver`]): a loaded image gets a driver object (`\Driver\NAME`, its
//!   range, `MajorFunction` defaulting to the invalid-request routine) and its `DriverEntry`
//!   runs with the service key's path (`\Registry\Machine\SYSTEM\CurrentControlSet\Services\
//!   SERVICE`, from the hive); imports of another driver (xen.sys) were bound by the loader to
//!   that image's exports. [`unload_driver`] calls `DriverUnload` once the driver has no device
//!   objects left.
//! * **Device nodes.** A bus driver's PDO becomes a node when the bus reports it: the PCI
//!   stand-in's PDO through [`enumerated_root`] (with the resources firmware assigned), a
//!   function driver's children through its `IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations)`
//!   answer. For each new PDO the manager sends, as Windows does, `IRP_MN_QUERY_ID` (device,
//!   hardware, compatible, instance IDs), `IRP_MN_QUERY_DEVICE_TEXT` (description, location),
//!   `IRP_MN_QUERY_CAPABILITIES`, `IRP_MN_QUERY_RESOURCE_REQUIREMENTS` and
//!   `IRP_MN_QUERY_BUS_INFORMATION` ([`identify`]); the answers are kept in the node.
//! * **A function driver on a node** ([`add_device`]): `AddDevice` with the PDO; then
//!   [`start`]: `IRP_MN_FILTER_RESOURCE_REQUIREMENTS` (the requirements in
//!   `IoStatus.Information`), `IRP_MN_START_DEVICE` with the raw and translated lists,
//!   `IRP_MN_QUERY_CAPABILITIES`, `IRP_MN_QUERY_PNP_DEVICE_STATE` and
//!   `IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations)`, whose new PDOs are identified, given the
//!   function driver bound to one of their IDs ([`bind`]: `AddDevice`), and started
//!   (`IRP_MN_START_DEVICE` with no resources, then the same queries); a PDO that disappeared
//!   from the relations gets `IRP_MN_SURPRISE_REMOVAL` (if started) and
//!   `IRP_MN_REMOVE_DEVICE`, and the manager drops its reference.
//! * **The loop** ([`settle`]): work items, DPCs, interrupt polls and the ready system threads
//!   ([`crate::nt::sched::settle`]) run until nothing is pending; relations a driver invalidated
//!   (`IoInvalidateDeviceRelations`) are queried again, a state it invalidated
//!   (`IoInvalidateDeviceState`) is queried with `IRP_MN_QUERY_PNP_DEVICE_STATE`. A sender
//!   waiting for a pending IRP runs the same loop.
//! * **Removal** ([`remove`]): `IRP_MN_QUERY_REMOVE_DEVICE` to a node's subtree (children
//!   first; a refusal is answered with `IRP_MN_CANCEL_REMOVE_DEVICE`), then
//!   `IRP_MN_REMOVE_DEVICE` children first; the manager drops the references it held on the
//!   children's PDOs.
//!
//! Every IRP is built as the I/O manager builds it: as many stack locations as the top of the
//! stack's `StackSize`, the top location filled, `IoStatus.Status = STATUS_NOT_SUPPORTED` for a
//! PnP IRP, sent to the top of the stack at `PASSIVE_LEVEL`. Buffers a driver returns
//! (`DEVICE_RELATIONS`, IDs, texts, `PNP_BUS_INFORMATION`, requirement lists) must be pool
//! blocks; the manager reads them within the block and frees them with `ExFreePool`.
//!
//! Checked, as Driver Verifier's PnP checks do: a dispatch routine that returns a status other
//! than `STATUS_PENDING` without completing the IRP, or one that is not the IRP's final status;
//! `STATUS_PENDING` returned for an IRP not marked pending; a returned buffer that is not pool;
//! a relations list naming something that is not a live device object; `AddDevice` leaving
//! `DO_DEVICE_INITIALIZING` set on the device it attached; `DriverUnload` with device objects
//! left; a PDO deleted while the manager still has it; an IRP that never completes.

use crate::kprintln;
use crate::nt::kcall;
use crate::nt::routines::interrupt::Line;
use crate::nt::routines::io;
use crate::nt::routines::{DriverObject, irp, pool};
use crate::nt::verifier::{self, Call, PASSIVE_LEVEL};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{
    BusQueryCompatibleIDs, BusQueryDeviceID, BusQueryHardwareIDs, BusQueryInstanceID, BusRelations,
    CmResourceTypeInterrupt, DEVICE_CAPABILITIES, DEVICE_OBJECT, DEVICE_RELATIONS,
    DO_BUS_ENUMERATED_DEVICE, DO_DEVICE_INITIALIZING, DRIVER_EXTENSION, DRIVER_OBJECT,
    DeviceTextDescription, DeviceTextLocationInformation, GUID, IO_STACK_LOCATION,
    IO_STACK_LOCATION_DEVICE_CAPABILITIES, IO_STACK_LOCATION_FILTER_RESOURCE_REQUIREMENTS,
    IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS, IO_STACK_LOCATION_QUERY_DEVICE_TEXT,
    IO_STACK_LOCATION_QUERY_ID, IO_STACK_LOCATION_START_DEVICE, IRP_MJ_PNP,
    IRP_MN_CANCEL_REMOVE_DEVICE, IRP_MN_FILTER_RESOURCE_REQUIREMENTS, IRP_MN_QUERY_BUS_INFORMATION,
    IRP_MN_QUERY_CAPABILITIES, IRP_MN_QUERY_DEVICE_RELATIONS, IRP_MN_QUERY_DEVICE_TEXT,
    IRP_MN_QUERY_ID, IRP_MN_QUERY_PNP_DEVICE_STATE, IRP_MN_QUERY_REMOVE_DEVICE,
    IRP_MN_QUERY_RESOURCE_REQUIREMENTS, IRP_MN_REMOVE_DEVICE, IRP_MN_START_DEVICE,
    IRP_MN_SURPRISE_REMOVAL, PNP_BUS_INFORMATION, STATUS_NOT_SUPPORTED, STATUS_PENDING,
    UNICODE_STRING,
};
use ntstatus::NtStatus;

/// How many rounds a wait for a pending IRP (or [`settle`]) makes before it gives up.
const MAX_ROUNDS: usize = 200_000;
/// The longest ID or text the manager reads (characters).
const MAX_TEXT: usize = 2048;
/// The pool tag of the manager's own buffers (`PnpM`).
const TAG: u32 = u32::from_le_bytes(*b"PnpM");

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Reported by its bus, not started.
    Enumerated,
    /// `IRP_MN_START_DEVICE` succeeded.
    Started,
    /// `IRP_MN_START_DEVICE` failed with this status.
    StartFailed(NtStatus),
    /// `IRP_MN_REMOVE_DEVICE` was sent.
    Removed,
}

/// What a PDO said about itself ([`identify`]).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `BusQueryDeviceID`.
    pub device_id: String,
    /// `BusQueryHardwareIDs`.
    pub hardware_ids: Vec<String>,
    /// `BusQueryCompatibleIDs`.
    pub compatible_ids: Vec<String>,
    /// `BusQueryInstanceID`.
    pub instance_id: String,
    /// `DeviceTextDescription`.
    pub description: String,
    /// `DeviceTextLocationInformation`.
    pub location: String,
    /// `IRP_MN_QUERY_CAPABILITIES`' answer, if it succeeded.
    pub capabilities: Option<DEVICE_CAPABILITIES>,
    /// `IRP_MN_QUERY_BUS_INFORMATION`'s answer: bus type GUID, legacy type, bus number.
    pub bus: Option<(GUID, i32, u32)>,
    /// `IRP_MN_QUERY_RESOURCE_REQUIREMENTS`' list (bytes), if any.
    pub requirements: Option<Vec<u8>>,
}

/// One device node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its PDO.
    pub pdo: usize,
    /// The parent node's PDO (`None` for a root the stand-in's PCI bus reported).
    pub parent: Option<usize>,
    /// What the PDO answered.
    pub identity: Identity,
    /// Where it is.
    pub state: State,
    /// The raw and translated `CM_RESOURCE_LIST`s to start it with (empty: none).
    pub resources: (Vec<u8>, Vec<u8>),
    /// The line interrupt of its translated resources.
    pub line: Option<Line>,
    /// Its children's PDOs, in the order last reported.
    pub children: Vec<usize>,
    /// Whether the manager holds a reference on the PDO (from a relations list).
    pub referenced: bool,
    /// The last `IRP_MN_QUERY_PNP_DEVICE_STATE` answer.
    pub device_state: Option<u32>,
    /// Times its bus relations were queried.
    pub relation_queries: u32,
}

static NODES: spin::Mutex<BTreeMap<usize, Node>> = spin::Mutex::new(BTreeMap::new());
/// Function drivers for enumerated PDOs: a hardware or compatible ID, the driver object
/// installed for it and the setup class its INF names (what an INF's models section and the
/// driver store do on Windows).
static BINDINGS: spin::Mutex<Vec<(String, usize, &'static str)>> = spin::Mutex::new(Vec::new());
/// Class upper filters: a setup class and a driver object (the class key's `UpperFilters`).
static CLASS_FILTERS: spin::Mutex<Vec<(&'static str, usize)>> = spin::Mutex::new(Vec::new());
static INVALID_RELATIONS: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());
static INVALID_STATE: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());
/// PnP IRPs sent.
static SENT: spin::Mutex<BTreeMap<u8, u32>> = spin::Mutex::new(BTreeMap::new());

/// A copy of the node of `pdo`.
pub fn node(pdo: usize) -> Option<Node> {
    NODES.lock().get(&pdo).cloned()
}

/// Copies of every node, in PDO address order.
pub fn nodes() -> Vec<Node> {
    NODES.lock().values().cloned().collect()
}

/// PnP IRPs sent so far, by minor function.
pub fn sent() -> BTreeMap<u8, u32> {
    SENT.lock().clone()
}

/// Whether `device` is a PDO the manager enumerated.
pub fn is_pdo(device: usize) -> bool {
    NODES.lock().contains_key(&device)
}

/// Whether `device` is a PDO the manager enumerated and has not removed.
pub fn is_live_pdo(device: usize) -> bool {
    NODES
        .lock()
        .get(&device)
        .is_some_and(|n| n.state != State::Removed)
}

/// The line interrupt assigned to PDO `pdo` (what `CONNECT_LINE_BASED` connects).
pub fn assigned_line(pdo: usize) -> Option<Line> {
    NODES.lock().get(&pdo).and_then(|n| n.line)
}

/// Records `IoInvalidateDeviceRelations` (the loop queries them again).
pub fn invalidate_relations(pdo: usize, kind: i32) {
    if kind == BusRelations {
        let mut pending = INVALID_RELATIONS.lock();
        if !pending.contains(&pdo) {
            pending.push(pdo);
        }
    }
}

/// Records `IoInvalidateDeviceState` (the loop queries it).
pub fn invalidate_state(pdo: usize) {
    let mut pending = INVALID_STATE.lock();
    if !pending.contains(&pdo) {
        pending.push(pdo);
    }
}

/// The line interrupt of a translated `CM_RESOURCE_LIST` (the first one).
fn line_of(translated: &[u8]) -> Option<Line> {
    let first = xen_pvh_test::pci::FIRST_DESCRIPTOR;
    let size = xen_pvh_test::pci::DESCRIPTOR_BYTES;
    let count = u32::from_le_bytes(translated.get(16..20)?.try_into().ok()?);
    (0..usize::try_from(count).ok()?).find_map(|i| {
        let d = translated.get(first + size * i..first + size * (i + 1))?;
        if *d.first()? != CmResourceTypeInterrupt {
            return None;
        }
        let share = *d.get(1)?;
        let flags = u16::from_le_bytes(d.get(2..4)?.try_into().ok()?);
        let level = u16::from_le_bytes(d.get(4..6)?.try_into().ok()?);
        Some(Line {
            vector: u32::from_le_bytes(d.get(8..12)?.try_into().ok()?),
            irql: u8::try_from(level).ok()?,
            affinity: u64::from_le_bytes(d.get(12..20)?.try_into().ok()?),
            latched: flags & ntddk::CM_RESOURCE_INTERRUPT_LATCHED != 0,
            shared: share == ntddk::CmResourceShareShared,
        })
    })
}

/// Registers the PDO a stand-in bus reported, with the raw and translated resources firmware
/// assigned it, and identifies it ([`identify`]).
pub fn enumerated_root(pdo: usize, raw: Vec<u8>, translated: Vec<u8>) {
    let line = line_of(&translated);
    NODES.lock().insert(
        pdo,
        Node {
            pdo,
            parent: None,
            identity: Identity::default(),
            state: State::Enumerated,
            resources: (raw, translated),
            line,
            children: Vec::new(),
            referenced: false,
            device_state: None,
            relation_queries: 0,
        },
    );
    let identity = identify(pdo);
    if let Some(n) = NODES.lock().get_mut(&pdo) {
        n.identity = identity;
    }
}

/// The manager's own call context, for the checks it makes on drivers.
const fn kernel(routine: &'static str) -> Call {
    Call {
        routine,
        caller: 0,
        irql: PASSIVE_LEVEL,
    }
}

/// One round of the loop: work items, DPCs, interrupts, then the scheduler lets the ready
/// threads run until each waits. Whether a work item or interrupt ran.
fn step() -> bool {
    let mut ran = crate::nt::routines::work::run_queued() > 0;
    crate::nt::routines::dpc::run_due();
    ran |= crate::nt::routines::interrupt::poll() > 0;
    crate::nt::sched::settle();
    ran
}

/// What a PnP IRP came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// `IoStatus.Status`.
    pub status: NtStatus,
    /// `IoStatus.Information`.
    pub information: usize,
}

impl Reply {
    /// `NT_SUCCESS(status)`.
    #[must_use]
    pub const fn ok(&self) -> bool {
        self.status >= 0
    }
}

/// Sends a PnP IRP with minor function `minor` to the top of `device`'s stack, `fill` setting up
/// its top location's parameters (and `information`, `IoStatus.Information`), and waits for it.
pub fn send(
    device: usize,
    minor: u8,
    information: usize,
    fill: impl FnOnce(DriverObject),
) -> Reply {
    send_major(
        device,
        IRP_MJ_PNP,
        minor,
        STATUS_NOT_SUPPORTED,
        information,
        fill,
    )
}

/// [`send`] for any major function and initial status.
pub fn send_major(
    device: usize,
    major: u8,
    minor: u8,
    initial: NtStatus,
    information: usize,
    fill: impl FnOnce(DriverObject),
) -> Reply {
    let top = io::attached_top(device);
    let stack: i8 = io::device_object(top)
        .get(offset_of!(DEVICE_OBJECT, StackSize))
        .unwrap_or(1);
    let p = irp::allocate(stack, irp::Owner::Kernel, 0);
    irp::set_status(p, initial);
    irp::set_information(p, information);
    if let Some(l) = irp::top_location(p) {
        l.set(offset_of!(IO_STACK_LOCATION, MajorFunction), major);
        l.set(offset_of!(IO_STACK_LOCATION, MinorFunction), minor);
        l.set(offset_of!(IO_STACK_LOCATION, Parameters), [0usize; 4]);
        fill(l);
    }
    if major == IRP_MJ_PNP {
        *SENT.lock().entry(minor).or_insert(0) += 1;
    }
    let call = kernel("PnP manager");
    let returned = crate::nt::call_driver("PnP IRP", || {
        irp::send(
            &call,
            core::ptr::with_exposed_provenance_mut(top),
            core::ptr::with_exposed_provenance_mut(p),
            false,
        )
    });
    let what =
        alloc::format!("the IRP {p:#x} (major {major:#x}, minor {minor:#x}) sent to {top:#x}");
    if returned == STATUS_PENDING {
        let mut rounds = 0;
        while !irp::is_done(p) && rounds < MAX_ROUNDS {
            if !step() {
                crate::arch::pause();
            }
            rounds += 1;
        }
        if !irp::is_done(p) {
            crate::harness::fatal(format_args!(
                "PnP manager: {what} is still pending after {MAX_ROUNDS} rounds of the loop"
            ));
        }
        if !irp::pending_returned(p) {
            verifier::violation(
                "dispatch routine",
                io::dispatch_routine(io::device(top).map_or(0, |d| d.driver), major) as u64,
                format_args!("returned STATUS_PENDING for {what} without marking it pending"),
            );
        }
    } else if !irp::is_done(p) {
        verifier::violation(
            "dispatch routine",
            io::dispatch_routine(io::device(top).map_or(0, |d| d.driver), major) as u64,
            format_args!(
                "returned {:#010x} for {what} but did not complete it (nor return \
                 STATUS_PENDING)",
                returned.cast_unsigned()
            ),
        );
    } else if returned != irp::status(p) {
        verifier::violation(
            "dispatch routine",
            io::dispatch_routine(io::device(top).map_or(0, |d| d.driver), major) as u64,
            format_args!(
                "returned {:#010x} for {what}, completed with {:#010x}",
                returned.cast_unsigned(),
                irp::status(p).cast_unsigned()
            ),
        );
    }
    let reply = Reply {
        status: irp::status(p),
        information: irp::information(p),
    };
    irp::free_kernel(p);
    reply
}

/// The dispatch routine that answered for the stack of `device` (for messages).
fn answering_routine(device: usize, major: u8) -> u64 {
    let top = io::attached_top(device);
    io::dispatch_routine(io::device(top).map_or(0, |d| d.driver), major) as u64
}

/// The bytes of the pool block `p` a driver returned as `what` for the stack of `device`, which
/// the manager then frees (`ExFreePool`); `None` for NULL.
fn take_pool(device: usize, major: u8, p: usize, what: &str) -> Option<Vec<u8>> {
    if p == 0 {
        return None;
    }
    let Some(block) = pool::block(p) else {
        verifier::violation(
            "dispatch routine",
            answering_routine(device, major),
            format_args!("returned {what} {p:#x}, which is not a pool block"),
        );
    };
    // SAFETY: a live pool block of `block.size` bytes (the pool's record), which the driver
    // handed to the manager.
    let o = unsafe { DriverObject::new(p, block.size) };
    let bytes: Vec<u8> = (0..block.size)
        .map(|i| o.get::<u8>(i).unwrap_or(0))
        .collect();
    // SAFETY: the manager owns the block now and frees it, as Windows' does.
    unsafe { kcall::ex_free_pool(core::ptr::with_exposed_provenance_mut(p)) };
    Some(bytes)
}

/// The UTF-16 strings of a `REG_MULTI_SZ`-style buffer (one string if `multi` is false), each up
/// to its NUL, within the buffer.
fn strings(bytes: &[u8], multi: bool) -> Vec<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .take(MAX_TEXT)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    let mut out = Vec::new();
    for part in units.split(|&u| u == 0) {
        if part.is_empty() {
            break;
        }
        out.push(
            char::decode_utf16(part.iter().copied())
                .map(|c| c.unwrap_or('\u{fffd}'))
                .collect(),
        );
        if !multi {
            break;
        }
    }
    out
}

/// `IRP_MN_QUERY_ID` of `kind`.
fn query_id(pdo: usize, kind: i32, multi: bool) -> Vec<String> {
    let reply = send(pdo, IRP_MN_QUERY_ID, 0, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_QUERY_ID { IdType: kind },
        );
    });
    if !reply.ok() {
        return Vec::new();
    }
    take_pool(pdo, IRP_MJ_PNP, reply.information, "an ID")
        .map(|b| strings(&b, multi))
        .unwrap_or_default()
}

/// `IRP_MN_QUERY_DEVICE_TEXT` of `kind` (US English).
fn query_text(pdo: usize, kind: i32) -> String {
    let reply = send(pdo, IRP_MN_QUERY_DEVICE_TEXT, 0, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_QUERY_DEVICE_TEXT {
                DeviceTextType: kind,
                Padding0: 0,
                LocaleId: 0x409,
            },
        );
    });
    if !reply.ok() {
        return String::new();
    }
    take_pool(pdo, IRP_MJ_PNP, reply.information, "a device text")
        .and_then(|b| strings(&b, false).into_iter().next())
        .unwrap_or_default()
}

/// `IRP_MN_QUERY_CAPABILITIES` with the structure the manager initialises as Windows does.
pub fn query_capabilities(device: usize) -> Option<DEVICE_CAPABILITIES> {
    let mut caps = DEVICE_CAPABILITIES {
        Size: u16::try_from(size_of::<DEVICE_CAPABILITIES>()).unwrap_or(0),
        Version: 1,
        Flags: 0,
        Address: u32::MAX,
        UINumber: u32::MAX,
        DeviceState: [0; ntddk::POWER_SYSTEM_MAXIMUM],
        SystemWake: 0,
        DeviceWake: 0,
        D1Latency: 0,
        D2Latency: 0,
        D3Latency: 0,
    };
    let p = &raw mut caps;
    let reply = send(device, IRP_MN_QUERY_CAPABILITIES, 0, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_DEVICE_CAPABILITIES { Capabilities: p },
        );
    });
    reply.ok().then_some(caps)
}

/// `IRP_MN_QUERY_PNP_DEVICE_STATE`: the state bits, if the stack answered.
pub fn query_device_state(device: usize) -> Option<u32> {
    let reply = send(device, IRP_MN_QUERY_PNP_DEVICE_STATE, 0, |_| {});
    let state = reply
        .ok()
        .then(|| u32::try_from(reply.information).unwrap_or(u32::MAX));
    if let Some(n) = NODES.lock().get_mut(&io::stack_bottom(device)) {
        n.device_state = state.or(n.device_state);
    }
    state
}

/// What Windows asks a new PDO before it looks for its driver.
pub fn identify(pdo: usize) -> Identity {
    let single = |kind| {
        query_id(pdo, kind, false)
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    let device_id = single(BusQueryDeviceID);
    let hardware_ids = query_id(pdo, BusQueryHardwareIDs, true);
    let compatible_ids = query_id(pdo, BusQueryCompatibleIDs, true);
    let instance_id = single(BusQueryInstanceID);
    let description = query_text(pdo, DeviceTextDescription);
    let location = query_text(pdo, DeviceTextLocationInformation);
    let capabilities = query_capabilities(pdo);
    let reply = send(pdo, IRP_MN_QUERY_RESOURCE_REQUIREMENTS, 0, |_| {});
    let requirements = if reply.ok() {
        take_pool(pdo, IRP_MJ_PNP, reply.information, "a requirements list")
    } else {
        None
    };
    let reply = send(pdo, IRP_MN_QUERY_BUS_INFORMATION, 0, |_| {});
    let bus = if reply.ok() {
        take_pool(pdo, IRP_MJ_PNP, reply.information, "bus information").and_then(|b| {
            if b.len() < size_of::<PNP_BUS_INFORMATION>() {
                return None;
            }
            // SAFETY: at least a PNP_BUS_INFORMATION's bytes; read unaligned.
            let info = unsafe { b.as_ptr().cast::<PNP_BUS_INFORMATION>().read_unaligned() };
            Some((info.BusTypeGuid, info.LegacyBusType, info.BusNumber))
        })
    } else {
        None
    };
    Identity {
        device_id,
        hardware_ids,
        compatible_ids,
        instance_id,
        description,
        location,
        capabilities,
        bus,
        requirements,
    }
}

/// A fresh pool copy of `bytes` (NULL for none), for a buffer the manager passes in an IRP.
fn pool_copy(bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        return 0;
    }
    // SAFETY: a valid request; the manager frees the block after the IRP.
    let p = unsafe { kcall::ex_allocate_pool_with_tag(kcall::PAGED_POOL, bytes.len(), TAG) };
    if p.is_null() {
        return 0;
    }
    for (i, &b) in bytes.iter().enumerate() {
        // SAFETY: `i` is inside the fresh block of `bytes.len()` bytes.
        unsafe { p.cast::<u8>().wrapping_add(i).write(b) };
    }
    p.addr()
}

/// Frees a pool block the manager passed in an IRP, unless a driver already did.
fn pool_free(p: usize) {
    if p != 0 && pool::block(p).is_some() {
        // SAFETY: the manager's own live block.
        unsafe { kcall::ex_free_pool(core::ptr::with_exposed_provenance_mut(p)) };
    }
}

/// Sets the node's state.
fn set_state(pdo: usize, state: State) {
    if let Some(n) = NODES.lock().get_mut(&pdo) {
        n.state = state;
    }
}

/// Starts node `pdo`'s stack: see the module docs. The `IRP_MN_START_DEVICE` reply.
pub fn start(pdo: usize) -> Reply {
    let Some(n) = node(pdo) else {
        return Reply {
            status: ntddk::STATUS_NO_SUCH_DEVICE,
            information: 0,
        };
    };
    let requirements = n.identity.requirements.clone().unwrap_or_default();
    let list = pool_copy(&requirements);
    let reply = send(pdo, IRP_MN_FILTER_RESOURCE_REQUIREMENTS, list, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_FILTER_RESOURCE_REQUIREMENTS {
                IoResourceRequirementList: core::ptr::with_exposed_provenance_mut(list),
            },
        );
    });
    if reply.ok() && reply.information != list {
        let _ = take_pool(
            pdo,
            IRP_MJ_PNP,
            reply.information,
            "a filtered requirements list",
        );
    }
    pool_free(list);
    if !reply.ok() && reply.status != STATUS_NOT_SUPPORTED {
        set_state(pdo, State::StartFailed(reply.status));
        return reply;
    }
    let raw = pool_copy(&n.resources.0);
    let translated = pool_copy(&n.resources.1);
    let reply = send(pdo, IRP_MN_START_DEVICE, 0, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_START_DEVICE {
                AllocatedResources: core::ptr::with_exposed_provenance_mut(raw),
                AllocatedResourcesTranslated: core::ptr::with_exposed_provenance_mut(translated),
            },
        );
    });
    pool_free(raw);
    pool_free(translated);
    if !reply.ok() {
        set_state(pdo, State::StartFailed(reply.status));
        kprintln!(
            "PNP: start of {pdo:#x} failed with {:#010x}; removing its stack",
            reply.status.cast_unsigned()
        );
        set_state(pdo, State::Removed);
        let _ = send(pdo, IRP_MN_REMOVE_DEVICE, 0, |_| {});
        return reply;
    }
    set_state(pdo, State::Started);
    if let Some(caps) = query_capabilities(pdo)
        && let Some(n) = NODES.lock().get_mut(&pdo)
    {
        n.identity.capabilities = Some(caps);
    }
    let _ = query_device_state(pdo);
    enumerate(pdo);
    reply
}

/// What a resource rebalance got from node `pdo`'s stack ([`rebalance`]).
#[derive(Debug, Clone, Copy)]
pub struct Rebalance {
    /// `IRP_MN_QUERY_STOP_DEVICE`.
    pub query_stop: Reply,
    /// `IRP_MN_STOP_DEVICE`, if the query succeeded.
    pub stop: Option<Reply>,
    /// The start that followed ([`start`]), if the stop was sent.
    pub start: Option<Reply>,
}

/// A resource rebalance as the PnP manager runs one on a started node: `QUERY_STOP`, `STOP`
/// (the node is not started meanwhile), then a start with its resources ([`start`]: the
/// requirements filtered again, `START`, bus relations queried). A refused query gets
/// `CANCEL_STOP` and nothing else.
pub fn rebalance(pdo: usize) -> Rebalance {
    let query_stop = send(pdo, ntddk::IRP_MN_QUERY_STOP_DEVICE, 0, |_| {});
    if !query_stop.ok() {
        let _ = send(pdo, ntddk::IRP_MN_CANCEL_STOP_DEVICE, 0, |_| {});
        return Rebalance {
            query_stop,
            stop: None,
            start: None,
        };
    }
    let stop = send(pdo, ntddk::IRP_MN_STOP_DEVICE, 0, |_| {});
    set_state(pdo, State::Enumerated);
    let start = start(pdo);
    Rebalance {
        query_stop,
        stop: Some(stop),
        start: Some(start),
    }
}

/// The PDOs of a `DEVICE_RELATIONS` list the stack of `pdo` returned.
fn relations(pdo: usize, p: usize) -> Vec<usize> {
    let Some(bytes) = take_pool(pdo, IRP_MJ_PNP, p, "a DEVICE_RELATIONS list") else {
        return Vec::new();
    };
    let word = |at: usize| -> Option<usize> {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(usize::from_le_bytes)
    };
    let count = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let objects = offset_of!(DEVICE_RELATIONS, Objects);
    let mut out = Vec::new();
    for i in 0..usize::try_from(count).unwrap_or(0) {
        let Some(device) = word(objects + 8 * i) else {
            verifier::violation(
                "dispatch routine",
                answering_routine(pdo, IRP_MJ_PNP),
                format_args!(
                    "returned a DEVICE_RELATIONS list of {count} objects in a {}-byte block",
                    bytes.len()
                ),
            );
        };
        if io::device(device).is_none_or(|d| d.freed || d.deleted.is_some()) {
            verifier::violation(
                "dispatch routine",
                answering_routine(pdo, IRP_MJ_PNP),
                format_args!(
                    "returned a DEVICE_RELATIONS list naming {device:#x}, which is not a live \
                     device object"
                ),
            );
        }
        out.push(device);
    }
    out
}

/// Drops the manager's reference on child PDO `pdo`.
fn dereference(pdo: usize) {
    let referenced = NODES.lock().get_mut(&pdo).is_some_and(|n| {
        let was = n.referenced;
        n.referenced = false;
        was
    });
    if referenced {
        let _ = io::reference_device(&kernel("PnP manager"), pdo, -1);
    }
}

/// Queries node `pdo`'s bus relations and handles what changed.
pub fn enumerate(pdo: usize) {
    let reply = send(pdo, IRP_MN_QUERY_DEVICE_RELATIONS, 0, |l| {
        l.set(
            offset_of!(IO_STACK_LOCATION, Parameters),
            IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS { Type: BusRelations },
        );
    });
    if let Some(n) = NODES.lock().get_mut(&pdo) {
        n.relation_queries += 1;
    }
    if !reply.ok() {
        return;
    }
    let reported = relations(pdo, reply.information);
    let before = node(pdo).map(|n| n.children).unwrap_or_default();
    let mut new = Vec::new();
    for &child in &reported {
        if is_pdo(child) {
            // Already known: the manager keeps the reference it holds, not this one.
            let _ = io::reference_device(&kernel("PnP manager"), child, -1);
            continue;
        }
        let o = io::device_object(child);
        let flags: u32 = o.get(offset_of!(DEVICE_OBJECT, Flags)).unwrap_or(0);
        o.set(
            offset_of!(DEVICE_OBJECT, Flags),
            flags | DO_BUS_ENUMERATED_DEVICE,
        );
        NODES.lock().insert(
            child,
            Node {
                pdo: child,
                parent: Some(pdo),
                identity: Identity::default(),
                state: State::Enumerated,
                resources: (Vec::new(), Vec::new()),
                line: None,
                children: Vec::new(),
                referenced: true,
                device_state: None,
                relation_queries: 0,
            },
        );
        new.push(child);
    }
    if let Some(n) = NODES.lock().get_mut(&pdo) {
        n.children.clone_from(&reported);
    }
    for gone in before.iter().filter(|c| !reported.contains(c)) {
        let state = node(*gone).map(|n| n.state);
        if state == Some(State::Removed) {
            continue;
        }
        if state == Some(State::Started) {
            let _ = send(*gone, IRP_MN_SURPRISE_REMOVAL, 0, |_| {});
        }
        remove_one(*gone);
    }
    for child in new {
        let identity = identify(child);
        let driver = bound_driver(&identity);
        // A PCI function's PDO: the resources firmware assigned it (the stand-in has no
        // arbiter; see `pci_bus`).
        let resources = crate::nt::pci_bus::resource_lists(child);
        if let Some(n) = NODES.lock().get_mut(&child) {
            n.identity = identity;
            if let Some((raw, translated)) = resources {
                n.line = line_of(&translated);
                n.resources = (raw, translated);
            }
        }
        if let Some((driver, class)) = driver {
            let status = add_stack(child, driver, class);
            if status < 0 {
                // Windows leaves such a device not started (problem code 31).
                kprintln!(
                    "PNP: AddDevice on {child:#x} failed with {:#010x}; not started",
                    status.cast_unsigned()
                );
                set_state(child, State::StartFailed(status));
                continue;
            }
        }
        let _ = start(child);
    }
}

/// `IRP_MN_REMOVE_DEVICE` to one node (its children already removed); the reply.
fn remove_one(pdo: usize) -> Reply {
    // Removed from the moment the IRP is out: its bus driver may delete the PDO in it.
    set_state(pdo, State::Removed);
    let reply = send(pdo, IRP_MN_REMOVE_DEVICE, 0, |_| {});
    dereference(pdo);
    reply
}

/// Node `pdo` and its subtree, children first.
fn subtree(pdo: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let children = node(pdo).map(|n| n.children).unwrap_or_default();
    for c in children {
        if node(c).is_some_and(|n| n.state != State::Removed) {
            out.extend(subtree(c));
        }
    }
    out.push(pdo);
    out
}

/// What [`remove`] did.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    /// Nodes removed, children first.
    pub removed: Vec<usize>,
    /// `IRP_MN_REMOVE_DEVICE` replies that were not success (a driver must not fail it).
    pub failed: Vec<(usize, NtStatus)>,
}

/// Removes node `pdo` and its subtree as Windows does when the device is disabled or
/// uninstalled: see the module docs.
///
/// # Errors
/// The node and status of a refused `IRP_MN_QUERY_REMOVE_DEVICE` (nothing was removed).
pub fn remove(pdo: usize) -> Result<Removal, (usize, NtStatus)> {
    let nodes = subtree(pdo);
    let mut queried = Vec::new();
    for &n in &nodes {
        let reply = send(n, IRP_MN_QUERY_REMOVE_DEVICE, 0, |_| {});
        queried.push(n);
        if !reply.ok() {
            for &q in &queried {
                let _ = send(q, IRP_MN_CANCEL_REMOVE_DEVICE, 0, |_| {});
            }
            return Err((n, reply.status));
        }
    }
    let mut removal = Removal::default();
    for &n in &nodes {
        let reply = remove_one(n);
        if !reply.ok() {
            removal.failed.push((n, reply.status));
        }
        removal.removed.push(n);
    }
    Ok(removal)
}

/// Installs driver object `driver` as the function driver of every PDO enumerated from now
/// on whose hardware or compatible IDs include `id` (compared case-insensitively, as Windows
/// compares device IDs); its INF puts such devices in no class with filters.
pub fn bind(id: &str, driver: usize) {
    bind_in_class(id, driver, "");
}

/// [`bind`], the device's setup class being `class` (`System`, `HDC`, ...): the class's upper
/// filters ([`add_class_filter`]) are added above the function driver.
pub fn bind_in_class(id: &str, driver: usize, class: &'static str) {
    BINDINGS.lock().push((String::from(id), driver, class));
}

/// Makes driver object `driver` an upper filter of setup class `class`: Windows calls its
/// `AddDevice` for every device of the class, after the function driver's.
pub fn add_class_filter(class: &'static str, driver: usize) {
    CLASS_FILTERS.lock().push((class, driver));
}

/// Forgets every binding to `driver` and its class filters (before it is unloaded).
pub fn unbind(driver: usize) {
    BINDINGS.lock().retain(|&(_, d, _)| d != driver);
    CLASS_FILTERS.lock().retain(|&(_, d)| d != driver);
}

/// The upper filters of setup class `class`, in the order they were added.
fn class_filters(class: &str) -> Vec<usize> {
    if class.is_empty() {
        return Vec::new();
    }
    CLASS_FILTERS
        .lock()
        .iter()
        .filter(|(c, _)| c.eq_ignore_ascii_case(class))
        .map(|&(_, d)| d)
        .collect()
}

/// The driver installed for a PDO with identity `identity`, and its class, if any: hardware
/// IDs first, then compatible IDs, each in the order the PDO listed them (Windows' ranking).
fn bound_driver(identity: &Identity) -> Option<(usize, &'static str)> {
    let bindings = BINDINGS.lock();
    identity
        .hardware_ids
        .iter()
        .chain(&identity.compatible_ids)
        .find_map(|id| {
            bindings
                .iter()
                .find(|(bound, _, _)| bound.eq_ignore_ascii_case(id))
                .map(|&(_, d, class)| (d, class))
        })
}

/// Adds the drivers of the stack of `pdo` as Windows does: the function driver's `AddDevice`,
/// then each upper filter's of its class. The first failure's status.
pub fn add_stack(pdo: usize, function: usize, class: &str) -> NtStatus {
    let status = add_device(function, pdo);
    if status < 0 {
        return status;
    }
    for filter in class_filters(class) {
        let status = add_device(filter, pdo);
        if status < 0 {
            return status;
        }
    }
    ntddk::STATUS_SUCCESS
}

/// Runs the manager's loop until nothing is pending (see the module docs); how many rounds ran.
pub fn settle() -> usize {
    for round in 0..MAX_ROUNDS {
        let ran = step();
        let relations: Vec<usize> = core::mem::take(&mut *INVALID_RELATIONS.lock());
        let states: Vec<usize> = core::mem::take(&mut *INVALID_STATE.lock());
        for &p in &relations {
            if node(p).is_some_and(|n| n.state == State::Started) {
                enumerate(p);
            }
        }
        for &p in &states {
            if node(p).is_some_and(|n| n.state == State::Started) {
                let _ = query_device_state(p);
            }
        }
        if !ran
            && relations.is_empty()
            && states.is_empty()
            && !crate::nt::routines::work::pending()
        {
            return round;
        }
    }
    MAX_ROUNDS
}

/// `DriverEntry` type in the Microsoft x64 convention.
type DriverEntry = unsafe extern "win64" fn(*mut c_void, *mut UNICODE_STRING) -> NtStatus;
/// `AddDevice` type.
type AddDevice = unsafe extern "win64" fn(*mut c_void, *mut c_void) -> NtStatus;
/// `DriverUnload` type.
type DriverUnload = unsafe extern "win64" fn(*mut c_void);

/// The service key path Windows passes to a driver's `DriverEntry`.
#[must_use]
pub fn service_key(service: &str) -> String {
    alloc::format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{service}")
}

/// Loads loaded image `index` as driver `service`: its driver object, then `DriverEntry` with
/// the service key's path. The driver object's address.
///
/// # Errors
/// `DriverEntry`'s failure status (`STATUS_INVALID_IMAGE_FORMAT` for an image with no entry).
pub fn load_driver(index: usize, service: &str) -> Result<usize, NtStatus> {
    let entry = crate::nt::loader::image(index).map_or(0, |i| i.entry);
    if entry == 0 || !crate::nt::is_driver_code(entry) {
        return Err(io::status::STATUS_INVALID_IMAGE_FORMAT);
    }
    let driver = io::create_driver(service, Some(index));
    let mut units: Vec<u16> = service_key(service).encode_utf16().collect();
    let mut path = crate::nt::unicode_string(&mut units);
    // SAFETY: the image's entry point (code of the loaded image), `DriverEntry` in the
    // Microsoft x64 convention.
    let f =
        unsafe { core::mem::transmute::<usize, DriverEntry>(usize::try_from(entry).unwrap_or(0)) };
    // SAFETY: the driver's fresh object and its service key path, which outlives the call (the
    // driver copies what it keeps, as on Windows).
    let status = crate::nt::call_driver("DriverEntry", || unsafe {
        f(
            core::ptr::with_exposed_provenance_mut(driver),
            &raw mut path,
        )
    });
    if status < 0 {
        return Err(status);
    }
    Ok(driver)
}

/// Calls driver `driver`'s `AddDevice` with PDO `pdo`: its status.
pub fn add_device(driver: usize, pdo: usize) -> NtStatus {
    let extension: usize = io::driver_object(driver)
        .get(offset_of!(DRIVER_OBJECT, DriverExtension))
        .unwrap_or(0);
    if extension == 0 {
        return STATUS_NOT_SUPPORTED;
    }
    // SAFETY: the driver object's extension, which `io::create_driver` allocated with it.
    let e = unsafe { DriverObject::new(extension, size_of::<DRIVER_EXTENSION>()) };
    let add: usize = e.get(offset_of!(DRIVER_EXTENSION, AddDevice)).unwrap_or(0);
    if add == 0 {
        return STATUS_NOT_SUPPORTED;
    }
    if !crate::nt::is_driver_code(add as u64) {
        verifier::violation(
            "DriverEntry",
            add as u64,
            format_args!("DriverExtension->AddDevice is not code"),
        );
    }
    // SAFETY: the driver's AddDevice (code, checked), in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, AddDevice>(add) };
    // SAFETY: the driver's object and a live PDO the manager enumerated.
    let status = crate::nt::call_driver("AddDevice", || unsafe {
        f(
            core::ptr::with_exposed_provenance_mut(driver),
            core::ptr::with_exposed_provenance_mut(pdo),
        )
    });
    if status >= 0 {
        let top = io::attached_top(pdo);
        let flags: u32 = io::device_object(top)
            .get(offset_of!(DEVICE_OBJECT, Flags))
            .unwrap_or(0);
        if top != pdo && flags & DO_DEVICE_INITIALIZING != 0 {
            verifier::violation(
                "AddDevice",
                add as u64,
                format_args!(
                    "returned with DO_DEVICE_INITIALIZING still set on the device object \
                     {top:#x} it attached"
                ),
            );
        }
    }
    status
}

/// Calls driver `driver`'s `DriverUnload`; whether it had one. It must have no device objects
/// left.
pub fn unload_driver(driver: usize) -> bool {
    let o = io::driver_object(driver);
    let unload: usize = o.get(offset_of!(DRIVER_OBJECT, DriverUnload)).unwrap_or(0);
    let left = io::devices_of(driver);
    if let Some((device, d)) = left.first() {
        let name = io::driver(driver).map(|d| d.name).unwrap_or_default();
        verifier::violation(
            "DriverUnload",
            unload as u64,
            format_args!(
                "\\Driver\\{name} is unloaded with {} device object(s) left, {device:#x} \
                 created from {}",
                left.len(),
                crate::nt::loader::Where(d.caller)
            ),
        );
    }
    if unload == 0 {
        return false;
    }
    if !crate::nt::is_driver_code(unload as u64) {
        verifier::violation(
            "DriverUnload",
            unload as u64,
            format_args!("DriverObject->DriverUnload is not code"),
        );
    }
    // SAFETY: the driver's unload routine (code, checked), in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, DriverUnload>(unload) };
    // SAFETY: the driver's own object; it has no devices left (checked).
    crate::nt::call_driver("DriverUnload", || unsafe {
        f(core::ptr::with_exposed_provenance_mut(driver));
    });
    io::driver_unloaded(driver);
    true
}

/// A function driver brought up on a PDO ([`bring_up`]).
#[derive(Debug, Clone, Copy)]
pub struct FunctionDriver {
    /// Its driver object.
    pub driver: usize,
    /// The PDO it runs on.
    pub pdo: usize,
}

/// Brings up loaded image `index` as service `service`'s function driver on the PDO `pdo` a
/// stand-in bus reported ([`enumerated_root`]), as Windows does when it finds the driver for a
/// new device: `DriverEntry`, `AddDevice`, the start sequence ([`start`]) and the loop until
/// nothing is pending ([`settle`]). [`tear_down`] undoes it.
///
/// This is the entry point for a scenario that runs xenbus.sys on the Xen platform device's
/// PDO. What such a scenario needs besides it:
///
/// * xenbus.sys's bytes in the kernel. A PVH dom0 gets one boot module from Xen (xen.sys), so
///   the images must travel together (an archive in that module), or the HVM guest's boot
///   sector (`scripts/lib/xtk-bootsector.S`, `make_boot_disk`) loads a second multiboot module;
///   then `loader::load("xenbus.sys", bytes)` after xen.sys's `DllInitialize` (its xen.sys
///   imports bind to the loaded xen.sys's exports).
/// * The hive: `Services\xenbus` with its `Parameters` key (xenbus.sys's `DriverEntry` fails
///   without it), as the INF creates them; `boot_hive` creates only xen.sys's.
/// * The PDO: `pci_bus::report(platform, true)` on the HVM guest (the real device: xenbus.sys
///   maps its memory BAR with `MmMapIoSpace` and puts `shared_info` and the grant table there;
///   the PVH dom0's synthetic function has no memory behind its BAR), then
///   `bring_up(index, "xenbus", pdo)`, the scenario's checks, [`tear_down`], and
///   `checks::leaks(index)` (device objects, IRPs, work items and connected interrupts of the
///   image are audited there with the rest).
/// * A xenstore: the HVM domU of `scripts/nt-xen-hvm-test`, whose dom0 runs xenstored.
/// * Interrupts: xenbus.sys connects the line fully specified; the PCI stand-in makes vCPU 0's
///   upcall-pending flag its source, which is right for a callback via the device's `INTx`
///   or GSI (`HVM_PARAM_CALLBACK_IRQ` types 0 and 1, routed through the virtual IO-APIC, whose
///   pin the stand-in never unmasks, so Xen holds no virtual interrupt). Message interrupts are
///   not assigned (see [`crate::nt::pci_bus`]), so xenbus.sys falls back to the line. The
///   scheduler's idle loop must poll too (`routines::interrupt::poll`,
///   `routines::work::run_queued`), or a system thread waiting for what only an interrupt or
///   a work item signals is taken for a deadlock.
/// * Memory: the kernel's arena (`rt.rs`, 4 MiB, never freed) holds the images, their pool and
///   the threads' stacks; xenbus.sys's image alone is about 470 KiB.
///
/// # Errors
/// Which step failed and its status.
pub fn bring_up(index: usize, service: &str, pdo: usize) -> Result<FunctionDriver, String> {
    let driver = load_driver(index, service)
        .map_err(|s| alloc::format!("DriverEntry failed: {:#010x}", s.cast_unsigned()))?;
    let status = add_device(driver, pdo);
    if status < 0 {
        return Err(alloc::format!(
            "AddDevice failed: {:#010x}",
            status.cast_unsigned()
        ));
    }
    let reply = start(pdo);
    if !reply.ok() {
        return Err(alloc::format!(
            "IRP_MN_START_DEVICE failed: {:#010x}",
            reply.status.cast_unsigned()
        ));
    }
    settle();
    Ok(FunctionDriver { driver, pdo })
}

/// Tears down what [`bring_up`] built: the node's subtree removed ([`remove`]), the loop
/// settled, `DriverUnload`. The removal.
///
/// # Errors
/// A refused `IRP_MN_QUERY_REMOVE_DEVICE`.
pub fn tear_down(f: FunctionDriver) -> Result<Removal, String> {
    let removal = remove(f.pdo).map_err(|(n, s)| {
        alloc::format!(
            "IRP_MN_QUERY_REMOVE_DEVICE refused by {n:#x}: {:#010x}",
            s.cast_unsigned()
        )
    })?;
    settle();
    unload_driver(f.driver);
    Ok(removal)
}
