// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! An IRP's stack of locations, as the WDK's inline helpers walk it.
//!
//! `wdm.h`'s `IoGetCurrentIrpStackLocation`, `IoGetNextIrpStackLocation`,
//! `IoSkipCurrentIrpStackLocation`, `IoCopyCurrentIrpStackLocationToNext`,
//! `IoSetCompletionRoutine` and `IoMarkIrpPending`.
//!
//! These are not kernel exports: every driver does them itself on the IRP's memory, so they
//! are plain pointer operations that build on every target, and the host tests below run them
//! on IRPs laid out as the I/O manager lays them out (the fixed part, then `StackCount`
//! locations; the current one is `Tail.Overlay.CurrentStackLocation`, the next one lower
//! down). A driver at location `n` passes an IRP down by filling location `n - 1`.

use crate::consts::{
    SL_INVOKE_ON_CANCEL, SL_INVOKE_ON_ERROR, SL_INVOKE_ON_SUCCESS, SL_PENDING_RETURNED,
};
use crate::types::{IO_COMPLETION_ROUTINE, IO_STACK_LOCATION, IRP, NTSTATUS, PVOID};

/// The IRP's current stack location (`IoGetCurrentIrpStackLocation`).
///
/// # Safety
/// `irp` points to an IRP this driver holds.
#[must_use]
pub unsafe fn current(irp: *mut IRP) -> *mut IO_STACK_LOCATION {
    // SAFETY: the caller's IRP.
    let tail = unsafe { &(*irp).Tail };
    // SAFETY: `Tail.Overlay` is the member in use while a driver holds the IRP.
    unsafe { tail.Overlay.CurrentStackLocation }
}

/// The location the next lower driver will see (`IoGetNextIrpStackLocation`).
///
/// # Safety
/// As [`current`]; the IRP must have a location below the current one for the result to be
/// dereferenced (`CurrentLocation > 1`).
#[must_use]
pub unsafe fn next(irp: *mut IRP) -> *mut IO_STACK_LOCATION {
    // SAFETY: the caller's contract.
    unsafe { current(irp) }.wrapping_sub(1)
}

/// Whether the IRP has a location below the current one, so it can be passed down.
///
/// # Safety
/// As [`current`].
#[must_use]
pub unsafe fn has_next(irp: *mut IRP) -> bool {
    // SAFETY: the caller's IRP.
    unsafe { (*irp).CurrentLocation > 1 }
}

/// Gives the current location to the next driver unchanged (`IoSkipCurrentIrpStackLocation`):
/// the lower driver sees this driver's parameters, and no completion routine of ours runs.
///
/// # Safety
/// As [`current`]; the IRP is then passed to `IoCallDriver` (which moves back down).
pub unsafe fn skip_current(irp: *mut IRP) {
    // SAFETY: the caller's IRP, held by this driver.
    let irp = unsafe { &mut *irp };
    irp.CurrentLocation = irp.CurrentLocation.wrapping_add(1);
    // SAFETY: `Tail.Overlay` is the member in use; the pointer moves by one location, as the
    // macro does.
    let overlay = unsafe { &mut irp.Tail.Overlay };
    overlay.CurrentStackLocation = overlay.CurrentStackLocation.wrapping_add(1);
}

/// Copies the current location's request to the next one, without the completion routine,
/// its context or the control flags (`IoCopyCurrentIrpStackLocationToNext`).
///
/// # Safety
/// As [`next`], with a location below the current one.
pub unsafe fn copy_to_next(irp: *mut IRP) {
    // SAFETY: the caller's IRP.
    let here = unsafe { current(irp) };
    let below = here.wrapping_sub(1);
    // SAFETY: the caller's contract: the current location is in the IRP.
    let from = unsafe { &*here };
    // SAFETY: as above, and so is the next one.
    let to = unsafe { &mut *below };
    to.MajorFunction = from.MajorFunction;
    to.MinorFunction = from.MinorFunction;
    to.Flags = from.Flags;
    to.Parameters = from.Parameters;
    to.DeviceObject = from.DeviceObject;
    to.FileObject = from.FileObject;
    to.CompletionRoutine = None;
    to.Context = core::ptr::null_mut();
    to.Control = 0;
}

/// When the completion routine runs (`IoSetCompletionRoutine`'s three flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvokeOn {
    /// On a success status.
    pub success: bool,
    /// On a failure status.
    pub error: bool,
    /// When the IRP was cancelled.
    pub cancel: bool,
}

impl InvokeOn {
    /// Always.
    pub const ALWAYS: Self = Self {
        success: true,
        error: true,
        cancel: true,
    };
}

/// Sets the completion routine this driver wants when the lower driver completes the IRP
/// (`IoSetCompletionRoutine`, on the next location).
///
/// # Safety
/// As [`next`], with a location below the current one; `context` must stay valid until the
/// routine ran.
pub unsafe fn set_completion(
    irp: *mut IRP,
    routine: IO_COMPLETION_ROUTINE,
    context: PVOID,
    on: InvokeOn,
) {
    // SAFETY: the caller's IRP.
    let below = unsafe { next(irp) };
    // SAFETY: the caller's contract: the next location is in the IRP.
    let to = unsafe { &mut *below };
    to.CompletionRoutine = Some(routine);
    to.Context = context;
    let mut control = 0;
    if on.success {
        control |= SL_INVOKE_ON_SUCCESS;
    }
    if on.error {
        control |= SL_INVOKE_ON_ERROR;
    }
    if on.cancel {
        control |= SL_INVOKE_ON_CANCEL;
    }
    to.Control = control;
}

/// Marks the IRP pending at the current location (`IoMarkIrpPending`): the dispatch routine
/// will return `STATUS_PENDING`.
///
/// # Safety
/// As [`current`].
pub unsafe fn mark_pending(irp: *mut IRP) {
    // SAFETY: the caller's IRP.
    let location = unsafe { current(irp) };
    // SAFETY: its current location.
    unsafe { (*location).Control |= SL_PENDING_RETURNED };
}

/// The IRP's `IoStatus.Status`.
///
/// # Safety
/// As [`current`].
#[must_use]
pub unsafe fn status(irp: *mut IRP) -> NTSTATUS {
    // SAFETY: the caller's IRP; `Status` is the low 32 bits of the status/pointer union.
    let raw = unsafe { (*irp).IoStatus.Status };
    #[expect(
        clippy::cast_possible_truncation,
        reason = "NTSTATUS is the union's low 32 bits"
    )]
    let low = raw as u32;
    low.cast_signed()
}

/// Sets the IRP's `IoStatus.Status`.
///
/// # Safety
/// As [`current`].
pub unsafe fn set_status(irp: *mut IRP, status: NTSTATUS) {
    // SAFETY: the caller's IRP; the status is stored zero-extended, as `NTSTATUS` in the union.
    unsafe { (*irp).IoStatus.Status = status.cast_unsigned() as usize };
}

/// The IRP's `IoStatus.Information`.
///
/// # Safety
/// As [`current`].
#[must_use]
pub unsafe fn information(irp: *mut IRP) -> usize {
    // SAFETY: the caller's IRP.
    unsafe { (*irp).IoStatus.Information }
}

/// Sets the IRP's `IoStatus.Information`.
///
/// # Safety
/// As [`current`].
pub unsafe fn set_information(irp: *mut IRP, information: usize) {
    // SAFETY: the caller's IRP.
    unsafe { (*irp).IoStatus.Information = information };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{IRP_MJ_PNP, IRP_MN_QUERY_ID};
    extern crate std;
    use core::mem::MaybeUninit;
    use std::boxed::Box;

    /// An IRP with `N` locations, laid out as `IoAllocateIrp` lays it out, the current
    /// location being the top one (as the I/O manager hands it to the first driver).
    #[repr(C)]
    struct Packet<const N: usize> {
        irp: IRP,
        stack: [IO_STACK_LOCATION; N],
    }

    fn packet<const N: usize>() -> Box<Packet<N>> {
        // SAFETY: IRP and IO_STACK_LOCATION are plain data for which all-zero is valid
        // (NULL pointers, `None` routines, zero numbers).
        let mut p: Box<Packet<N>> = Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
        p.irp.StackCount = i8::try_from(N).unwrap();
        p.irp.CurrentLocation = i8::try_from(N).unwrap();
        let top = &raw mut p.stack[N - 1];
        p.irp.Tail.Overlay.CurrentStackLocation = top;
        p
    }

    unsafe extern "system" fn done(
        _device: *mut crate::types::DEVICE_OBJECT,
        _irp: *mut IRP,
        _context: PVOID,
    ) -> NTSTATUS {
        0
    }

    #[test]
    fn the_current_location_is_the_top_and_next_is_below() {
        let mut p = packet::<3>();
        let irp = &raw mut p.irp;
        // SAFETY: our IRP with three locations (each call below).
        assert_eq!(unsafe { current(irp) }, &raw mut p.stack[2]);
        // SAFETY: as above.
        assert_eq!(unsafe { next(irp) }, &raw mut p.stack[1]);
        // SAFETY: as above.
        assert!(unsafe { has_next(irp) });
    }

    #[test]
    fn copy_to_next_copies_the_request_but_not_the_completion() {
        let mut p = packet::<2>();
        p.stack[1].MajorFunction = IRP_MJ_PNP;
        p.stack[1].MinorFunction = IRP_MN_QUERY_ID;
        p.stack[1].Parameters.QueryId.IdType = 3;
        p.stack[1].Control = SL_PENDING_RETURNED;
        p.stack[1].CompletionRoutine = Some(done);
        p.stack[0].Control = 0xff;
        p.stack[0].CompletionRoutine = Some(done);
        let irp = &raw mut p.irp;
        // SAFETY: our IRP with two locations.
        unsafe { copy_to_next(irp) };
        assert_eq!(p.stack[0].MajorFunction, IRP_MJ_PNP);
        assert_eq!(p.stack[0].MinorFunction, IRP_MN_QUERY_ID);
        // SAFETY: the member just copied.
        assert_eq!(unsafe { p.stack[0].Parameters.QueryId.IdType }, 3);
        assert_eq!(p.stack[0].Control, 0);
        assert!(p.stack[0].CompletionRoutine.is_none());
        assert!(p.stack[0].Context.is_null());
    }

    #[test]
    fn set_completion_writes_the_routine_and_flags_below() {
        let mut p = packet::<2>();
        let irp = &raw mut p.irp;
        let context = core::ptr::dangling_mut::<u8>().cast();
        let on = InvokeOn {
            success: true,
            error: false,
            cancel: true,
        };
        // SAFETY: our IRP with two locations.
        unsafe { set_completion(irp, done, context, on) };
        assert!(p.stack[0].CompletionRoutine.is_some());
        assert_eq!(p.stack[0].Context, context);
        assert_eq!(
            p.stack[0].Control,
            SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_CANCEL
        );
        assert_eq!(p.stack[1].Control, 0, "the current location is untouched");
    }

    #[test]
    fn skipping_moves_one_location_up_so_the_lower_driver_sees_ours() {
        let mut p = packet::<2>();
        // The driver at the lower location (index 0) holds the IRP after one IoCallDriver.
        p.irp.CurrentLocation = 1;
        let lower = &raw mut p.stack[0];
        p.irp.Tail.Overlay.CurrentStackLocation = lower;
        let irp = &raw mut p.irp;
        // SAFETY: our IRP.
        unsafe { skip_current(irp) };
        assert_eq!(p.irp.CurrentLocation, 2);
        // SAFETY: our IRP.
        assert_eq!(unsafe { current(irp) }, &raw mut p.stack[1]);
        // IoCallDriver moves it back down to the same location: the lower driver sees it.
        // SAFETY: our IRP.
        assert_eq!(unsafe { next(irp) }, lower);
    }

    #[test]
    fn the_last_location_has_no_next() {
        let mut p = packet::<1>();
        let irp = &raw mut p.irp;
        // SAFETY: our IRP with one location.
        assert!(!unsafe { has_next(irp) });
    }

    #[test]
    fn pending_and_status_round_trip() {
        let mut p = packet::<1>();
        let irp = &raw mut p.irp;
        // SAFETY: our IRP (each call below).
        unsafe { mark_pending(irp) };
        // SAFETY: as above.
        unsafe { set_status(irp, crate::STATUS_NOT_SUPPORTED) };
        // SAFETY: as above.
        unsafe { set_information(irp, 42) };
        // SAFETY: as above.
        assert_eq!(unsafe { status(irp) }, crate::STATUS_NOT_SUPPORTED);
        // SAFETY: as above.
        assert_eq!(unsafe { information(irp) }, 42);
        assert_eq!(p.stack[0].Control, SL_PENDING_RETURNED);
        assert_eq!(p.irp.IoStatus.Status, 0xC000_00BB, "stored zero-extended");
    }
}
