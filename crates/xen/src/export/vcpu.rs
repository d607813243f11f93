// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Vcpu*` exports (upstream `src/xen/vcpu.c`) over [`crate::vcpu`].

use super::{NtStatus, hypercall, status};
use crate::vcpu;

/// `NTSTATUS VcpuSetPeriodicTimer(unsigned int vcpu_id, PLARGE_INTEGER Period)`: `Period` in
/// 100 ns units starts the vCPU's periodic timer; NULL stops it.
///
/// # Safety
/// `period` is NULL or readable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "VcpuSetPeriodicTimer")]
#[must_use]
pub unsafe extern "C" fn vcpu_set_periodic_timer(vcpu_id: u32, period: *const i64) -> NtStatus {
    let period = if period.is_null() {
        None
    } else {
        // SAFETY: non-NULL and readable by the caller's contract.
        Some(unsafe { period.read_unaligned() }.cast_unsigned())
    };
    status(hypercall("VcpuSetPeriodicTimer", |hv| {
        vcpu::set_periodic_timer(hv, vcpu_id, period)
    }))
}

/// `NTSTATUS VcpuRegisterVcpuInfo(unsigned int vcpu_id, PFN_NUMBER Pfn, ULONG Offset)`; must
/// run on the vCPU itself.
///
/// # Safety
/// The 64 bytes at `Offset` of frame `Pfn` become Xen's for the domain's life.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "VcpuRegisterVcpuInfo")]
#[must_use]
pub unsafe extern "C" fn vcpu_register_vcpu_info(
    vcpu_id: u32,
    pfn: usize,
    offset: u32,
) -> NtStatus {
    status(hypercall("VcpuRegisterVcpuInfo", |hv| {
        // SAFETY: the caller dedicates the area, as this function's contract says.
        unsafe { vcpu::register_vcpu_info(hv, vcpu_id, pfn as u64, offset) }
    }))
}
