// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Completing IRPs.

use crate::consts::IO_NO_INCREMENT;
use crate::types::{IRP, NTSTATUS};

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
