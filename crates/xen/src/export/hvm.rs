// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Hvm*` exports (upstream `src/xen/hvm.c`) over [`crate::hvm`].

use super::{NtStatus, STATUS_INVALID_PARAMETER, hypercall, put, status};
use crate::hvm;

/// `NTSTATUS HvmSetParam(ULONG Parameter, ULONGLONG Value)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "HvmSetParam")]
#[must_use]
pub extern "C" fn hvm_set_param(parameter: u32, value: u64) -> NtStatus {
    status(hypercall("HvmSetParam", |hv| {
        hvm::set_param(hv, parameter, value)
    }))
}

/// `NTSTATUS HvmGetParam(ULONG Parameter, PULONGLONG Value)`.
///
/// # Safety
/// `value` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "HvmGetParam")]
#[must_use]
pub unsafe extern "C" fn hvm_get_param(parameter: u32, value: *mut u64) -> NtStatus {
    if value.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("HvmGetParam", |hv| hvm::get_param(hv, parameter));
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|v| unsafe { put(value, v) }))
}

/// `NTSTATUS HvmPagetableDying(PHYSICAL_ADDRESS Address)`: a shadow-paging hint; as upstream,
/// a failure is returned without a log line.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "HvmPagetableDying")]
#[must_use]
pub extern "C" fn hvm_pagetable_dying(address: i64) -> NtStatus {
    let Some(hv) = super::hypervisor() else {
        return super::STATUS_NOT_SUPPORTED;
    };
    status(
        hvm::pagetable_dying(hv, address.cast_unsigned()).map_err(crate::status::Error::ntstatus),
    )
}

/// `NTSTATUS HvmSetEvtchnUpcallVector(unsigned int vcpu_id, UCHAR Vector)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "HvmSetEvtchnUpcallVector")]
#[must_use]
pub extern "C" fn hvm_set_evtchn_upcall_vector(vcpu_id: u32, vector: u8) -> NtStatus {
    status(hypercall("HvmSetEvtchnUpcallVector", |hv| {
        hvm::set_evtchn_upcall_vector(hv, vcpu_id, vector)
    }))
}
