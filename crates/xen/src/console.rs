// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_console_io`: writing to Xen's own console.
//!
//! Upstream's xen.sys mirrors log lines to the Xen console through I/O port 0xE9 rather than this
//! hypercall (an HVM guest's `CONSOLEIO_write` only reaches Xen's log when `guest_loglvl`
//! allows it); the hypercall is here for the places that want it, and it is what the PVH test
//! kernel prints with.

use crate::hypercall::{Hypervisor, arg_const};
use crate::status::{Error, Result, check};
use xen_headers::xen::{CONSOLEIO_WRITE, HYPERVISOR_CONSOLE_IO};

/// Writes `bytes` to the Xen console.
///
/// # Errors
///
/// [`Error::Errno`] from Xen (e.g. `EPERM` when the domain may not write to the console), or
/// [`Error::InvalidParameter`] when `bytes` is longer than the hypercall's 32-bit count.
pub fn write<H: Hypervisor + ?Sized>(hv: &H, bytes: &[u8]) -> Result<()> {
    let count = u32::try_from(bytes.len()).map_err(|_| Error::InvalidParameter)?;
    let args = [
        CONSOLEIO_WRITE as usize,
        count as usize,
        arg_const(bytes.as_ptr()),
    ];
    // SAFETY: `bytes` is a live slice of exactly `count` bytes, which Xen only reads during the
    // call.
    let rc = unsafe { hv.hypercall(HYPERVISOR_CONSOLE_IO, &args) };
    check(rc).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, returning};

    #[test]
    fn write_passes_command_count_and_buffer() {
        let text = b"hello, xen\n";
        let hv = Fake::new(|op, args| {
            assert_eq!(op, 18);
            assert_eq!(args[0], 0);
            assert_eq!(args[1], text.len());
            assert_eq!(args[2], text.as_ptr().addr());
            0
        });
        assert_eq!(write(&hv, text), Ok(()));
        assert_eq!(hv.calls.borrow().len(), 1);
    }

    #[test]
    fn write_refused_by_xen_maps_to_access_denied() {
        let hv = returning(-1);
        let err = write(&hv, b"x").unwrap_err();
        assert_eq!(err, Error::Errno(1));
        assert_eq!(err.ntstatus(), crate::status::STATUS_ACCESS_DENIED);
    }
}
