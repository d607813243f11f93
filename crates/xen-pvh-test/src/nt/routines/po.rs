// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The power manager: `PoRequestPowerIrp`, `PoSetPowerState`, `PoStartNextPowerIrp`
//! (`PoCallDriver` is with the IRPs, [`super::irp::po_call_driver`]).
//!
//! `PoRequestPowerIrp` builds the device power IRP Windows builds — as many locations as the
//! top of the named device's stack needs, the top one filled (`IRP_MJ_POWER`, the minor
//! function, `Parameters.Power` with `DevicePowerState` and the state, or
//! `Parameters.WaitWake`), `IoStatus.Status` `STATUS_NOT_SUPPORTED` — sends it to the top of the
//! stack and returns `STATUS_PENDING`; when its completion passes the top, the requester's
//! completion function runs (`DeviceObject` as named in the request, the minor function, the
//! state, the context, the IRP's status block) and the IRP is freed. The stack's top is
//! referenced while the IRP is out. `PoSetPowerState` records the state per device and returns
//! the previous one; `PoStartNextPowerIrp` has had nothing to do since Windows Vista and only
//! checks its IRP.
//!
//! Checked: the IRQL (`DISPATCH_LEVEL` or below), unknown or deleted devices, a minor function
//! other than `SET_POWER`, `QUERY_POWER` and `WAIT_WAKE` (`STATUS_INVALID_PARAMETER_2`, as
//! Windows answers), a `SET_POWER`/`QUERY_POWER` state that is not D0..D3
//! (`STATUS_INVALID_PARAMETER_3`), a completion function that is not code, a
//! `PoStartNextPowerIrp` on an IRP that is not a power IRP, a `POWER_STATE_TYPE` that is neither
//! system nor device.

use super::io::status::{STATUS_INVALID_PARAMETER_2, STATUS_INVALID_PARAMETER_3};
use super::io::{self, live_device};
use super::irp::{self, Owner, PowerRequest};
use crate::nt::loader::Where;
use crate::nt::verifier::{self, DISPATCH_LEVEL};
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, Ordering};
use ntddk::{
    DEVICE_OBJECT, IO_STACK_LOCATION, IO_STACK_LOCATION_POWER, IO_STACK_LOCATION_WAIT_WAKE,
    IRP_MJ_POWER, IRP_MN_QUERY_POWER, IRP_MN_SET_POWER, IRP_MN_WAIT_WAKE, PowerDeviceD0,
    PowerDeviceD3, STATUS_NOT_SUPPORTED, STATUS_PENDING,
};
use ntstatus::NtStatus;

/// `DevicePowerState`.
const DEVICE_POWER_STATE: i32 = 1;

/// Power IRPs requested and completed.
static REQUESTED: AtomicU64 = AtomicU64::new(0);
static COMPLETED: AtomicU64 = AtomicU64::new(0);

/// `(requested, completed)` power IRPs of `PoRequestPowerIrp`.
pub fn requests() -> (u64, u64) {
    (
        REQUESTED.load(Ordering::SeqCst),
        COMPLETED.load(Ordering::SeqCst),
    )
}

/// Called by the completion walk when a requested power IRP passed its top.
pub fn requested_done(_request: PowerRequest) {
    COMPLETED.fetch_add(1, Ordering::SeqCst);
}

/// `POWER_STATE PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
/// POWER_STATE State)`: the previous state. <= DISPATCH_LEVEL.
pub extern "win64" fn po_set_power_state(device: *mut c_void, kind: i32, state: u32) -> u32 {
    let call = verifier::enter("PoSetPowerState");
    call.at_most(DISPATCH_LEVEL);
    let _d = live_device(&call, device, "DeviceObject", false);
    call.require(
        kind == 0 || kind == DEVICE_POWER_STATE,
        format_args!("Type {kind} is not a POWER_STATE_TYPE"),
    );
    io::set_power(device.addr(), kind, state)
}

/// `VOID PoStartNextPowerIrp(PIRP Irp)`. <= DISPATCH_LEVEL.
pub extern "win64" fn po_start_next_power_irp(irp: *mut c_void) {
    let call = verifier::enter("PoStartNextPowerIrp");
    call.at_most(DISPATCH_LEVEL);
    call.require(!irp.is_null(), format_args!("Irp is NULL"));
    let major = irp::current_major(irp.addr());
    call.require(
        major == Some(IRP_MJ_POWER),
        format_args!(
            "the IRP {:#x} is not a power IRP held by the caller (major {major:?})",
            irp.addr()
        ),
    );
}

/// `NTSTATUS PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE
/// PowerState, PREQUEST_POWER_COMPLETE CompletionFunction, PVOID Context, PIRP *Irp)`:
/// `STATUS_PENDING` once the IRP is sent. <= DISPATCH_LEVEL.
///
/// # Safety
/// `out` is NULL or writable.
pub unsafe extern "win64" fn po_request_power_irp(
    device: *mut c_void,
    minor: u8,
    state: u32,
    completion: usize,
    context: *mut c_void,
    out: *mut *mut c_void,
) -> NtStatus {
    let call = verifier::enter("PoRequestPowerIrp");
    call.at_most(DISPATCH_LEVEL);
    let _d = live_device(&call, device, "DeviceObject", false);
    if !matches!(
        minor,
        IRP_MN_SET_POWER | IRP_MN_QUERY_POWER | IRP_MN_WAIT_WAKE
    ) {
        return STATUS_INVALID_PARAMETER_2;
    }
    let device_state = i32::try_from(state).unwrap_or(0);
    if minor != IRP_MN_WAIT_WAKE && !(PowerDeviceD0..=PowerDeviceD3).contains(&device_state) {
        return STATUS_INVALID_PARAMETER_3;
    }
    if completion != 0 && !crate::nt::is_driver_code(completion as u64) {
        call.fail(format_args!(
            "CompletionFunction {} is not code",
            Where(completion as u64)
        ));
    }
    let top = io::attached_top(device.addr());
    let _ = io::reference_device(&call, top, 1);
    let stack: i8 = io::device_object(top)
        .get(offset_of!(DEVICE_OBJECT, StackSize))
        .unwrap_or(1);
    let request = PowerRequest {
        device: device.addr(),
        top,
        minor,
        state,
        completion,
        context: context.addr(),
    };
    let p = irp::allocate(stack, Owner::Power(request), call.caller);
    irp::set_status(p, STATUS_NOT_SUPPORTED);
    if let Some(l) = irp::top_location(p) {
        l.set(offset_of!(IO_STACK_LOCATION, MajorFunction), IRP_MJ_POWER);
        l.set(offset_of!(IO_STACK_LOCATION, MinorFunction), minor);
        if minor == IRP_MN_WAIT_WAKE {
            l.set(
                offset_of!(IO_STACK_LOCATION, Parameters),
                IO_STACK_LOCATION_WAIT_WAKE {
                    PowerState: device_state,
                },
            );
        } else {
            let at = offset_of!(IO_STACK_LOCATION, Parameters);
            l.set(
                at + offset_of!(IO_STACK_LOCATION_POWER, Type),
                DEVICE_POWER_STATE,
            );
            l.set(at + offset_of!(IO_STACK_LOCATION_POWER, State), state);
        }
    }
    REQUESTED.fetch_add(1, Ordering::SeqCst);
    if !out.is_null() {
        // SAFETY: non-NULL; writable by the routine's contract.
        unsafe { out.write_unaligned(core::ptr::with_exposed_provenance_mut(p)) };
    }
    let kernel = verifier::Call {
        routine: "PoRequestPowerIrp (power manager)",
        caller: call.caller,
        irql: call.irql,
    };
    let _ = irp::send(
        &kernel,
        core::ptr::with_exposed_provenance_mut(top),
        core::ptr::with_exposed_provenance_mut(p),
        true,
    );
    STATUS_PENDING
}
