// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `\Driver\xtkio`: the tiny in-kernel WDM bus driver the I/O and PnP checks ([`super::iomgr`])
//! attach above the PCI stand-in's PDO, written the way a WDM function driver is (xenbus.sys's
//! glue does the same steps), its routines `extern "win64"` functions of the stand-in's text,
//! every kernel call through the routine table ([`crate::nt::kcall`]).
//!
//! * `AddDevice`: an FDO with a 64-byte extension (`IoCreateDevice`), attached with
//!   `IoAttachDeviceToDeviceStack`, `DO_DEVICE_INITIALIZING` cleared.
//! * FDO, `IRP_MN_START_DEVICE`: forwarded down synchronously (completion routine returning
//!   `STATUS_MORE_PROCESSING_REQUIRED`, the IRP back at the FDO's location), then the start
//!   resources copied, the line interrupt connected (`CONNECT_LINE_BASED`) and a work item
//!   queued that invalidates the bus relations (the second query reports a second child);
//!   `IRP_MN_QUERY_CAPABILITIES` forwarded the same way and amended (`SurpriseRemovalOK`);
//!   `IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations)`: child PDOs created on demand, each
//!   referenced in a pool `DEVICE_RELATIONS`, then passed down; `IRP_MN_REMOVE_DEVICE`: the
//!   interrupt disconnected, passed down, detached, the children and the FDO deleted; the rest
//!   passed down (`IoSkipCurrentIrpStackLocation`). Power: `PoStartNextPowerIrp`, skip,
//!   `PoCallDriver`.
//! * Child PDOs answer IDs (`XTK\CHILD`), texts, capabilities, no resources, bus information;
//!   `START` succeeds; `REMOVE` deletes a child the FDO no longer reports.
//! * The interrupt service routine claims the line when vCPU 0 has an upcall pending and
//!   acknowledges it (clears `evtchn_upcall_pending` and the selector word), as an event-channel
//!   ISR does before it scans.
//!
//! [`Misbehave`] makes a device of the same driver break one I/O rule on purpose
//! (`checks::rules`).

use crate::nt::kcall::{self, PAGED_POOL, code_address};
use crate::nt::routines::{DriverObject, io, irp};
use crate::nt::{pnp, verifier};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use ntddk::{
    BusQueryCompatibleIDs, BusQueryDeviceID, BusQueryHardwareIDs, BusQueryInstanceID, BusRelations,
    CONNECT_LINE_BASED, DEVICE_CAPABILITIES, DEVICE_OBJECT, DO_DEVICE_INITIALIZING,
    DO_POWER_PAGABLE, DRIVER_EXTENSION, DRIVER_OBJECT, DelayedWorkQueue, DeviceTextDescription,
    DeviceTextLocationInformation, FILE_DEVICE_BUS_EXTENDER, FILE_DEVICE_SECURE_OPEN, GUID,
    IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS, IO_CONNECT_INTERRUPT_PARAMETERS,
    IO_DISCONNECT_INTERRUPT_PARAMETERS, IO_STACK_LOCATION, IO_STACK_LOCATION_DEVICE_CAPABILITIES,
    IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS, IO_STACK_LOCATION_QUERY_DEVICE_TEXT,
    IO_STACK_LOCATION_QUERY_ID, IO_STACK_LOCATION_START_DEVICE, IRP, IRP_MJ_PNP, IRP_MJ_POWER,
    IRP_MN_QUERY_BUS_INFORMATION, IRP_MN_QUERY_CAPABILITIES, IRP_MN_QUERY_DEVICE_RELATIONS,
    IRP_MN_QUERY_DEVICE_TEXT, IRP_MN_QUERY_ID, IRP_MN_QUERY_POWER, IRP_MN_QUERY_REMOVE_DEVICE,
    IRP_MN_QUERY_RESOURCE_REQUIREMENTS, IRP_MN_REMOVE_DEVICE, IRP_MN_SET_POWER,
    IRP_MN_START_DEVICE, IRP_MN_SURPRISE_REMOVAL, PNP_BUS_INFORMATION, PNPBus, PowerDeviceD0,
    SL_INVOKE_ON_CANCEL, SL_INVOKE_ON_ERROR, SL_INVOKE_ON_SUCCESS, STATUS_MORE_PROCESSING_REQUIRED,
    STATUS_PENDING, STATUS_SUCCESS, TargetDeviceRelation,
};
use ntstatus::NtStatus;

/// The pool tag of the driver's allocations (`XtkI`).
pub const TAG: u32 = u32::from_le_bytes(*b"XtkI");
/// Bytes of each device extension.
pub const EXTENSION: u32 = 64;
/// The first extension word of the FDO and of a child PDO.
const FDO: u32 = 0x4f44_4658;
const CHILD: u32 = 0x444c_4843;
/// The children the driver can report.
pub const MAX_CHILDREN: usize = 2;
/// `GUID_BUS_TYPE_XTK` {58544b00-7874-6b69-6f00-000000000001}, the test bus.
pub const BUS_GUID: GUID = GUID {
    Data1: 0x5854_4b00,
    Data2: 0x7874,
    Data3: 0x6b69,
    Data4: [0x6f, 0, 0, 0, 0, 0, 0, 1],
};

/// What the driver did, for the checks.
#[derive(Debug, Default, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "a record of what happened, one flag per event"
)]
pub struct Record {
    /// The driver object.
    pub driver: usize,
    /// The FDO, the device it attached to, and the FDO's flags right after `IoCreateDevice`.
    pub fdo: usize,
    /// What `IoAttachDeviceToDeviceStack` returned.
    pub lower: usize,
    /// The FDO's flags right after `IoCreateDevice`.
    pub created_flags: u32,
    /// Whether the FDO's extension was zeroed.
    pub extension_zeroed: bool,
    /// The child PDOs created (index = child number; 0 once deleted).
    pub children: [usize; MAX_CHILDREN],
    /// How many children the next relations query reports, and whether child 0 is left out.
    pub report: usize,
    /// Leave child 0 out of the next relations.
    pub drop_first: bool,
    /// The raw and translated lists `IRP_MN_START_DEVICE` carried.
    pub start_lists: (Vec<u8>, Vec<u8>),
    /// The status the lower driver completed START with, seen after the forward.
    pub start_lower_status: Option<NtStatus>,
    /// The interrupt connected at START (0 if none) and its connection status.
    pub interrupt: usize,
    /// `IoConnectInterruptEx`'s status at START.
    pub connect_status: Option<NtStatus>,
    /// Relations queries answered.
    pub relation_queries: u32,
    /// Child REMOVEs handled, and children deleted in them.
    pub child_removes: u32,
    /// Children deleted as missing in their REMOVE.
    pub missing_deleted: u32,
    /// Whether the FDO got `IRP_MN_REMOVE_DEVICE`.
    pub fdo_removed: bool,
    /// `DriverUnload` ran.
    pub unloaded: bool,
}

static RECORD: spin::Mutex<Record> = spin::Mutex::new(Record {
    driver: 0,
    fdo: 0,
    lower: 0,
    created_flags: 0,
    extension_zeroed: false,
    children: [0; MAX_CHILDREN],
    report: 1,
    drop_first: false,
    start_lists: (Vec::new(), Vec::new()),
    start_lower_status: None,
    interrupt: 0,
    connect_status: None,
    relation_queries: 0,
    child_removes: 0,
    missing_deleted: 0,
    fdo_removed: false,
    unloaded: false,
});

/// Completion routines that ran.
pub static COMPLETIONS: AtomicU32 = AtomicU32::new(0);
/// Work-item routines that ran.
pub static WORK_RAN: AtomicU32 = AtomicU32::new(0);
/// Service routine calls and claims.
pub static ISR_CALLS: AtomicU32 = AtomicU32::new(0);
/// Claimed interrupts.
pub static ISR_CLAIMED: AtomicU32 = AtomicU32::new(0);
/// The IRQL the service routine ran at.
pub static ISR_IRQL: AtomicU32 = AtomicU32::new(0);
/// Set by the synchronous-forward completion routine.
static FORWARDED: AtomicBool = AtomicBool::new(false);

/// A copy of the record.
pub fn record() -> Record {
    RECORD.lock().clone()
}

/// Changes the record.
pub fn update(f: impl FnOnce(&mut Record)) {
    f(&mut RECORD.lock());
}

/// The driver object (created on first use, as the I/O manager does before `DriverEntry`;
/// `DriverEntry` is this function's second half).
pub fn driver() -> usize {
    let existing = RECORD.lock().driver;
    if existing != 0 {
        return existing;
    }
    let d = io::create_driver("xtkio", None);
    let o = io::driver_object(d);
    let at = |major: u8| offset_of!(DRIVER_OBJECT, MajorFunction) + 8 * usize::from(major);
    o.set(at(IRP_MJ_PNP), code_address!(dispatch_pnp));
    o.set(at(IRP_MJ_POWER), code_address!(dispatch_power));
    o.set(
        offset_of!(DRIVER_OBJECT, DriverUnload),
        code_address!(driver_unload),
    );
    let extension: usize = o
        .get(offset_of!(DRIVER_OBJECT, DriverExtension))
        .unwrap_or(0);
    // SAFETY: the driver extension `io::create_driver` allocated with the object.
    let e = unsafe { DriverObject::new(extension, size_of::<DRIVER_EXTENSION>()) };
    e.set(
        offset_of!(DRIVER_EXTENSION, AddDevice),
        code_address!(add_device),
    );
    RECORD.lock().driver = d;
    d
}

/// The device extension of `device` (one of this driver's) as a kernel object.
fn extension(device: usize) -> DriverObject {
    let p: usize = io::device_object(device)
        .get(offset_of!(DEVICE_OBJECT, DeviceExtension))
        .unwrap_or(0);
    // SAFETY: this driver's devices all have an EXTENSION-byte extension.
    unsafe { DriverObject::new(p, EXTENSION as usize) }
}

/// Creates one device of this driver: its address and its flags right after creation.
fn create(kind: u32, number: u32) -> (usize, u32) {
    let mut device: *mut c_void = core::ptr::null_mut();
    // SAFETY: this driver's object, no name, a writable output.
    let status = unsafe {
        kcall::io_create_device(
            core::ptr::with_exposed_provenance_mut(driver()),
            EXTENSION,
            core::ptr::null(),
            FILE_DEVICE_BUS_EXTENDER,
            FILE_DEVICE_SECURE_OPEN,
            0,
            &raw mut device,
        )
    };
    if status < 0 || device.is_null() {
        crate::harness::fatal(format_args!(
            "xtkio: IoCreateDevice failed: {:#010x}",
            status.cast_unsigned()
        ));
    }
    let o = io::device_object(device.addr());
    let flags: u32 = o.get(offset_of!(DEVICE_OBJECT, Flags)).unwrap_or(0);
    let e = extension(device.addr());
    let zeroed = (0..EXTENSION as usize).all(|i| e.get::<u8>(i) == Some(0));
    if kind == FDO {
        RECORD.lock().extension_zeroed = zeroed;
    }
    e.set(0, kind);
    e.set(4, number);
    o.set(
        offset_of!(DEVICE_OBJECT, Flags),
        (flags & !DO_DEVICE_INITIALIZING) | DO_POWER_PAGABLE,
    );
    (device.addr(), flags)
}

/// `NTSTATUS AddDevice(PDRIVER_OBJECT, PDEVICE_OBJECT PhysicalDeviceObject)`.
extern "win64" fn add_device(_driver: *mut c_void, pdo: *mut c_void) -> NtStatus {
    let (fdo, flags) = create(FDO, 0);
    // SAFETY: a fresh device of this driver and the PnP manager's PDO.
    let lower = unsafe {
        kcall::io_attach_device_to_device_stack(core::ptr::with_exposed_provenance_mut(fdo), pdo)
    };
    let mut r = RECORD.lock();
    r.fdo = fdo;
    r.lower = lower.addr();
    r.created_flags = flags;
    STATUS_SUCCESS
}

extern "win64" fn driver_unload(_driver: *mut c_void) {
    RECORD.lock().unloaded = true;
}

/// The completion routine of a synchronous forward: keeps the IRP.
extern "win64" fn forwarded(
    _device: *mut c_void,
    _irp: *mut c_void,
    _context: *mut c_void,
) -> NtStatus {
    COMPLETIONS.fetch_add(1, Ordering::SeqCst);
    FORWARDED.store(true, Ordering::SeqCst);
    STATUS_MORE_PROCESSING_REQUIRED
}

/// Sets the completion routine `routine` on the IRP's next location (`IoSetCompletionRoutine`
/// with all three conditions).
pub fn set_completion(irp_p: usize, routine: usize, context: usize) {
    if let Some(next) = irp::next_location(irp_p) {
        next.set(offset_of!(IO_STACK_LOCATION, CompletionRoutine), routine);
        next.set(offset_of!(IO_STACK_LOCATION, Context), context);
        next.set(
            offset_of!(IO_STACK_LOCATION, Control),
            SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_ERROR | SL_INVOKE_ON_CANCEL,
        );
    }
}

/// Forwards the IRP to `lower` and waits for it to come back (copy to next, completion routine
/// keeping it, `IofCallDriver`): its status.
fn forward_and_wait(lower: usize, irp_p: *mut c_void) -> NtStatus {
    // SAFETY: an IRP this driver holds, with a location below its own.
    unsafe { ntddk::stack::copy_to_next(irp_p.cast::<IRP>()) };
    set_completion(irp_p.addr(), code_address!(forwarded), 0);
    FORWARDED.store(false, Ordering::SeqCst);
    // SAFETY: the device below this driver's and the IRP it holds, its next location set up.
    let status =
        unsafe { kcall::iof_call_driver(core::ptr::with_exposed_provenance_mut(lower), irp_p) };
    if status == STATUS_PENDING {
        let _ = pnp::settle();
    }
    if !FORWARDED.load(Ordering::SeqCst) {
        crate::harness::fatal(format_args!("xtkio: a forwarded IRP did not come back"));
    }
    irp::status(irp_p.addr())
}

/// Passes the IRP down unchanged (`IoSkipCurrentIrpStackLocation`, `IofCallDriver`).
fn pass_down(lower: usize, irp_p: *mut c_void) -> NtStatus {
    // SAFETY: an IRP this driver holds.
    unsafe { ntddk::stack::skip_current(irp_p.cast::<IRP>()) };
    // SAFETY: the device below and the IRP, whose location the lower driver now sees as ours.
    unsafe { kcall::iof_call_driver(core::ptr::with_exposed_provenance_mut(lower), irp_p) }
}

/// Completes the IRP with `status`.
fn complete(irp_p: *mut c_void, status: NtStatus) -> NtStatus {
    irp::set_status(irp_p.addr(), status);
    // SAFETY: an IRP this driver holds, completed once.
    unsafe { kcall::iof_complete_request(irp_p, 0) };
    status
}

/// A copy of the `CM_RESOURCE_LIST` (a pool block) at `p`.
fn copy_list(p: usize) -> Vec<u8> {
    let Some(block) = crate::nt::routines::pool::block(p) else {
        return Vec::new();
    };
    // SAFETY: a live pool block of `block.size` bytes (the PnP manager's list for START).
    let o = unsafe { DriverObject::new(p, block.size) };
    (0..block.size)
        .map(|i| o.get::<u8>(i).unwrap_or(0))
        .collect()
}

/// A pool buffer holding `bytes` (for an IRP's `Information`).
fn pool(bytes: &[u8]) -> usize {
    // SAFETY: a valid request; the PnP manager frees it.
    let p = unsafe { kcall::ex_allocate_pool_with_tag(PAGED_POOL, bytes.len().max(1), TAG) };
    if p.is_null() {
        return 0;
    }
    for (i, &b) in bytes.iter().enumerate() {
        // SAFETY: inside the fresh block of at least `bytes.len()` bytes.
        unsafe { p.cast::<u8>().wrapping_add(i).write(b) };
    }
    p.addr()
}

/// `texts` as UTF-16 strings, each NUL-terminated, plus a final NUL for a multi-string.
fn wide(texts: &[&str], multi: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for t in texts {
        for u in t.encode_utf16().chain(core::iter::once(0)) {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }
    if multi {
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// The interrupt service routine: `BOOLEAN (PKINTERRUPT, PVOID)`.
pub extern "win64" fn service(_interrupt: *mut c_void, _context: *mut c_void) -> u8 {
    ISR_CALLS.fetch_add(1, Ordering::SeqCst);
    ISR_IRQL.store(u32::from(verifier::irql()), Ordering::SeqCst);
    let vi = crate::events::VCPU_INFO
        .first()
        .map_or(core::ptr::null_mut(), |p| p.load(Ordering::SeqCst));
    if vi.is_null() {
        return 0;
    }
    // SAFETY: vCPU 0's live vcpu_info, mapped for the rest of the run.
    let pending = unsafe { crate::events::upcall_pending_flag(vi) };
    if pending.swap(0, Ordering::SeqCst) == 0 {
        return 0;
    }
    // SAFETY: as above.
    let selector = unsafe { crate::events::pending_sel_word(vi) };
    selector.store(0, Ordering::SeqCst);
    ISR_CLAIMED.fetch_add(1, Ordering::SeqCst);
    1
}

/// The line-based connection parameters.
type L = IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS;

/// Connects the FDO's line interrupt (`CONNECT_LINE_BASED`, as a WDM driver without its own
/// resource parsing does): the status and the interrupt object.
fn connect(pdo: usize, fdo: usize) -> (NtStatus, usize) {
    let object = AtomicUsize::new(0);
    // SAFETY: IO_CONNECT_INTERRUPT_PARAMETERS is plain data; all-zero is valid.
    let mut p: IO_CONNECT_INTERRUPT_PARAMETERS = unsafe { core::mem::zeroed() };
    p.Version = CONNECT_LINE_BASED;
    let at = offset_of!(IO_CONNECT_INTERRUPT_PARAMETERS, u);
    let raw = (&raw mut p).cast::<c_void>();
    // SAFETY: the parameter block just built, as the driver's.
    let b = unsafe { DriverObject::new(raw.addr(), size_of::<IO_CONNECT_INTERRUPT_PARAMETERS>()) };
    b.set(at + offset_of!(L, PhysicalDeviceObject), pdo);
    b.set(at + offset_of!(L, InterruptObject), object.as_ptr().addr());
    b.set(at + offset_of!(L, ServiceRoutine), code_address!(service));
    b.set(at + offset_of!(L, ServiceContext), fdo);
    // SAFETY: valid line-based parameters, `object` writable.
    let status = unsafe { kcall::io_connect_interrupt_ex(raw) };
    (status, object.load(Ordering::SeqCst))
}

/// Disconnects an interrupt connected line-based.
pub fn disconnect(object: usize) {
    let mut p = IO_DISCONNECT_INTERRUPT_PARAMETERS {
        Version: CONNECT_LINE_BASED,
        ConnectionContext: ntddk::IO_DISCONNECT_INTERRUPT_CONTEXT {
            InterruptObject: core::ptr::with_exposed_provenance_mut(object),
        },
    };
    // SAFETY: a connection this driver made, disconnected once.
    unsafe { kcall::io_disconnect_interrupt_ex((&raw mut p).cast()) };
}

/// The work-item routine queued at START: invalidates the bus relations (the next query
/// reports one more child) and frees its item.
extern "win64" fn relations_changed(device: *mut c_void, item: *mut c_void) {
    WORK_RAN.fetch_add(1, Ordering::SeqCst);
    let pdo = io::stack_bottom(device.addr());
    update(|r| r.report = MAX_CHILDREN);
    // SAFETY: the PDO of this driver's stack, enumerated by the PnP manager.
    unsafe {
        kcall::io_invalidate_device_relations(
            core::ptr::with_exposed_provenance_mut(pdo),
            BusRelations,
        );
    }
    // SAFETY: this routine's own item, no longer queued.
    unsafe { kcall::io_free_work_item(item) };
}

/// FDO `IRP_MN_START_DEVICE`.
fn start(fdo: usize, lower: usize, irp_p: *mut c_void) -> NtStatus {
    let status = forward_and_wait(lower, irp_p);
    update(|r| r.start_lower_status = Some(status));
    if status < 0 {
        return complete(irp_p, status);
    }
    if let Some(l) = irp::current_location(irp_p.addr()) {
        let at = offset_of!(IO_STACK_LOCATION, Parameters);
        let raw: usize = l
            .get(at + offset_of!(IO_STACK_LOCATION_START_DEVICE, AllocatedResources))
            .unwrap_or(0);
        let translated: usize = l
            .get(at + offset_of!(IO_STACK_LOCATION_START_DEVICE, AllocatedResourcesTranslated))
            .unwrap_or(0);
        let lists = (copy_list(raw), copy_list(translated));
        update(|r| r.start_lists = lists);
    }
    let (connected, object) = connect(io::stack_bottom(fdo), fdo);
    update(|r| {
        r.connect_status = Some(connected);
        r.interrupt = object;
    });
    // SAFETY: this driver's FDO.
    let item = unsafe { kcall::io_allocate_work_item(core::ptr::with_exposed_provenance_mut(fdo)) };
    if !item.is_null() {
        // SAFETY: a fresh item, this driver's routine, the item as its context.
        unsafe {
            kcall::io_queue_work_item(
                item,
                code_address!(relations_changed),
                DelayedWorkQueue,
                item,
            );
        }
    }
    complete(irp_p, STATUS_SUCCESS)
}

/// FDO `IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations)`: the children, created on demand.
fn relations(irp_p: *mut c_void) {
    let (report, drop_first) = {
        let r = RECORD.lock();
        (r.report.min(MAX_CHILDREN), r.drop_first)
    };
    let mut objects = Vec::new();
    for n in 0..report {
        if n == 0 && drop_first {
            continue;
        }
        let existing = RECORD.lock().children.get(n).copied().unwrap_or(0);
        let child = if existing == 0 {
            let (c, _) = create(CHILD, u32::try_from(n).unwrap_or(0));
            update(|r| {
                if let Some(slot) = r.children.get_mut(n) {
                    *slot = c;
                }
            });
            c
        } else {
            existing
        };
        // SAFETY: a child PDO of this driver, referenced for the PnP manager.
        unsafe { kcall::obf_reference_object(core::ptr::with_exposed_provenance_mut(child)) };
        objects.push(child);
    }
    let mut bytes = Vec::from(u32::try_from(objects.len()).unwrap_or(0).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    for o in &objects {
        bytes.extend_from_slice(&o.to_le_bytes());
    }
    irp::set_information(irp_p.addr(), pool(&bytes));
    irp::set_status(irp_p.addr(), STATUS_SUCCESS);
    update(|r| r.relation_queries += 1);
}

/// `IRP_MJ_PNP` of the FDO.
fn fdo_pnp(fdo: usize, irp_p: *mut c_void, minor: u8, l: DriverObject) -> NtStatus {
    let lower = RECORD.lock().lower;
    match minor {
        IRP_MN_START_DEVICE => start(fdo, lower, irp_p),
        IRP_MN_QUERY_CAPABILITIES => {
            let status = forward_and_wait(lower, irp_p);
            if status >= 0 {
                let caps: usize = l
                    .get(
                        offset_of!(IO_STACK_LOCATION, Parameters)
                            + offset_of!(IO_STACK_LOCATION_DEVICE_CAPABILITIES, Capabilities),
                    )
                    .unwrap_or(0);
                // SAFETY: the PnP manager's DEVICE_CAPABILITIES, filled by the PDO.
                let c = unsafe { DriverObject::new(caps, size_of::<DEVICE_CAPABILITIES>()) };
                let flags: u32 = c.get(offset_of!(DEVICE_CAPABILITIES, Flags)).unwrap_or(0);
                c.set(
                    offset_of!(DEVICE_CAPABILITIES, Flags),
                    flags | DEVICE_CAPABILITIES::SurpriseRemovalOK,
                );
            }
            complete(irp_p, status)
        }
        IRP_MN_QUERY_DEVICE_RELATIONS => {
            let kind: i32 = l
                .get(
                    offset_of!(IO_STACK_LOCATION, Parameters)
                        + offset_of!(IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS, Type),
                )
                .unwrap_or(-1);
            if kind == BusRelations {
                relations(irp_p);
            }
            pass_down(lower, irp_p)
        }
        IRP_MN_QUERY_REMOVE_DEVICE => {
            irp::set_status(irp_p.addr(), STATUS_SUCCESS);
            pass_down(lower, irp_p)
        }
        IRP_MN_REMOVE_DEVICE => {
            let interrupt = core::mem::take(&mut RECORD.lock().interrupt);
            if interrupt != 0 {
                disconnect(interrupt);
            }
            irp::set_status(irp_p.addr(), STATUS_SUCCESS);
            let status = pass_down(lower, irp_p);
            // SAFETY: the device this FDO is attached to.
            unsafe { kcall::io_detach_device(core::ptr::with_exposed_provenance_mut(lower)) };
            let children = core::mem::take(&mut RECORD.lock().children);
            for c in children.into_iter().filter(|&c| c != 0) {
                // SAFETY: a child PDO of this driver, removed by the PnP manager.
                unsafe { kcall::io_delete_device(core::ptr::with_exposed_provenance_mut(c)) };
            }
            update(|r| r.fdo_removed = true);
            // SAFETY: this FDO, detached.
            unsafe { kcall::io_delete_device(core::ptr::with_exposed_provenance_mut(fdo)) };
            status
        }
        _ => pass_down(lower, irp_p),
    }
}

/// Child `n`'s IDs of type `kind`, as the bytes of the answer.
#[expect(
    non_upper_case_globals,
    reason = "the ID types keep their WDK spellings"
)]
fn child_id(n: u32, kind: i32) -> Option<Vec<u8>> {
    let specific = alloc::format!(r"XTK\CHILD_{n}");
    let instance = alloc::format!("{n}");
    match kind {
        BusQueryDeviceID => Some(wide(&[r"XTK\CHILD"], false)),
        BusQueryHardwareIDs => Some(wide(&[&specific, r"XTK\CHILD"], true)),
        BusQueryCompatibleIDs => Some(wide(&[r"XTK\CHILD"], true)),
        BusQueryInstanceID => Some(wide(&[&instance], false)),
        _ => None,
    }
}

/// Child `n`'s capabilities, written into the PnP manager's structure at `caps`.
fn child_capabilities(n: u32, caps: usize) {
    // SAFETY: the PnP manager's DEVICE_CAPABILITIES.
    let c = unsafe { DriverObject::new(caps, size_of::<DEVICE_CAPABILITIES>()) };
    c.set(
        offset_of!(DEVICE_CAPABILITIES, Flags),
        DEVICE_CAPABILITIES::UniqueID
            | DEVICE_CAPABILITIES::SilentInstall
            | DEVICE_CAPABILITIES::RawDeviceOK
            | DEVICE_CAPABILITIES::SurpriseRemovalOK,
    );
    c.set(offset_of!(DEVICE_CAPABILITIES, Address), n);
    c.set(offset_of!(DEVICE_CAPABILITIES, UINumber), n);
    c.set(
        offset_of!(DEVICE_CAPABILITIES, DeviceState) + 4,
        PowerDeviceD0,
    );
}

/// `IRP_MJ_PNP` of child `n`.
#[expect(
    non_upper_case_globals,
    reason = "the ID and text types keep their WDK spellings"
)]
fn child_pnp(child: usize, n: u32, irp_p: *mut c_void, minor: u8, l: DriverObject) -> NtStatus {
    let parameters = offset_of!(IO_STACK_LOCATION, Parameters);
    let answer = |bytes: &[u8]| {
        irp::set_information(irp_p.addr(), pool(bytes));
        Some(STATUS_SUCCESS)
    };
    let status = match minor {
        IRP_MN_QUERY_ID => {
            let kind: i32 = l
                .get(parameters + offset_of!(IO_STACK_LOCATION_QUERY_ID, IdType))
                .unwrap_or(-1);
            child_id(n, kind).and_then(|bytes| answer(&bytes))
        }
        IRP_MN_QUERY_DEVICE_TEXT => {
            let kind: i32 = l
                .get(parameters + offset_of!(IO_STACK_LOCATION_QUERY_DEVICE_TEXT, DeviceTextType))
                .unwrap_or(-1);
            match kind {
                DeviceTextDescription => answer(&wide(&["Stand-in test child"], false)),
                DeviceTextLocationInformation => {
                    answer(&wide(&[&alloc::format!("Test bus slot {n}")], false))
                }
                _ => None,
            }
        }
        IRP_MN_QUERY_CAPABILITIES => {
            let caps: usize = l
                .get(parameters + offset_of!(IO_STACK_LOCATION_DEVICE_CAPABILITIES, Capabilities))
                .unwrap_or(0);
            child_capabilities(n, caps);
            Some(STATUS_SUCCESS)
        }
        IRP_MN_QUERY_RESOURCE_REQUIREMENTS => {
            irp::set_information(irp_p.addr(), 0);
            Some(STATUS_SUCCESS)
        }
        IRP_MN_QUERY_BUS_INFORMATION => {
            let info = PNP_BUS_INFORMATION {
                BusTypeGuid: BUS_GUID,
                LegacyBusType: PNPBus,
                BusNumber: 0,
            };
            // SAFETY: a plain `repr(C)` value viewed as its bytes.
            let bytes = unsafe {
                core::slice::from_raw_parts(
                    (&raw const info).cast::<u8>(),
                    size_of::<PNP_BUS_INFORMATION>(),
                )
            };
            answer(bytes)
        }
        IRP_MN_START_DEVICE | IRP_MN_QUERY_REMOVE_DEVICE | IRP_MN_SURPRISE_REMOVAL => {
            Some(STATUS_SUCCESS)
        }
        IRP_MN_REMOVE_DEVICE => {
            let reported = pnp::node(io::stack_bottom(RECORD.lock().lower))
                .is_some_and(|parent| parent.children.contains(&child));
            update(|r| r.child_removes += 1);
            if !reported {
                update(|r| {
                    r.missing_deleted += 1;
                    for slot in &mut r.children {
                        if *slot == child {
                            *slot = 0;
                        }
                    }
                });
                // SAFETY: this child PDO, no longer reported and now removed.
                unsafe { kcall::io_delete_device(core::ptr::with_exposed_provenance_mut(child)) };
            }
            Some(STATUS_SUCCESS)
        }
        IRP_MN_QUERY_DEVICE_RELATIONS => {
            let kind: i32 = l
                .get(parameters + offset_of!(IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS, Type))
                .unwrap_or(-1);
            (kind == TargetDeviceRelation).then(|| {
                let list = crate::nt::pci_bus::target_relation(
                    core::ptr::with_exposed_provenance_mut(child),
                );
                irp::set_information(irp_p.addr(), list);
                STATUS_SUCCESS
            })
        }
        _ => None,
    };
    let s = status.unwrap_or_else(|| irp::status(irp_p.addr()));
    complete(irp_p, s)
}

/// `IRP_MJ_PNP`.
extern "win64" fn dispatch_pnp(device: *mut c_void, irp_p: *mut c_void) -> NtStatus {
    let Some(l) = irp::current_location(irp_p.addr()) else {
        crate::harness::fatal(format_args!("xtkio: an IRP without a current location"));
    };
    let minor: u8 = l
        .get(offset_of!(IO_STACK_LOCATION, MinorFunction))
        .unwrap_or(0);
    let e = extension(device.addr());
    match e.get::<u32>(0) {
        Some(FDO) => fdo_pnp(device.addr(), irp_p, minor, l),
        Some(CHILD) => child_pnp(device.addr(), e.get(4).unwrap_or(0), irp_p, minor, l),
        _ => misbehave(device.addr(), irp_p),
    }
}

/// `IRP_MJ_POWER`.
extern "win64" fn dispatch_power(device: *mut c_void, irp_p: *mut c_void) -> NtStatus {
    // SAFETY: a power IRP this driver holds.
    unsafe { kcall::po_start_next_power_irp(irp_p) };
    let e = extension(device.addr());
    if e.get::<u32>(0) == Some(FDO) {
        let lower = RECORD.lock().lower;
        // SAFETY: an IRP this driver holds.
        unsafe { ntddk::stack::skip_current(irp_p.cast::<IRP>()) };
        // SAFETY: the device below, the power IRP passed on unchanged.
        return unsafe {
            kcall::po_call_driver(core::ptr::with_exposed_provenance_mut(lower), irp_p)
        };
    }
    let minor: u8 = irp::current_location(irp_p.addr())
        .and_then(|l| l.get(offset_of!(IO_STACK_LOCATION, MinorFunction)))
        .unwrap_or(0);
    if matches!(minor, IRP_MN_SET_POWER | IRP_MN_QUERY_POWER) {
        return complete(irp_p, STATUS_SUCCESS);
    }
    let s = irp::status(irp_p.addr());
    complete(irp_p, s)
}

/// The I/O rules [`misbehave`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    /// `IofCompleteRequest` twice.
    CompleteTwice,
    /// Completion with `STATUS_PENDING`.
    CompletePending,
    /// Completion with a cancel routine set.
    CompleteWithCancelRoutine,
    /// `IofCallDriver` without setting up the next location.
    CallWithoutNextLocation,
}

static MISBEHAVE: spin::Mutex<Option<Misbehave>> = spin::Mutex::new(None);
/// The device a misbehaving dispatch passes IRPs to.
static MISBEHAVE_TARGET: AtomicUsize = AtomicUsize::new(0);

/// Creates a device of this driver (not a PnP device) whose dispatch breaks `rule`; returns it.
pub fn misbehaving_device(rule: Misbehave) -> usize {
    *MISBEHAVE.lock() = Some(rule);
    let (device, _) = create(0, 0);
    let (target, _) = create(0, 1);
    MISBEHAVE_TARGET.store(target, Ordering::SeqCst);
    device
}

/// A dispatch routine that breaks the rule [`misbehaving_device`] was given.
fn misbehave(device: usize, irp_p: *mut c_void) -> NtStatus {
    let rule = *MISBEHAVE.lock();
    let target = MISBEHAVE_TARGET.load(Ordering::SeqCst);
    if device == target {
        return complete(irp_p, STATUS_SUCCESS);
    }
    match rule {
        Some(Misbehave::CompleteTwice) => {
            complete(irp_p, STATUS_SUCCESS);
            complete(irp_p, STATUS_SUCCESS)
        }
        Some(Misbehave::CompletePending) => complete(irp_p, STATUS_PENDING),
        Some(Misbehave::CompleteWithCancelRoutine) => {
            // SAFETY: the IRP this dispatch holds; `CancelRoutine` is set as IoSetCancelRoutine
            // would set it, to code of this driver.
            let o = unsafe { DriverObject::new(irp_p.addr(), size_of::<IRP>()) };
            o.set(
                offset_of!(IRP, CancelRoutine),
                code_address!(misbehave_cancel),
            );
            complete(irp_p, STATUS_SUCCESS)
        }
        Some(Misbehave::CallWithoutNextLocation) => {
            // SAFETY: a valid request.
            let own = unsafe { kcall::io_allocate_irp(2, 0) };
            // SAFETY: the device of this driver and a fresh IRP whose next location nobody set
            // up (the rule under test).
            unsafe { kcall::iof_call_driver(core::ptr::with_exposed_provenance_mut(target), own) }
        }
        None => complete(irp_p, STATUS_SUCCESS),
    }
}

const extern "win64" fn misbehave_cancel(_device: *mut c_void, _irp: *mut c_void) {}

/// Breaks I/O rule `name` (`checks::rules::RULES` names it and what must report it); returns
/// only if the kernel let it pass.
pub fn break_rule(name: &str) {
    let misbehave = match name {
        "irp-double-complete" => Some(Misbehave::CompleteTwice),
        "irp-complete-pending" => Some(Misbehave::CompletePending),
        "irp-cancel-routine" => Some(Misbehave::CompleteWithCancelRoutine),
        "irp-next-location" => Some(Misbehave::CallWithoutNextLocation),
        _ => None,
    };
    if let Some(rule) = misbehave {
        let device = misbehaving_device(rule);
        let _ = pnp::send(device, IRP_MN_QUERY_ID, 0, |_| {});
        return;
    }
    let (a, _) = create(0, 0);
    match name {
        "device-delete-attached" => {
            let (b, _) = create(0, 1);
            // SAFETY: two live devices of this driver.
            let _ = unsafe {
                kcall::io_attach_device_to_device_stack(
                    core::ptr::with_exposed_provenance_mut(a),
                    core::ptr::with_exposed_provenance_mut(b),
                )
            };
            // SAFETY: a live device, still attached (the rule under test).
            unsafe { kcall::io_delete_device(core::ptr::with_exposed_provenance_mut(a)) };
        }
        "workitem-free-queued" => {
            // SAFETY: a live device of this driver.
            let item =
                unsafe { kcall::io_allocate_work_item(core::ptr::with_exposed_provenance_mut(a)) };
            // SAFETY: a fresh item and a routine of this driver.
            unsafe {
                kcall::io_queue_work_item(
                    item,
                    code_address!(relations_changed),
                    DelayedWorkQueue,
                    item,
                );
            }
            // SAFETY: the item, still queued (the rule under test).
            unsafe { kcall::io_free_work_item(item) };
        }
        _ => {}
    }
}
