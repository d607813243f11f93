// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! IRPs: `IoAllocateIrp`, `IoBuildSynchronousFsdRequest`, `IoFreeIrp`, `IofCallDriver`,
//! `IofCompleteRequest` (and `PoCallDriver`, which is `IofCallDriver` for power IRPs since
//! Windows Vista).
//!
//! An IRP is laid out as `IoAllocateIrp` lays it out: the fixed part (`ntddk::IRP`), then
//! `StackCount` stack locations, the current one being `Tail.Overlay.CurrentStackLocation`
//! (`CurrentLocation` counts from 1 at the bottom; a fresh IRP's is `StackCount + 1`, one past
//! the top, so its first driver fills `IoGetNextIrpStackLocation`). The walk up the stack on
//! completion is the Windows Research Kernel's `IopfCompleteRequest`: each location's
//! `SL_PENDING_RETURNED` becomes `Irp->PendingReturned`, the location is cleared, its completion
//! routine runs if its `SL_INVOKE_ON_SUCCESS`/`ON_ERROR`/`ON_CANCEL` bit matches the status,
//! with the device object of the location above (NULL at the top), and a routine returning
//! `STATUS_MORE_PROCESSING_REQUIRED` stops the walk (the IRP is then its driver's again); where
//! no routine runs, the pending flag moves up to the next location.
//!
//! Who gets the IRP back when the walk passes the top location: for one from `IoAllocateIrp`
//! nobody (Windows would complete it to a thread it does not have), so its driver's completion
//! routine must keep it; for the stand-in's own IRPs ([`Owner::Kernel`]: the PnP manager's) the
//! IRP is marked done for the waiting sender; for a `PoRequestPowerIrp` IRP the requester's
//! completion function runs and the IRP is freed; for an `IoBuildSynchronousFsdRequest` IRP the
//! I/O manager's final processing runs (status block copied, event set, unless it failed
//! without pending) and the IRP is freed: its sender may not free it, and the event and status
//! block must still be there.
//!
//! Checked, as Driver Verifier's I/O verification does: `IofCallDriver` on an IRP whose next
//! location the caller did not set up (the stand-in marks unused locations with an invalid major
//! function, [`UNSET_MAJOR`]; Windows zeroes them), with no location left for the device, at an
//! IRQL above `DISPATCH_LEVEL` (above `PASSIVE_LEVEL` for a PnP IRP), to a deleted device; a
//! dispatch or completion routine that returns at another IRQL; a completion routine that does
//! not propagate `PendingReturned` (or keep the IRP); completing an IRP twice, with
//! `STATUS_PENDING`, or with a cancel routine still set; an IRP from `IoAllocateIrp` completed
//! past its top; `IoFreeIrp` of an IRP that is not a driver's, or twice; a freed IRP used again;
//! and (at unload, [`outstanding`]) IRPs a driver allocated and never freed.

use super::DriverObject;
use super::io::{self, live_device};
use crate::nt::loader::Where;
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::alloc::{Layout, alloc_zeroed};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{
    DEVICE_OBJECT, IO_STACK_LOCATION, IO_STATUS_BLOCK, IO_TYPE_IRP, IRP, IRP_MJ_MAXIMUM_FUNCTION,
    IRP_MJ_PNP, IRP_MJ_POWER, IRP_TAIL_OVERLAY, SL_INVOKE_ON_CANCEL, SL_INVOKE_ON_ERROR,
    SL_INVOKE_ON_SUCCESS, SL_PENDING_RETURNED, STATUS_MORE_PROCESSING_REQUIRED, STATUS_PENDING,
};
use ntstatus::NtStatus;

/// The major function the stand-in writes into stack locations no driver set up.
pub const UNSET_MAJOR: u8 = 0xff;
/// Bytes of the fixed part.
const IRP_BYTES: usize = size_of::<IRP>();
/// Bytes of one stack location.
const LOCATION_BYTES: usize = size_of::<IO_STACK_LOCATION>();
const _: () = assert!(IRP_BYTES == 0xd0 && LOCATION_BYTES == 0x48);
/// The most locations the stand-in allocates (Windows' limit is a `CCHAR`).
const MAX_STACK: i8 = 32;
/// Fill of a freed IRP.
const FILL_FREED: u8 = 0xdf;

/// A device power IRP `PoRequestPowerIrp` built.
#[derive(Debug, Clone, Copy)]
pub struct PowerRequest {
    /// The device object the request named.
    pub device: usize,
    /// The top of its stack, referenced while the IRP is out.
    pub top: usize,
    /// `IRP_MN_SET_POWER`, `IRP_MN_QUERY_POWER` or `IRP_MN_WAIT_WAKE`.
    pub minor: u8,
    /// The power state requested.
    pub state: u32,
    /// The requester's completion function (0 for none).
    pub completion: usize,
    /// Its context.
    pub context: usize,
}

/// Who gets an IRP back once its completion passed the top location.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    /// `IoAllocateIrp`: the driver, whose completion routine must keep it and free it.
    Driver,
    /// The stand-in itself (the PnP manager): marked done for the sender.
    Kernel,
    /// `PoRequestPowerIrp`: the requester's completion function, then freed.
    Power(PowerRequest),
    /// `IoBuildSynchronousFsdRequest`: the I/O manager's final processing (the status block
    /// copied and the event set, unless it failed without pending), then freed.
    Synchronous {
        /// The caller's `KEVENT`.
        event: usize,
        /// The caller's `IO_STATUS_BLOCK`.
        iosb: usize,
    },
}

#[derive(Debug, Clone, Copy)]
struct Record {
    bytes: usize,
    owner: Owner,
    caller: u64,
    /// Completion passed the top location (from this caller).
    done: Option<u64>,
    /// Freed (from this caller).
    freed: Option<u64>,
}

static IRPS: spin::Mutex<BTreeMap<usize, Record>> = spin::Mutex::new(BTreeMap::new());

/// The fixed part of IRP `irp` (one this module allocated; its memory is never reused).
const fn fixed(irp: usize) -> DriverObject {
    // SAFETY: IRPs are allocated here with at least the fixed part, and never reused.
    unsafe { DriverObject::new(irp, IRP_BYTES) }
}

/// The address of stack location `index` (0 is the bottom) of IRP `irp`.
const fn location_address(irp: usize, index: usize) -> usize {
    irp.wrapping_add(IRP_BYTES)
        .wrapping_add(LOCATION_BYTES.wrapping_mul(index))
}

/// Stack location `index` of IRP `irp`, which the caller checked is below `StackCount`.
const fn location(irp: usize, index: usize) -> DriverObject {
    // SAFETY: inside the IRP's allocation (the caller checked `index < StackCount`).
    unsafe { DriverObject::new(location_address(irp, index), LOCATION_BYTES) }
}

/// `CurrentLocation` and `StackCount`.
fn locations(irp: usize) -> (i8, i8) {
    let f = fixed(irp);
    (
        f.get(offset_of!(IRP, CurrentLocation)).unwrap_or(0),
        f.get(offset_of!(IRP, StackCount)).unwrap_or(0),
    )
}

/// Moves the IRP's current location to `current` (1-based), keeping the pointer in step.
fn set_current(irp: usize, current: i8) {
    let f = fixed(irp);
    f.set(offset_of!(IRP, CurrentLocation), current);
    let index = usize::try_from(current.saturating_sub(1)).unwrap_or(0);
    f.set(
        offset_of!(IRP, Tail) + offset_of!(IRP_TAIL_OVERLAY, CurrentStackLocation),
        location_address(irp, index),
    );
}

/// The IRP's `IoStatus.Status`.
pub fn status(irp: usize) -> NtStatus {
    let raw: usize = fixed(irp)
        .get(offset_of!(IRP, IoStatus) + offset_of!(IO_STATUS_BLOCK, Status))
        .unwrap_or(0);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the NTSTATUS is the slot's low 32 bits"
    )]
    let low = raw as u32;
    low.cast_signed()
}

/// Sets the IRP's `IoStatus.Status`.
pub fn set_status(irp: usize, status: NtStatus) {
    fixed(irp).set(
        offset_of!(IRP, IoStatus) + offset_of!(IO_STATUS_BLOCK, Status),
        status.cast_unsigned() as usize,
    );
}

/// The IRP's `IoStatus.Information`.
pub fn information(irp: usize) -> usize {
    fixed(irp)
        .get(offset_of!(IRP, IoStatus) + offset_of!(IO_STATUS_BLOCK, Information))
        .unwrap_or(0)
}

/// Sets the IRP's `IoStatus.Information`.
pub fn set_information(irp: usize, information: usize) {
    fixed(irp).set(
        offset_of!(IRP, IoStatus) + offset_of!(IO_STATUS_BLOCK, Information),
        information,
    );
}

/// The location the first driver will see (the top one) of a fresh IRP, for its sender to fill.
pub fn top_location(irp: usize) -> Option<DriverObject> {
    let (current, count) = locations(irp);
    (current == count.saturating_add(1) && count >= 1)
        .then(|| location(irp, usize::try_from(count - 1).unwrap_or(0)))
}

/// The major function of the IRP's current location, if it is known, not freed and held by a
/// driver.
pub fn current_major(irp: usize) -> Option<u8> {
    if IRPS.lock().get(&irp).is_none_or(|r| r.freed.is_some()) {
        return None;
    }
    let (current, count) = locations(irp);
    if current < 1 || current > count {
        return None;
    }
    location(irp, usize::try_from(current - 1).ok()?)
        .get(offset_of!(IO_STACK_LOCATION, MajorFunction))
}

/// The current stack location of an IRP held by a driver (for the stand-in's own drivers).
pub fn current_location(irp: usize) -> Option<DriverObject> {
    if IRPS.lock().get(&irp).is_none_or(|r| r.freed.is_some()) {
        return None;
    }
    let (current, count) = locations(irp);
    if current < 1 || current > count {
        return None;
    }
    Some(location(irp, usize::try_from(current - 1).ok()?))
}

/// The next (lower) stack location of an IRP held by a driver, if there is one.
pub fn next_location(irp: usize) -> Option<DriverObject> {
    if IRPS.lock().get(&irp).is_none_or(|r| r.freed.is_some()) {
        return None;
    }
    let (current, count) = locations(irp);
    if current < 2 || current > count.saturating_add(1) {
        return None;
    }
    Some(location(irp, usize::try_from(current - 2).ok()?))
}

/// Allocates an IRP of `stack` locations for `owner`.
pub fn allocate(stack: i8, owner: Owner, caller: u64) -> usize {
    let count = usize::try_from(stack).unwrap_or(0);
    let bytes = IRP_BYTES + LOCATION_BYTES * count;
    let Ok(layout) = Layout::from_size_align(bytes, 16) else {
        crate::harness::fatal(format_args!("IRP layout"));
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        crate::harness::fatal(format_args!("the stand-in ran out of memory for an IRP"));
    }
    let irp = p.addr();
    let f = fixed(irp);
    f.set(offset_of!(IRP, Type), IO_TYPE_IRP);
    f.set(
        offset_of!(IRP, Size),
        u16::try_from(bytes).unwrap_or(u16::MAX),
    );
    f.set(offset_of!(IRP, StackCount), stack);
    set_current(irp, stack.saturating_add(1));
    for i in 0..count {
        location(irp, i).set(offset_of!(IO_STACK_LOCATION, MajorFunction), UNSET_MAJOR);
    }
    IRPS.lock().insert(
        irp,
        Record {
            bytes,
            owner,
            caller,
            done: None,
            freed: None,
        },
    );
    irp
}

/// Frees IRP `irp` (no checks; the caller made them).
fn release(irp: usize, by: u64) {
    let mut irps = IRPS.lock();
    let Some(r) = irps.get_mut(&irp) else {
        return;
    };
    r.freed = Some(by);
    let bytes = r.bytes;
    drop(irps);
    let p = core::ptr::with_exposed_provenance_mut::<u8>(irp);
    // SAFETY: the IRP's allocation of `bytes` bytes, which nothing may use after the free (the
    // allocator never reuses it).
    unsafe { p.write_bytes(FILL_FREED, bytes) };
}

/// Frees a stand-in IRP ([`Owner::Kernel`]) once its sender is done with it.
pub fn free_kernel(irp: usize) {
    release(irp, 0);
}

/// The record of IRP `p` a routine was passed: known and not freed.
fn live(call: &Call, p: *mut c_void) -> Record {
    call.require(!p.is_null(), format_args!("Irp is NULL"));
    let Some(r) = IRPS.lock().get(&p.addr()).copied() else {
        call.fail(format_args!("{:#x} is not an IRP", p.addr()));
    };
    if let Some(by) = r.freed {
        call.fail(format_args!(
            "the IRP {:#x} was freed (from {})",
            p.addr(),
            Where(by)
        ));
    }
    r
}

/// The IRP's `PendingReturned`.
pub fn pending_returned(irp: usize) -> bool {
    fixed(irp)
        .get::<u8>(offset_of!(IRP, PendingReturned))
        .unwrap_or(0)
        != 0
}

/// Whether a stand-in IRP's completion passed its top.
pub fn is_done(irp: usize) -> bool {
    IRPS.lock().get(&irp).is_some_and(|r| r.done.is_some())
}

/// The IRPs allocated by code of image `index` and not freed.
pub fn outstanding(index: usize) -> Vec<(usize, u64)> {
    IRPS.lock()
        .iter()
        .filter(|(_, r)| {
            r.freed.is_none() && crate::nt::loader::containing(r.caller) == Some(index)
        })
        .map(|(&a, r)| (a, r.caller))
        .collect()
}

/// The IRPs allocated (by anyone) and not freed: `(address, caller)`.
pub fn all_outstanding() -> Vec<(usize, u64)> {
    IRPS.lock()
        .iter()
        .filter(|(_, r)| r.freed.is_none())
        .map(|(&a, r)| (a, r.caller))
        .collect()
}

/// `(allocated, live)` IRPs so far.
pub fn counts() -> (usize, usize) {
    let irps = IRPS.lock();
    (
        irps.len(),
        irps.values().filter(|r| r.freed.is_none()).count(),
    )
}

/// `PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_allocate_irp(stack: i8, _charge_quota: u8) -> *mut c_void {
    let call = verifier::enter("IoAllocateIrp");
    call.at_most(DISPATCH_LEVEL);
    call.require(
        (1..=MAX_STACK).contains(&stack),
        format_args!("StackSize {stack} is not 1..{MAX_STACK}"),
    );
    core::ptr::with_exposed_provenance_mut(allocate(stack, Owner::Driver, call.caller))
}

/// `VOID IoFreeIrp(PIRP Irp)`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_free_irp(irp: *mut c_void) {
    let call = verifier::enter("IoFreeIrp");
    call.at_most(DISPATCH_LEVEL);
    let r = live(&call, irp);
    call.require(
        matches!(r.owner, Owner::Driver),
        format_args!(
            "the IRP {:#x} was not allocated by IoAllocateIrp (it belongs to the kernel)",
            irp.addr()
        ),
    );
    release(irp.addr(), call.caller);
}

/// `PIRP IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID
/// Buffer, ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event, PIO_STATUS_BLOCK
/// IoStatusBlock)`. `PASSIVE_LEVEL`.
///
/// An IRP of the device's `StackSize` locations, its first location's major function set, for
/// the caller to fill and send; the I/O manager frees it once completed. The stand-in builds
/// the buffer-less kinds (`IRP_MJ_PNP`, `IRP_MJ_FLUSH_BUFFERS`, `IRP_MJ_SHUTDOWN`); a read or
/// write fails the run as not implemented here rather than being built wrong.
pub extern "win64" fn io_build_synchronous_fsd_request(
    major: u32,
    device: *mut c_void,
    buffer: *mut c_void,
    length: u32,
    _offset: *mut i64,
    event: *mut c_void,
    iosb: *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("IoBuildSynchronousFsdRequest");
    call.at_most(PASSIVE_LEVEL);
    let allowed = [
        ntddk::IRP_MJ_READ,
        ntddk::IRP_MJ_WRITE,
        ntddk::IRP_MJ_FLUSH_BUFFERS,
        ntddk::IRP_MJ_SHUTDOWN,
        IRP_MJ_PNP,
    ];
    let m = u8::try_from(major).unwrap_or(u8::MAX);
    call.require(
        allowed.contains(&m),
        format_args!("MajorFunction {major:#x} is not one IoBuildSynchronousFsdRequest builds"),
    );
    call.require(
        m != ntddk::IRP_MJ_READ && m != ntddk::IRP_MJ_WRITE,
        format_args!(
            "a read or write IRP ({length} bytes at {:#x}): not implemented by the stand-in",
            buffer.addr()
        ),
    );
    live_device(&call, device, "DeviceObject", false);
    call.require(!iosb.is_null(), format_args!("IoStatusBlock is NULL"));
    super::event::validate(&call, event);
    let stack: i8 = io::device_object(device.addr())
        .get(offset_of!(DEVICE_OBJECT, StackSize))
        .unwrap_or(1);
    let irp = allocate(
        stack,
        Owner::Synchronous {
            event: event.addr(),
            iosb: iosb.addr(),
        },
        call.caller,
    );
    let f = fixed(irp);
    f.set(offset_of!(IRP, UserEvent), event.addr());
    f.set(offset_of!(IRP, UserIosb), iosb.addr());
    if let Some(top) = top_location(irp) {
        top.set(offset_of!(IO_STACK_LOCATION, MajorFunction), m);
    }
    core::ptr::with_exposed_provenance_mut(irp)
}

/// A dispatch or completion routine in the Microsoft x64 convention.
type Dispatch = unsafe extern "win64" fn(*mut c_void, *mut c_void) -> NtStatus;
/// `IO_COMPLETION_ROUTINE`.
type Completion = unsafe extern "win64" fn(*mut c_void, *mut c_void, *mut c_void) -> NtStatus;
/// `REQUEST_POWER_COMPLETE`.
type PowerComplete = unsafe extern "win64" fn(*mut c_void, u8, u32, *mut c_void, *mut c_void);

/// `IofCallDriver`'s work for `call` (`power`: `PoCallDriver`, which wants a power IRP).
pub fn send(call: &Call, device_p: *mut c_void, irp_p: *mut c_void, power: bool) -> NtStatus {
    call.at_most(DISPATCH_LEVEL);
    let dev = live_device(call, device_p, "DeviceObject", false);
    let r = live(call, irp_p);
    let irp = irp_p.addr();
    if let Some(by) = r.done {
        call.fail(format_args!(
            "the IRP {irp:#x} was already completed (from {})",
            Where(by)
        ));
    }
    let (current, count) = locations(irp);
    let pointer: usize = fixed(irp)
        .get(offset_of!(IRP, Tail) + offset_of!(IRP_TAIL_OVERLAY, CurrentStackLocation))
        .unwrap_or(0);
    let current_index = usize::try_from(current.saturating_sub(1)).unwrap_or(0);
    call.require(
        pointer == location_address(irp, current_index),
        format_args!(
            "the IRP {irp:#x}'s CurrentLocation ({current}) and CurrentStackLocation disagree"
        ),
    );
    let stack: i8 = io::device_object(device_p.addr())
        .get(offset_of!(DEVICE_OBJECT, StackSize))
        .unwrap_or(1);
    call.require(
        current > 1 && current <= count.saturating_add(1),
        format_args!(
            "no stack location left for the device object {:#x} (StackSize {stack}): the IRP \
             {irp:#x} has {count} and is at location {current}",
            device_p.addr()
        ),
    );
    let next_index = current_index.saturating_sub(1);
    let next = location(irp, next_index);
    let major: u8 = next
        .get(offset_of!(IO_STACK_LOCATION, MajorFunction))
        .unwrap_or(UNSET_MAJOR);
    call.require(
        major != UNSET_MAJOR,
        format_args!(
            "the caller did not set up the next stack location of the IRP {irp:#x} \
             (IoGetNextIrpStackLocation, IoCopyCurrentIrpStackLocationToNext or \
             IoSkipCurrentIrpStackLocation)"
        ),
    );
    call.require(
        major <= IRP_MJ_MAXIMUM_FUNCTION,
        format_args!("the IRP {irp:#x}'s next location has major function {major:#x}"),
    );
    call.require(
        !power || major == IRP_MJ_POWER,
        format_args!("the IRP {irp:#x} is not a power IRP (major function {major:#x})"),
    );
    call.require(
        major != IRP_MJ_PNP || call.irql == PASSIVE_LEVEL,
        format_args!(
            "a PnP IRP sent at IRQL {}: PnP IRPs are sent at PASSIVE_LEVEL",
            call.irql
        ),
    );
    set_current(irp, current - 1);
    next.set(offset_of!(IO_STACK_LOCATION, DeviceObject), device_p.addr());
    let routine = io::dispatch_routine(dev.driver, major);
    if !crate::nt::is_driver_code(routine as u64) {
        call.fail(format_args!(
            "the driver's MajorFunction[{major:#x}] {} is not code",
            Where(routine as u64)
        ));
    }
    // SAFETY: the driver object's dispatch routine for `major` (code, checked), which takes
    // (DeviceObject, Irp) in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Dispatch>(routine) };
    let before = verifier::irql();
    // SAFETY: a live device of that driver and a live IRP whose current location is the
    // device's, as the dispatch routine's contract requires.
    let status = unsafe { f(device_p, irp_p) };
    let after = verifier::irql();
    if after != before {
        verifier::violation(
            "dispatch routine",
            routine as u64,
            format_args!("MajorFunction[{major:#x}] returned at IRQL {after}, called at {before}"),
        );
    }
    status
}

/// `NTSTATUS IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)`: moves the IRP to its next
/// location and calls the device's dispatch routine. <= DISPATCH_LEVEL.
pub extern "win64" fn iof_call_driver(device: *mut c_void, irp: *mut c_void) -> NtStatus {
    let call = verifier::enter("IofCallDriver");
    send(&call, device, irp, false)
}

/// `NTSTATUS PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)`: `IofCallDriver` for a power
/// IRP. <= DISPATCH_LEVEL.
pub extern "win64" fn po_call_driver(device: *mut c_void, irp: *mut c_void) -> NtStatus {
    let call = verifier::enter("PoCallDriver");
    send(&call, device, irp, true)
}

/// Clears a location the completion walk leaves (`ZeroIrpStackLocation`, plus the stand-in's
/// unset mark).
fn clear(l: DriverObject) {
    l.set(offset_of!(IO_STACK_LOCATION, MajorFunction), UNSET_MAJOR);
    l.set(offset_of!(IO_STACK_LOCATION, MinorFunction), 0u8);
    l.set(offset_of!(IO_STACK_LOCATION, Flags), 0u8);
    l.set(offset_of!(IO_STACK_LOCATION, Control), 0u8);
    l.set(offset_of!(IO_STACK_LOCATION, Parameters), [0usize; 4]);
    l.set(offset_of!(IO_STACK_LOCATION, FileObject), 0usize);
}

/// `IofCompleteRequest`'s work for `call`.
pub fn complete(call: &Call, irp_p: *mut c_void) {
    call.at_most(DISPATCH_LEVEL);
    let r = live(call, irp_p);
    let irp = irp_p.addr();
    if let Some(by) = r.done {
        call.fail(format_args!(
            "the IRP {irp:#x} was completed twice (its completion already passed the top, \
             from {})",
            Where(by)
        ));
    }
    let (mut current, count) = locations(irp);
    call.require(
        current >= 1 && current <= count,
        format_args!(
            "the IRP {irp:#x} was completed twice: no driver holds it (CurrentLocation \
             {current} of {count})"
        ),
    );
    let s = status(irp);
    call.require(
        s != STATUS_PENDING,
        format_args!("the IRP {irp:#x} was completed with STATUS_PENDING"),
    );
    let cancel_routine: usize = fixed(irp).get(offset_of!(IRP, CancelRoutine)).unwrap_or(0);
    call.require(
        cancel_routine == 0,
        format_args!(
            "the IRP {irp:#x} was completed while its cancel routine {} is set",
            Where(cancel_routine as u64)
        ),
    );
    loop {
        let index = usize::try_from(current - 1).unwrap_or(0);
        let l = location(irp, index);
        current += 1;
        set_current(irp, current);
        let control: u8 = l.get(offset_of!(IO_STACK_LOCATION, Control)).unwrap_or(0);
        let pending = control & SL_PENDING_RETURNED != 0;
        fixed(irp).set(offset_of!(IRP, PendingReturned), u8::from(pending));
        let status_now = status(irp);
        let cancelled = fixed(irp).get::<u8>(offset_of!(IRP, Cancel)).unwrap_or(0) != 0;
        let routine: usize = l
            .get(offset_of!(IO_STACK_LOCATION, CompletionRoutine))
            .unwrap_or(0);
        let context: usize = l.get(offset_of!(IO_STACK_LOCATION, Context)).unwrap_or(0);
        let invoke = routine != 0
            && ((status_now >= 0 && control & SL_INVOKE_ON_SUCCESS != 0)
                || (status_now < 0 && control & SL_INVOKE_ON_ERROR != 0)
                || (cancelled && control & SL_INVOKE_ON_CANCEL != 0));
        clear(l);
        let above =
            (current <= count).then(|| location(irp, usize::try_from(current - 1).unwrap_or(0)));
        if invoke {
            if !run_completion_of(irp, routine, context, above, pending) {
                return;
            }
        } else if let Some(a) = above
            && pending
        {
            let c: u8 = a.get(offset_of!(IO_STACK_LOCATION, Control)).unwrap_or(0);
            a.set(
                offset_of!(IO_STACK_LOCATION, Control),
                c | SL_PENDING_RETURNED,
            );
        }
        if current > count {
            break;
        }
    }
    set_current(irp, count.saturating_add(2));
    finish(call, irp, r.owner);
}

/// Runs the completion routine of a location the walk just left, `above` being the next
/// location up (none at the top); false if it kept the IRP
/// (`STATUS_MORE_PROCESSING_REQUIRED`). Checks it did not free an IRP it let go on, and that it
/// propagated `PendingReturned`.
fn run_completion_of(
    irp: usize,
    routine: usize,
    context: usize,
    above: Option<DriverObject>,
    pending: bool,
) -> bool {
    let device: usize = above
        .and_then(|a| a.get(offset_of!(IO_STACK_LOCATION, DeviceObject)))
        .unwrap_or(0);
    let returned = run_completion(routine, device, irp, context);
    if returned == STATUS_MORE_PROCESSING_REQUIRED {
        return false;
    }
    if IRPS.lock().get(&irp).is_some_and(|r| r.freed.is_some()) {
        verifier::violation(
            "completion routine",
            routine as u64,
            format_args!(
                "freed the IRP {irp:#x} but returned {:#010x}, not \
                 STATUS_MORE_PROCESSING_REQUIRED",
                returned.cast_unsigned()
            ),
        );
    }
    if let Some(a) = above
        && pending
        && a.get::<u8>(offset_of!(IO_STACK_LOCATION, Control))
            .unwrap_or(0)
            & SL_PENDING_RETURNED
            == 0
    {
        verifier::violation(
            "completion routine",
            routine as u64,
            format_args!(
                "Irp->PendingReturned was set and the routine neither marked the IRP {irp:#x} \
                 pending (IoMarkIrpPending) nor returned STATUS_MORE_PROCESSING_REQUIRED"
            ),
        );
    }
    true
}

/// Calls completion routine `routine` and checks it returned at the IRQL it was called at.
fn run_completion(routine: usize, device: usize, irp: usize, context: usize) -> NtStatus {
    if !crate::nt::is_driver_code(routine as u64) {
        verifier::violation(
            "IofCompleteRequest",
            routine as u64,
            format_args!("the completion routine of the IRP {irp:#x} is not code"),
        );
    }
    // SAFETY: a completion routine (code, checked) set with IoSetCompletionRoutine, which takes
    // (DeviceObject, Irp, Context) in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Completion>(routine) };
    let before = verifier::irql();
    // SAFETY: the routine's contract: the device of the location above (or NULL), the IRP
    // being completed, the context its driver gave.
    let returned = unsafe {
        f(
            core::ptr::with_exposed_provenance_mut(device),
            core::ptr::with_exposed_provenance_mut(irp),
            core::ptr::with_exposed_provenance_mut(context),
        )
    };
    let after = verifier::irql();
    if after != before {
        verifier::violation(
            "completion routine",
            routine as u64,
            format_args!("returned at IRQL {after}, called at {before}"),
        );
    }
    returned
}

/// The IRP's completion passed its top: hand it to its owner.
fn finish(call: &Call, irp: usize, owner: Owner) {
    if let Some(r) = IRPS.lock().get_mut(&irp) {
        r.done = Some(call.caller);
    }
    match owner {
        Owner::Driver => call.fail(format_args!(
            "the IRP {irp:#x} from IoAllocateIrp was completed past its top location: no \
             completion routine returned STATUS_MORE_PROCESSING_REQUIRED to keep it (Windows \
             would complete it to a thread it does not have)"
        )),
        Owner::Kernel => {}
        Owner::Synchronous { event, iosb } => {
            let status = self::status(irp);
            // The Windows Research Kernel's IopCompleteRequest: an error completed without
            // pending was already returned by IoCallDriver, so the caller does not wait and
            // nothing is written or signalled.
            if status.cast_unsigned() >> 30 != 3 || pending_returned(irp) {
                let block: IO_STATUS_BLOCK =
                    fixed(irp)
                        .get(offset_of!(IRP, IoStatus))
                        .unwrap_or(IO_STATUS_BLOCK {
                            Status: 0,
                            Information: 0,
                        });
                // SAFETY: the caller of IoBuildSynchronousFsdRequest gave this status block
                // for the IRP's lifetime (checked non-NULL then).
                unsafe { DriverObject::new(iosb, size_of::<IO_STATUS_BLOCK>()) }.set(0, block);
                super::event::signal(call, event);
            }
            release(irp, 0);
        }
        Owner::Power(request) => {
            super::po::requested_done(request);
            if request.completion != 0 {
                // SAFETY: the requester's completion function (code, checked by
                // PoRequestPowerIrp), `REQUEST_POWER_COMPLETE` in the Microsoft x64 convention.
                let f = unsafe { core::mem::transmute::<usize, PowerComplete>(request.completion) };
                let before = verifier::irql();
                // SAFETY: the arguments Windows passes: the device named in the request, the
                // minor function, the state, the context and the IRP's status block.
                unsafe {
                    f(
                        core::ptr::with_exposed_provenance_mut(request.device),
                        request.minor,
                        request.state,
                        core::ptr::with_exposed_provenance_mut(request.context),
                        core::ptr::with_exposed_provenance_mut(
                            irp.wrapping_add(offset_of!(IRP, IoStatus)),
                        ),
                    );
                }
                let after = verifier::irql();
                if after != before {
                    verifier::violation(
                        "power completion function",
                        request.completion as u64,
                        format_args!("returned at IRQL {after}, called at {before}"),
                    );
                }
            }
            let _ = io::reference_device(call, request.top, -1);
            release(irp, 0);
        }
    }
}

/// `VOID IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)`. <= DISPATCH_LEVEL.
pub extern "win64" fn iof_complete_request(irp: *mut c_void, _boost: i8) {
    let call = verifier::enter("IofCompleteRequest");
    complete(&call, irp);
}
