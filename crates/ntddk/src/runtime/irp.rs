// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! IRPs a driver holds: completing them, passing them on, forwarding one and waiting for its
//! answer, and sending a Plug and Play request of its own.
//!
//! Every wait here is at `PASSIVE_LEVEL` on a `KEVENT` on the caller's stack: the completion
//! routine signals it and returns `STATUS_MORE_PROCESSING_REQUIRED`, so the IRP is still ours
//! when the wait ends (upstream's `FdoForwardIrpSynchronously` and `FdoQueryInterface`).

use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::consts::{IO_NO_INCREMENT, IRP_MJ_PNP};
use crate::stack::{self, InvokeOn};
use crate::types::{
    DEVICE_OBJECT, DEVICE_POWER_STATE, IO_STACK_LOCATION, IO_STATUS_BLOCK, IRP, KEVENT, NTSTATUS,
    POWER_STATE,
};
use crate::{STATUS_INSUFFICIENT_RESOURCES, STATUS_MORE_PROCESSING_REQUIRED, STATUS_NOT_SUPPORTED};

/// A notification event on the waiter's stack.
struct StackEvent(MaybeUninit<KEVENT>);

impl StackEvent {
    fn new() -> Self {
        let mut event = Self(MaybeUninit::uninit());
        // SAFETY: PASSIVE_LEVEL (the callers'); the event is initialised in place, and it
        // stays where it is (the caller never moves it while an IRP can signal it).
        unsafe {
            crate::routines::KeInitializeEvent(
                event.0.as_mut_ptr(),
                crate::consts::NotificationEvent,
                0,
            );
        };
        event
    }

    const fn as_context(&mut self) -> *mut c_void {
        self.0.as_mut_ptr().cast()
    }

    fn wait(&mut self) {
        // SAFETY: PASSIVE_LEVEL; an initialised event, no timeout (the lower driver completes
        // every Plug and Play IRP).
        let _status = unsafe {
            crate::routines::KeWaitForSingleObject(
                self.0.as_mut_ptr().cast(),
                crate::consts::Executive,
                crate::consts::KernelMode,
                0,
                core::ptr::null_mut(),
            )
        };
    }
}

/// The completion routine of a synchronous send: signals the waiter's event and keeps the IRP.
unsafe extern "system" fn signal(
    _device: *mut DEVICE_OBJECT,
    _irp: *mut IRP,
    context: *mut c_void,
) -> NTSTATUS {
    // SAFETY: `context` is the waiter's `KEVENT`, alive until the wait ends (after this).
    unsafe { crate::routines::KeSetEvent(context.cast(), 0, 0) };
    STATUS_MORE_PROCESSING_REQUIRED
}

/// The device below one of this driver's device objects in its stack (what
/// `IoAttachDeviceToDeviceStack` returned): where IRPs are passed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lower(NonNull<DEVICE_OBJECT>);

// SAFETY: a kernel device object, valid while our device stays attached above it (the only
// time the driver uses it); the kernel's routines serialize what they do with it.
unsafe impl Send for Lower {}
// SAFETY: as above.
unsafe impl Sync for Lower {}

impl Lower {
    /// The lower device `device`, or `None` for NULL.
    ///
    /// # Safety
    /// `device` is what `IoAttachDeviceToDeviceStack` returned for one of our device objects,
    /// used only while ours stays attached.
    #[must_use]
    pub unsafe fn new(device: *mut DEVICE_OBJECT) -> Option<Self> {
        NonNull::new(device).map(Self)
    }

    /// The device object.
    #[must_use]
    pub const fn as_ptr(self) -> *mut DEVICE_OBJECT {
        self.0.as_ptr()
    }
}

/// An IRP this driver holds: from its dispatch routine until it completes it or hands it to
/// another driver. Completing and passing on consume it, so nothing touches an IRP after it
/// left.
pub struct HeldIrp(NonNull<IRP>);

impl HeldIrp {
    /// Takes `irp` as held.
    ///
    /// # Safety
    /// `irp` is an IRP the I/O manager sent to one of our device objects (or one we own), not
    /// completed nor passed on, and the caller runs at the IRQL of its dispatch routine.
    pub unsafe fn new(irp: *mut IRP) -> Option<Self> {
        NonNull::new(irp).map(Self)
    }

    /// The raw IRP.
    #[must_use]
    pub const fn raw(&self) -> *mut IRP {
        self.0.as_ptr()
    }

    /// The current stack location (ours).
    #[must_use]
    pub fn location(&self) -> &IO_STACK_LOCATION {
        // SAFETY: a held IRP (the constructor's contract).
        let location = unsafe { stack::current(self.raw()) };
        // SAFETY: the current location of a held IRP is ours to read.
        unsafe { &*location }
    }

    /// `IoStatus.Status`.
    #[must_use]
    pub fn status(&self) -> NTSTATUS {
        // SAFETY: a held IRP.
        unsafe { stack::status(self.raw()) }
    }

    /// Sets `IoStatus.Status`.
    pub fn set_status(&mut self, status: NTSTATUS) {
        // SAFETY: a held IRP.
        unsafe { stack::set_status(self.raw(), status) };
    }

    /// `IoStatus.Information`.
    #[must_use]
    pub fn information(&self) -> usize {
        // SAFETY: a held IRP.
        unsafe { stack::information(self.raw()) }
    }

    /// Sets `IoStatus.Information`.
    pub fn set_information(&mut self, information: usize) {
        // SAFETY: a held IRP.
        unsafe { stack::set_information(self.raw(), information) };
    }

    /// Completes it with `status` and `information`.
    #[must_use]
    pub fn complete(mut self, status: NTSTATUS, information: usize) -> NTSTATUS {
        self.set_status(status);
        self.set_information(information);
        self.complete_as_is()
    }

    /// Completes it with the status and information it carries.
    #[must_use]
    pub fn complete_as_is(self) -> NTSTATUS {
        let status = self.status();
        // SAFETY: a held IRP, completed once (this consumes it).
        unsafe { crate::routines::IofCompleteRequest(self.raw(), crate::consts::IO_NO_INCREMENT) };
        status
    }

    /// Passes it to `lower` with our stack location (`IoSkipCurrentIrpStackLocation`, then
    /// `IoCallDriver`).
    #[must_use]
    pub fn pass_down(self, lower: Lower) -> NTSTATUS {
        // SAFETY: a held IRP; `lower` is the next device of its stack (the FDO's).
        unsafe { stack::skip_current(self.raw()) };
        // SAFETY: as above; the lower device sees our location.
        unsafe { crate::routines::IofCallDriver(lower.as_ptr(), self.raw()) }
    }

    /// Passes a power IRP to `lower` (`PoStartNextPowerIrp`, skip, `PoCallDriver`).
    #[must_use]
    pub fn power_down_the_stack(self, lower: Lower) -> NTSTATUS {
        // SAFETY: a held power IRP.
        unsafe { crate::routines::PoStartNextPowerIrp(self.raw()) };
        // SAFETY: as above.
        unsafe { stack::skip_current(self.raw()) };
        // SAFETY: as above; `lower` is the next device.
        unsafe { crate::routines::PoCallDriver(lower.as_ptr(), self.raw()) }
    }

    /// `PoStartNextPowerIrp`, before completing a power IRP here.
    pub fn start_next_power_irp(&self) {
        // SAFETY: a held power IRP.
        unsafe { crate::routines::PoStartNextPowerIrp(self.raw()) };
    }

    /// Passes it to `lower` with a copy of our stack location and `routine` as our completion
    /// routine, called with `context` whatever the outcome (`IoCopyCurrentIrpStackLocationToNext`,
    /// `IoSetCompletionRoutine`, `IoCallDriver`); returns what `IoCallDriver` returned.
    ///
    /// # Safety
    /// `context` stays valid until `routine` ran; `routine` follows the completion-routine
    /// contract (any IRQL up to DISPATCH_LEVEL; it propagates `PendingReturned` with
    /// `IoMarkIrpPending`).
    #[must_use]
    pub unsafe fn pass_down_watched(
        self,
        lower: Lower,
        routine: crate::types::IO_COMPLETION_ROUTINE,
        context: *mut c_void,
    ) -> NTSTATUS {
        // SAFETY: a held IRP with a location for `lower`.
        unsafe { stack::copy_to_next(self.raw()) };
        // SAFETY: as above; the caller keeps `context` valid.
        unsafe { stack::set_completion(self.raw(), routine, context, InvokeOn::ALWAYS) };
        // SAFETY: as above; the IRP is the lower driver's from here.
        unsafe { crate::routines::IofCallDriver(lower.as_ptr(), self.raw()) }
    }

    /// Sends it to `lower` and waits for it to come back (PASSIVE_LEVEL); returns its status.
    /// It is held again afterwards.
    #[must_use]
    pub fn forward_and_wait(&mut self, lower: Lower) -> NTSTATUS {
        require_passive(c"forward_and_wait above PASSIVE_LEVEL");
        let mut event = StackEvent::new();
        // SAFETY: a held IRP with a location for `lower`.
        unsafe { stack::copy_to_next(self.raw()) };
        // SAFETY: as above; `event` outlives the IRP's trip (we wait below).
        unsafe { stack::set_completion(self.raw(), signal, event.as_context(), InvokeOn::ALWAYS) };
        // Whether it comes back at once or pends, the completion routine signals the event.
        // SAFETY: as above.
        let _status = unsafe { crate::routines::IofCallDriver(lower.as_ptr(), self.raw()) };
        event.wait();
        self.status()
    }
}

/// Sends a Plug and Play request of our own and waits for the answer (PASSIVE_LEVEL).
///
/// The request is `minor` with the parameters `fill` writes, sent to the top of the stack
/// `target` is in (or `target` itself when `top` is false); the answer is its status and
/// `IoStatus.Information`.
///
/// The IRP starts with `STATUS_NOT_SUPPORTED`, as the PnP manager's own requests do, so a stack
/// that does not handle it answers that.
///
/// # Safety
/// `target` is a device object we hold a reference on (or our own lower device); whatever
/// `fill` points the request at stays valid until this returns.
pub unsafe fn send_pnp(
    target: *mut DEVICE_OBJECT,
    top: bool,
    minor: u8,
    fill: impl FnOnce(&mut IO_STACK_LOCATION),
) -> (NTSTATUS, usize) {
    require_passive(c"send_pnp above PASSIVE_LEVEL");
    let device = if top {
        // SAFETY: a device object we hold; the result is referenced.
        unsafe { crate::routines::IoGetAttachedDeviceReference(target) }
    } else {
        target
    };
    // SAFETY: `device` is valid (ours, or just referenced).
    let stack_size = unsafe { (*device).StackSize };
    // SAFETY: PASSIVE_LEVEL; no quota for a kernel request.
    let irp = unsafe { crate::routines::IoAllocateIrp(stack_size, 0) };
    let result = if irp.is_null() {
        (STATUS_INSUFFICIENT_RESOURCES, 0)
    } else {
        // SAFETY: a fresh IRP with `stack_size` locations; the next location is the first the
        // target sees.
        unsafe { send_allocated(device, irp, minor, fill) }
    };
    if top {
        // SAFETY: the reference `IoGetAttachedDeviceReference` took.
        unsafe { crate::routines::ObfDereferenceObject(device.cast()) };
    }
    result
}

/// The body of [`send_pnp`] once the IRP exists; frees it.
unsafe fn send_allocated(
    device: *mut DEVICE_OBJECT,
    irp: *mut IRP,
    minor: u8,
    fill: impl FnOnce(&mut IO_STACK_LOCATION),
) -> (NTSTATUS, usize) {
    // SAFETY: a fresh IRP we own.
    unsafe { stack::set_status(irp, STATUS_NOT_SUPPORTED) };
    // SAFETY: as above.
    let next = unsafe { stack::next(irp) };
    // SAFETY: the IRP's first location, which the target sees.
    let location = unsafe { &mut *next };
    location.MajorFunction = IRP_MJ_PNP;
    location.MinorFunction = minor;
    location.DeviceObject = device;
    fill(location);
    let mut event = StackEvent::new();
    // SAFETY: as above; `event` outlives the trip.
    unsafe { stack::set_completion(irp, signal, event.as_context(), InvokeOn::ALWAYS) };
    // SAFETY: the IRP is set up for `device`.
    let _status = unsafe { crate::routines::IofCallDriver(device, irp) };
    event.wait();
    // SAFETY: the IRP is ours again (the completion routine kept it).
    let status = unsafe { stack::status(irp) };
    // SAFETY: as above.
    let result = (status, unsafe { stack::information(irp) });
    // SAFETY: allocated above and back with us; freed once.
    unsafe { crate::routines::IoFreeIrp(irp) };
    result
}

/// Stops the machine unless at PASSIVE_LEVEL (the waits here are only allowed there).
fn require_passive(rule: &'static core::ffi::CStr) {
    let level = crate::irql::current();
    if level > crate::irql::PASSIVE_LEVEL {
        super::fatal(rule, usize::from(level));
    }
}

/// Completes `irp` with `status` and no information (`IoCompleteRequest`, <= DISPATCH_LEVEL).
///
/// # Safety
/// `irp` is an IRP this driver owns and has not completed or passed on.
pub unsafe fn complete(irp: *mut IRP, status: NTSTATUS) -> NTSTATUS {
    // SAFETY: the caller owns the IRP; `Status` is the low half of the status/pointer union.
    unsafe { (*irp).IoStatus.Status = status.cast_unsigned() as usize };
    // SAFETY: as above.
    unsafe { (*irp).IoStatus.Information = 0 };
    // SAFETY: an owned, not yet completed IRP.
    unsafe { crate::routines::IofCompleteRequest(irp, IO_NO_INCREMENT) };
    status
}

/// A device power request's waiter: the event its completion function sets and the status it
/// records ([`request_device_power`]).
struct PowerWait {
    event: StackEvent,
    status: NTSTATUS,
}

/// The `REQUEST_POWER_COMPLETE` of [`request_device_power`]: records the status, wakes the
/// waiter.
unsafe extern "system" fn power_done(
    _device: *mut DEVICE_OBJECT,
    _minor: u8,
    _state: POWER_STATE,
    context: *mut c_void,
    io_status: *mut IO_STATUS_BLOCK,
) {
    // SAFETY: the power manager passes the finished IRP's status block.
    let word = unsafe { (*io_status).Status };
    // The `Status` word's low 32 bits are the NTSTATUS.
    let status = u32::try_from(word & 0xFFFF_FFFF).unwrap_or(u32::MAX);
    // SAFETY: `context` is the waiter's `PowerWait`, alive until the wait ends (after this).
    let wait = unsafe { &mut *context.cast::<PowerWait>() };
    wait.status = status.cast_signed();
    let event = wait.event.as_context();
    // SAFETY: the event `StackEvent::new` initialised, on the waiter's stack.
    unsafe { crate::routines::KeSetEvent(event.cast(), 0, 0) };
}

/// Requests a device power IRP for the stack of `pdo` and waits for it (`PASSIVE_LEVEL`).
///
/// The IRP is `minor` (`IRP_MN_SET_POWER` or `IRP_MN_QUERY_POWER`) to `state`, from
/// `PoRequestPowerIrp`, as a function driver does to answer a system power IRP. Returns the
/// IRP's final status, or the request's failure.
///
/// # Safety
/// `pdo` is the physical device object of a stack this driver's device is attached to.
#[must_use]
pub unsafe fn request_device_power(
    pdo: *mut DEVICE_OBJECT,
    minor: u8,
    state: DEVICE_POWER_STATE,
) -> NTSTATUS {
    require_passive(c"request_device_power above PASSIVE_LEVEL");
    let mut wait = PowerWait {
        event: StackEvent::new(),
        status: STATUS_NOT_SUPPORTED,
    };
    let context = (&raw mut wait).cast::<c_void>();
    // SAFETY: PASSIVE_LEVEL; `wait` outlives the IRP (the wait below ends after the completion
    // function ran), the power state is a device state.
    let requested = unsafe {
        crate::routines::PoRequestPowerIrp(
            pdo,
            minor,
            POWER_STATE { DeviceState: state },
            Some(power_done),
            context,
            core::ptr::null_mut(),
        )
    };
    // STATUS_PENDING once the IRP is out (the completion function then runs); an error
    // otherwise, and no IRP.
    if requested < 0 {
        return requested;
    }
    wait.event.wait();
    wait.status
}
