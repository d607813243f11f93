// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Interrupts: `IoConnectInterruptEx`, `IoDisconnectInterruptEx`, `KeAcquireInterruptSpinLock`,
//! `KeReleaseInterruptSpinLock`, `KeSynchronizeExecution`, and their delivery without real
//! interrupts ([`poll`]).
//!
//! Drivers reach `IoConnectInterruptEx`/`IoDisconnectInterruptEx` through
//! `MmGetSystemRoutineAddress`, which answers from the routine table. Versions:
//!
//! * `CONNECT_FULLY_SPECIFIED` (and `_GROUP`, group 0), what xenbus.sys uses
//!   (`platform_windows::interrupt`): the vector, IRQL, mode and affinity of a translated
//!   resource, the driver's synchronize IRQL;
//! * `CONNECT_LINE_BASED`: the line interrupt of the PDO's translated resources, as the PnP
//!   manager assigned them at `IRP_MN_START_DEVICE` ([`crate::nt::pnp`]);
//! * `CONNECT_MESSAGE_BASED`: the stand-in's PCI functions have no MSI resources, so — as
//!   Windows does for a device without messages — it connects `FallBackServiceRoutine` to the
//!   line interrupt and answers `Version = CONNECT_LINE_BASED` with the interrupt object in
//!   `ConnectionContext`.
//!
//! The interrupt object is a zeroed block (`Type` `InterruptObject`); its lock is the stand-in's
//! own (or the driver's `SpinLock`, recorded, not used).
//!
//! **Delivery.** The stand-in runs with interrupts off (see [`crate::nt::cr8`] for why), so
//! nothing is ever delivered on its own. A line's *source* says whether it is asserted
//! ([`set_source`]); the PCI stand-in gives the Xen platform device's line the source Xen's
//! callback via a PCI `INTx` or GSI has: vCPU 0's `evtchn_upcall_pending` ([`xen_upcall_pending`],
//! read in the `vcpu_info` the stand-in tracks, `crate::events::VCPU_INFO`). [`poll`] is the
//! point where a real interrupt could have arrived: for each asserted line whose IRQL is above
//! the current one it raises to the synchronize IRQL, holds the interrupt's lock and calls the
//! connected service routines in connection order until one claims the interrupt, again while
//! the line stays asserted (a level-triggered line re-interrupts), and counts an asserted line
//! nobody claims; then it lowers the IRQL and runs the DPCs the routines queued. It is called
//! from the PnP manager's loop and its waits and belongs in the scheduler's idle loop and waits.
//! The gap: a driver spinning on a condition only its ISR changes, without calling a kernel
//! routine that polls, would spin forever here; Windows would have interrupted it.
//!
//! Checked: the IRQL (`PASSIVE_LEVEL` to connect and disconnect; at most the synchronize IRQL
//! for the lock routines), NULL or unknown parameters, a synchronize IRQL below the interrupt's
//! IRQL, a service routine that is not code, a PDO the PnP manager does not know, a version the
//! connection did not return, disconnecting twice, acquiring an interrupt lock already held
//! on the same processor (the service routine holds it; another processor's hold is waited
//! for, as a spin lock spins), releasing one not held, held by another processor or at
//! another IRQL, a service routine that returns at another IRQL, and (at unload, [`connected_in`]) interrupts left connected.

use super::DriverObject;
use super::io::status::STATUS_NOT_FOUND;
use crate::nt::loader::Where;
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, MAX_DIRQL, PASSIVE_LEVEL};
use alloc::alloc::{Layout, alloc_zeroed};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, Ordering};
use ntddk::{
    CONNECT_FULLY_SPECIFIED, CONNECT_FULLY_SPECIFIED_GROUP, CONNECT_LINE_BASED,
    CONNECT_MESSAGE_BASED, IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS, IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS,
    IO_CONNECT_INTERRUPT_PARAMETERS, IO_DISCONNECT_INTERRUPT_PARAMETERS, STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
};
use ntstatus::NtStatus;

/// `InterruptObject` (`KOBJECTS`).
const INTERRUPT_OBJECT: i16 = 22;
/// Bytes of the stand-in's interrupt object.
const OBJECT_BYTES: usize = 0x100;
/// Rounds a poll makes on one asserted line before it gives up for now.
const MAX_ROUNDS: usize = 16;

/// A line interrupt's assignment: what a translated `CmResourceTypeInterrupt` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The IDT vector.
    pub vector: u32,
    /// The DIRQL.
    pub irql: u8,
    /// Processors it may be delivered to.
    pub affinity: u64,
    /// Latched (edge) rather than level-sensitive.
    pub latched: bool,
    /// Shareable.
    pub shared: bool,
}

#[derive(Debug, Clone, Copy)]
struct Connection {
    version: u32,
    line: Line,
    sync_irql: u8,
    routine: usize,
    context: usize,
    caller: u64,
    connected: bool,
    /// While the lock is held: the IRQL to go back to, and the processor holding it.
    held: Option<(u8, usize)>,
}

/// Connections by interrupt object, in connection order (objects are allocated upwards).
static CONNECTIONS: spin::Mutex<BTreeMap<usize, Connection>> = spin::Mutex::new(BTreeMap::new());
/// What says whether a vector's line is asserted.
static SOURCES: spin::Mutex<BTreeMap<u32, fn() -> bool>> = spin::Mutex::new(BTreeMap::new());
/// Service routine calls, claims, and asserted lines nobody claimed.
static CALLS: AtomicU64 = AtomicU64::new(0);
static CLAIMED: AtomicU64 = AtomicU64::new(0);
static UNCLAIMED: AtomicU64 = AtomicU64::new(0);

/// A line service routine: `BOOLEAN (PKINTERRUPT, PVOID)` in the Microsoft x64 convention.
type Service = unsafe extern "win64" fn(*mut c_void, *mut c_void) -> u8;
/// A synchronize routine: `BOOLEAN (PVOID)`.
type Synchronize = unsafe extern "win64" fn(*mut c_void) -> u8;

/// Gives the line on `vector` the source that says whether it is asserted.
pub fn set_source(vector: u32, source: fn() -> bool) {
    SOURCES.lock().insert(vector, source);
}

/// Whether vCPU 0 has an event-channel upcall pending: what asserts the Xen platform device's
/// line once the callback via is its `INTx` (or GSI).
pub fn xen_upcall_pending() -> bool {
    let vi = crate::events::VCPU_INFO
        .first()
        .map_or(core::ptr::null_mut(), |p| p.load(Ordering::SeqCst));
    if vi.is_null() {
        return false;
    }
    // SAFETY: `VCPU_INFO[0]` points at vCPU 0's live vcpu_info (in the mapped shared_info page
    // or the registered copy), which stays mapped for the rest of the run.
    let flag = unsafe { crate::events::upcall_pending_flag(vi) };
    flag.load(Ordering::SeqCst) != 0
}

/// `(service routine calls, claimed, asserted and unclaimed)` so far.
pub fn counts() -> (u64, u64, u64) {
    (
        CALLS.load(Ordering::SeqCst),
        CLAIMED.load(Ordering::SeqCst),
        UNCLAIMED.load(Ordering::SeqCst),
    )
}

/// The interrupts connected from code of image `index` and not disconnected: `(object,
/// caller)`.
pub fn connected_in(index: usize) -> Vec<(usize, u64)> {
    CONNECTIONS
        .lock()
        .iter()
        .filter(|(_, c)| c.connected && crate::nt::loader::containing(c.caller) == Some(index))
        .map(|(&o, c)| (o, c.caller))
        .collect()
}

/// Every interrupt still connected: `(object, caller)`.
pub fn all_connected() -> Vec<(usize, u64)> {
    CONNECTIONS
        .lock()
        .iter()
        .filter(|(_, c)| c.connected)
        .map(|(&o, c)| (o, c.caller))
        .collect()
}

/// The parameter block at `p`.
fn block(p: *mut c_void) -> DriverObject {
    // SAFETY: the routine's contract: the driver's IO_CONNECT_INTERRUPT_PARAMETERS (the larger
    // of the two parameter blocks; only the disconnect block's fields are read through a
    // disconnect's), readable and writable for the call.
    unsafe { DriverObject::new(p.addr(), size_of::<IO_CONNECT_INTERRUPT_PARAMETERS>()) }
}

/// Records a new connection; returns its interrupt object.
fn connect(call: &Call, c: Connection) -> usize {
    call.require(
        crate::nt::is_driver_code(c.routine as u64),
        format_args!("ServiceRoutine {} is not code", Where(c.routine as u64)),
    );
    call.require(
        c.sync_irql >= c.line.irql,
        format_args!(
            "SynchronizeIrql {} is below the interrupt's IRQL {}",
            c.sync_irql, c.line.irql
        ),
    );
    call.require(
        (DISPATCH_LEVEL + 1..=MAX_DIRQL).contains(&c.line.irql),
        format_args!("Irql {} is not a device IRQL", c.line.irql),
    );
    let Ok(layout) = Layout::from_size_align(OBJECT_BYTES, 16) else {
        call.fail(format_args!("interrupt object layout"));
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        call.fail(format_args!("out of memory for an interrupt object"));
    }
    // SAFETY: the fresh block of OBJECT_BYTES bytes.
    let o = unsafe { DriverObject::new(p.addr(), OBJECT_BYTES) };
    o.set(0, INTERRUPT_OBJECT);
    o.set(2, u16::try_from(OBJECT_BYTES).unwrap_or(0));
    CONNECTIONS.lock().insert(p.addr(), c);
    p.addr()
}

/// The PDO's assigned line interrupt, for `CONNECT_LINE_BASED` and the message fallback.
fn pdo_line(call: &Call, pdo: usize) -> Option<Line> {
    let _d = super::io::live_device(
        call,
        core::ptr::with_exposed_provenance_mut(pdo),
        "PhysicalDeviceObject",
        false,
    );
    crate::nt::pnp::assigned_line(pdo)
}

/// The fully specified connection parameters.
type F = IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS;
/// The line-based connection parameters.
type L = IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS;
/// The message-based connection parameters.
type M = IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS;
/// Where the union of parameters starts.
const U: usize = offset_of!(IO_CONNECT_INTERRUPT_PARAMETERS, u);

/// `NTSTATUS IoConnectInterruptEx(PIO_CONNECT_INTERRUPT_PARAMETERS Parameters)`. PASSIVE_LEVEL.
pub extern "win64" fn io_connect_interrupt_ex(parameters: *mut c_void) -> NtStatus {
    let call = verifier::enter("IoConnectInterruptEx");
    call.at_most(PASSIVE_LEVEL);
    call.require(!parameters.is_null(), format_args!("Parameters is NULL"));
    let b = block(parameters);
    let version: u32 = b
        .get(offset_of!(IO_CONNECT_INTERRUPT_PARAMETERS, Version))
        .unwrap_or(0);
    match version {
        CONNECT_FULLY_SPECIFIED | CONNECT_FULLY_SPECIFIED_GROUP => {
            connect_fully_specified(&call, b, version)
        }
        CONNECT_LINE_BASED => connect_line_based(&call, b),
        CONNECT_MESSAGE_BASED => connect_message_based(&call, b),
        _ => STATUS_INVALID_PARAMETER,
    }
}

/// `CONNECT_FULLY_SPECIFIED` (and `_GROUP`).
fn connect_fully_specified(call: &Call, b: DriverObject, version: u32) -> NtStatus {
    let pdo: usize = b.get(U + offset_of!(F, PhysicalDeviceObject)).unwrap_or(0);
    let out: usize = b.get(U + offset_of!(F, InterruptObject)).unwrap_or(0);
    call.require(out != 0, format_args!("InterruptObject is NULL"));
    let _d = super::io::live_device(
        call,
        core::ptr::with_exposed_provenance_mut(pdo),
        "PhysicalDeviceObject",
        false,
    );
    let group: u16 = b.get(U + offset_of!(F, Group)).unwrap_or(0);
    if version == CONNECT_FULLY_SPECIFIED_GROUP && group != 0 {
        return STATUS_INVALID_PARAMETER;
    }
    let mode: i32 = b.get(U + offset_of!(F, InterruptMode)).unwrap_or(0);
    let line = Line {
        vector: b.get(U + offset_of!(F, Vector)).unwrap_or(0),
        irql: b.get(U + offset_of!(F, Irql)).unwrap_or(0),
        affinity: b.get(U + offset_of!(F, ProcessorEnableMask)).unwrap_or(0),
        latched: mode != 0,
        shared: b.get::<u8>(U + offset_of!(F, ShareVector)).unwrap_or(0) != 0,
    };
    let object = connect(
        call,
        Connection {
            version,
            line,
            sync_irql: b.get(U + offset_of!(F, SynchronizeIrql)).unwrap_or(0),
            routine: b.get(U + offset_of!(F, ServiceRoutine)).unwrap_or(0),
            context: b.get(U + offset_of!(F, ServiceContext)).unwrap_or(0),
            caller: call.caller,
            connected: true,
            held: None,
        },
    );
    write_object(out, object);
    STATUS_SUCCESS
}

/// `CONNECT_LINE_BASED`: the PDO's assigned line.
fn connect_line_based(call: &Call, b: DriverObject) -> NtStatus {
    let pdo: usize = b.get(U + offset_of!(L, PhysicalDeviceObject)).unwrap_or(0);
    let out: usize = b.get(U + offset_of!(L, InterruptObject)).unwrap_or(0);
    call.require(out != 0, format_args!("InterruptObject is NULL"));
    let Some(line) = pdo_line(call, pdo) else {
        return STATUS_NOT_FOUND;
    };
    let sync: u8 = b.get(U + offset_of!(L, SynchronizeIrql)).unwrap_or(0);
    let object = connect(
        call,
        Connection {
            version: CONNECT_LINE_BASED,
            line,
            sync_irql: sync.max(line.irql),
            routine: b.get(U + offset_of!(L, ServiceRoutine)).unwrap_or(0),
            context: b.get(U + offset_of!(L, ServiceContext)).unwrap_or(0),
            caller: call.caller,
            connected: true,
            held: None,
        },
    );
    write_object(out, object);
    STATUS_SUCCESS
}

/// `CONNECT_MESSAGE_BASED`: no messages here, so the fallback routine on the line, answered as
/// `CONNECT_LINE_BASED`.
fn connect_message_based(call: &Call, b: DriverObject) -> NtStatus {
    let pdo: usize = b.get(U + offset_of!(M, PhysicalDeviceObject)).unwrap_or(0);
    let out: usize = b.get(U + offset_of!(M, ConnectionContext)).unwrap_or(0);
    call.require(out != 0, format_args!("ConnectionContext is NULL"));
    let fallback: usize = b
        .get(U + offset_of!(M, FallBackServiceRoutine))
        .unwrap_or(0);
    let Some(line) = pdo_line(call, pdo) else {
        return STATUS_NOT_FOUND;
    };
    if fallback == 0 {
        return STATUS_INVALID_PARAMETER;
    }
    let sync: u8 = b.get(U + offset_of!(M, SynchronizeIrql)).unwrap_or(0);
    let object = connect(
        call,
        Connection {
            version: CONNECT_LINE_BASED,
            line,
            sync_irql: sync.max(line.irql),
            routine: fallback,
            context: b.get(U + offset_of!(M, ServiceContext)).unwrap_or(0),
            caller: call.caller,
            connected: true,
            held: None,
        },
    );
    write_object(out, object);
    b.set(
        offset_of!(IO_CONNECT_INTERRUPT_PARAMETERS, Version),
        CONNECT_LINE_BASED,
    );
    STATUS_SUCCESS
}

/// Writes the interrupt object to the driver's `*InterruptObject`.
fn write_object(out: usize, object: usize) {
    // SAFETY: the routine's contract: `InterruptObject` (non-NULL, checked) is writable.
    let o = unsafe { DriverObject::new(out, size_of::<usize>()) };
    o.set(0, object);
}

/// `VOID IoDisconnectInterruptEx(PIO_DISCONNECT_INTERRUPT_PARAMETERS Parameters)`.
/// PASSIVE_LEVEL.
pub extern "win64" fn io_disconnect_interrupt_ex(parameters: *mut c_void) {
    let call = verifier::enter("IoDisconnectInterruptEx");
    call.at_most(PASSIVE_LEVEL);
    call.require(!parameters.is_null(), format_args!("Parameters is NULL"));
    // SAFETY: the routine's contract: the driver's IO_DISCONNECT_INTERRUPT_PARAMETERS.
    let b = unsafe {
        DriverObject::new(
            parameters.addr(),
            size_of::<IO_DISCONNECT_INTERRUPT_PARAMETERS>(),
        )
    };
    let version: u32 = b
        .get(offset_of!(IO_DISCONNECT_INTERRUPT_PARAMETERS, Version))
        .unwrap_or(0);
    let object: usize = b
        .get(offset_of!(
            IO_DISCONNECT_INTERRUPT_PARAMETERS,
            ConnectionContext
        ))
        .unwrap_or(0);
    let mut connections = CONNECTIONS.lock();
    let Some(c) = connections.get_mut(&object) else {
        drop(connections);
        call.fail(format_args!(
            "ConnectionContext {object:#x} is not an interrupt connection"
        ));
    };
    if !c.connected {
        drop(connections);
        call.fail(format_args!(
            "the interrupt {object:#x} was disconnected twice"
        ));
    }
    if c.version != version {
        let want = c.version;
        drop(connections);
        call.fail(format_args!(
            "Version {version} is not the version the connection returned ({want})"
        ));
    }
    c.connected = false;
}

/// The connection of interrupt object `p` a lock routine was passed.
fn connection(call: &Call, p: *mut c_void) -> Connection {
    call.require(!p.is_null(), format_args!("Interrupt is NULL"));
    let Some(c) = CONNECTIONS.lock().get(&p.addr()).copied() else {
        call.fail(format_args!("{:#x} is not an interrupt object", p.addr()));
    };
    call.require(
        c.connected,
        format_args!("the interrupt {:#x} is disconnected", p.addr()),
    );
    c
}

/// Takes interrupt `object`'s lock for `call`, raising to its synchronize IRQL; returns the IRQL
/// it was at.
fn acquire(call: &Call, object: usize, c: &Connection) -> u8 {
    call.require(
        call.irql <= c.sync_irql,
        format_args!(
            "called at IRQL {}, above the interrupt's SynchronizeIrql {}",
            call.irql, c.sync_irql
        ),
    );
    let cpu = crate::arch::cpu_id();
    call.require(
        c.held.is_none_or(|(_, holder)| holder != cpu),
        format_args!("the interrupt {object:#x}'s lock is already held"),
    );
    verifier::set_irql(c.sync_irql);
    // Held by another processor: spin until it lets go, as a spin lock does.
    loop {
        match CONNECTIONS.lock().get_mut(&object) {
            Some(r) if r.held.is_some() => {}
            Some(r) => {
                r.held = Some((call.irql, cpu));
                break;
            }
            None => break,
        }
        crate::arch::pause();
    }
    call.irql
}

/// Releases interrupt `object`'s lock, going back to `old`.
fn release(object: usize, old: u8) {
    if let Some(r) = CONNECTIONS.lock().get_mut(&object) {
        r.held = None;
    }
    verifier::set_irql(old);
}

/// `KIRQL KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)`.
pub extern "win64" fn ke_acquire_interrupt_spin_lock(interrupt: *mut c_void) -> u8 {
    let call = verifier::enter("KeAcquireInterruptSpinLock");
    let c = connection(&call, interrupt);
    acquire(&call, interrupt.addr(), &c)
}

/// `VOID KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)`.
pub extern "win64" fn ke_release_interrupt_spin_lock(interrupt: *mut c_void, old: u8) {
    let call = verifier::enter("KeReleaseInterruptSpinLock");
    let c = connection(&call, interrupt);
    call.require(
        c.held.is_some(),
        format_args!("the interrupt {:#x}'s lock is not held", interrupt.addr()),
    );
    call.require(
        c.held
            .is_none_or(|(_, holder)| holder == crate::arch::cpu_id()),
        format_args!(
            "the interrupt {:#x}'s lock is held by another processor",
            interrupt.addr()
        ),
    );
    call.require(
        call.irql == c.sync_irql,
        format_args!(
            "released at IRQL {}, not the SynchronizeIrql {}",
            call.irql, c.sync_irql
        ),
    );
    call.require(
        old <= c.sync_irql,
        format_args!("OldIrql {old} is above the SynchronizeIrql {}", c.sync_irql),
    );
    release(interrupt.addr(), old);
}

/// `BOOLEAN KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE
/// SynchronizeRoutine, PVOID SynchronizeContext)`: runs the routine holding the interrupt's lock.
pub extern "win64" fn ke_synchronize_execution(
    interrupt: *mut c_void,
    routine: usize,
    context: *mut c_void,
) -> u8 {
    let call = verifier::enter("KeSynchronizeExecution");
    let c = connection(&call, interrupt);
    call.require(
        crate::nt::is_driver_code(routine as u64),
        format_args!("SynchronizeRoutine {} is not code", Where(routine as u64)),
    );
    let old = acquire(&call, interrupt.addr(), &c);
    // SAFETY: the driver's synchronize routine (code, checked), `BOOLEAN (PVOID)` in the
    // Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Synchronize>(routine) };
    // SAFETY: the driver's own context.
    let result = unsafe { f(context) };
    let after = verifier::irql();
    if after != c.sync_irql {
        verifier::violation(
            "synchronize routine",
            routine as u64,
            format_args!("returned at IRQL {after}, called at {}", c.sync_irql),
        );
    }
    release(interrupt.addr(), old);
    result
}

/// The connections and sources, for a diagnostic line: each connected line's vector and IRQL,
/// each source's vector and whether it is asserted now, and vCPU 0's `vcpu_info` address.
pub fn describe() -> alloc::string::String {
    use core::fmt::Write as _;
    let mut out = alloc::string::String::new();
    for c in CONNECTIONS.lock().values().filter(|c| c.connected) {
        let _ = write!(out, "line vector {} irql {}; ", c.line.vector, c.line.irql);
    }
    for (vector, source) in SOURCES.lock().iter() {
        let _ = write!(out, "source vector {vector} asserted {}; ", source());
    }
    let vi = crate::events::VCPU_INFO
        .first()
        .map_or(core::ptr::null_mut(), |p| p.load(Ordering::SeqCst));
    let _ = write!(out, "vcpu_info {vi:p}");
    out
}

/// Whether any interrupt is connected: something outside the kernel (Xen, on the platform
/// device's line) may still wake a waiting thread.
pub fn any_connected() -> bool {
    CONNECTIONS.lock().values().any(|c| c.connected)
}

/// Delivers what an interrupt would have delivered by now: see the module docs. Returns how
/// many service routine calls it made.
pub fn poll() -> usize {
    let connections: Vec<(usize, Connection)> = CONNECTIONS
        .lock()
        .iter()
        .filter(|(_, c)| c.connected)
        .map(|(&o, &c)| (o, c))
        .collect();
    if connections.is_empty() {
        return 0;
    }
    let sources: Vec<(u32, fn() -> bool)> = SOURCES.lock().iter().map(|(&v, &s)| (v, s)).collect();
    let start = verifier::irql();
    let mut calls = 0;
    for (vector, source) in sources {
        let on_line: Vec<&(usize, Connection)> = connections
            .iter()
            .filter(|(_, c)| c.line.vector == vector && c.line.irql > start)
            .collect();
        if on_line.is_empty() {
            continue;
        }
        for _ in 0..MAX_ROUNDS {
            if !source() {
                break;
            }
            let mut claimed = false;
            for &&(object, c) in &on_line {
                calls += 1;
                if service(object, &c, start) {
                    claimed = true;
                    break;
                }
            }
            if !claimed {
                UNCLAIMED.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
    }
    if calls > 0 && start < DISPATCH_LEVEL {
        super::dpc::run_due();
    }
    calls
}

/// Calls one service routine as the interrupt dispatcher does; whether it claimed the interrupt.
fn service(object: usize, c: &Connection, start: u8) -> bool {
    // Connected and not held (by another processor's KeAcquireInterruptSpinLock): take it.
    let taken = match CONNECTIONS.lock().get_mut(&object) {
        Some(r) if r.connected && r.held.is_none() => {
            r.held = Some((start, crate::arch::cpu_id()));
            true
        }
        _ => false,
    };
    if !taken {
        return false;
    }
    if !crate::nt::is_driver_code(c.routine as u64) {
        verifier::violation(
            "interrupt dispatch",
            c.routine as u64,
            format_args!("the service routine of the interrupt {object:#x} is not code"),
        );
    }
    verifier::set_irql(c.sync_irql);
    CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the connected service routine (code, checked), `BOOLEAN (PKINTERRUPT, PVOID)` in
    // the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Service>(c.routine) };
    // SAFETY: the interrupt object and the context the driver connected it with.
    let claimed = unsafe {
        f(
            core::ptr::with_exposed_provenance_mut(object),
            core::ptr::with_exposed_provenance_mut(c.context),
        )
    } != 0;
    let after = verifier::irql();
    if after != c.sync_irql {
        verifier::violation(
            "interrupt service routine",
            c.routine as u64,
            format_args!("returned at IRQL {after}, called at {}", c.sync_irql),
        );
    }
    release(object, start);
    if claimed {
        CLAIMED.fetch_add(1, Ordering::SeqCst);
    }
    claimed
}
