// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_sched_op` (upstream `src/xen/sched.c`): yield, block, poll, shutdown and its
//! reason code, and the domain watchdog.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Error, Result, check};
use xen_headers::sched::{
    SCHEDOP_BLOCK, SCHEDOP_POLL, SCHEDOP_SHUTDOWN, SCHEDOP_SHUTDOWN_CODE, SCHEDOP_WATCHDOG,
    SCHEDOP_YIELD, SHUTDOWN_SUSPEND, SchedPoll, SchedShutdown, SchedWatchdog,
};
use xen_headers::xen::{GuestHandle, HYPERVISOR_SCHED_OP};

fn sched_op<H: Hypervisor + ?Sized, T>(hv: &H, cmd: u32, argument: *mut T) -> isize {
    // SAFETY: every caller passes the address of a live local argument structure (or null for
    // the commands that take none), which Xen only uses during the call.
    unsafe { hv.hypercall(HYPERVISOR_SCHED_OP, &[cmd as usize, arg(argument)]) }
}

/// `SCHEDOP_yield`: give up the CPU to other vCPUs. As upstream, the result is ignored.
pub fn yield_now<H: Hypervisor + ?Sized>(hv: &H) {
    let _ = sched_op(hv, SCHEDOP_YIELD, core::ptr::null_mut::<u8>());
}

/// `SCHEDOP_block`: sleep until an event is pending for this vCPU. On HVM and PVH, Xen only
/// counts an event as deliverable when interrupts are enabled, so call it with interrupts on.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub fn block<H: Hypervisor + ?Sized>(hv: &H) -> Result<()> {
    check(sched_op(hv, SCHEDOP_BLOCK, core::ptr::null_mut::<u8>())).map(|_| ())
}

/// `SCHEDOP_poll`: sleep until one of `ports` is pending, or until the absolute Xen system time
/// `timeout_ns` (0: no timeout). Returns at once when one is already pending.
///
/// # Errors
///
/// [`Error::Errno`] from Xen (`EINVAL` for a bad port), or [`Error::InvalidParameter`] for more
/// ports than the hypercall can name.
pub fn poll<H: Hypervisor + ?Sized>(hv: &H, ports: &[u32], timeout_ns: u64) -> Result<()> {
    let nr_ports = u32::try_from(ports.len()).map_err(|_| Error::InvalidParameter)?;
    let mut op = SchedPoll {
        ports: GuestHandle::new(ports.as_ptr().cast_mut()),
        nr_ports,
        timeout: timeout_ns,
    };
    check(sched_op(hv, SCHEDOP_POLL, &raw mut op)).map(|_| ())
}

/// `SCHEDOP_shutdown(reason)` (`SHUTDOWN_*`).
///
/// For `SHUTDOWN_suspend`, a return of 1 means the suspend was cancelled and the domain resumed
/// in place: that is [`Error::Cancelled`] (`STATUS_CANCELLED`), as upstream. Any other
/// non-negative return is success.
///
/// # Errors
///
/// [`Error::Cancelled`] as above, or [`Error::Errno`] from Xen.
pub fn shutdown<H: Hypervisor + ?Sized>(hv: &H, reason: u32) -> Result<()> {
    let mut op = SchedShutdown { reason };
    let rc = check(sched_op(hv, SCHEDOP_SHUTDOWN, &raw mut op))?;
    if reason == SHUTDOWN_SUSPEND && rc == 1 {
        return Err(Error::Cancelled);
    }
    Ok(())
}

/// `SCHEDOP_shutdown_code(reason)`: record the reason a later shutdown will report. Xen keeps
/// the first code recorded and it overrides the reason of the shutdown itself.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub fn shutdown_code<H: Hypervisor + ?Sized>(hv: &H, reason: u32) -> Result<()> {
    let mut op = SchedShutdown { reason };
    check(sched_op(hv, SCHEDOP_SHUTDOWN_CODE, &raw mut op)).map(|_| ())
}

/// `SCHEDOP_watchdog`: create, pat or destroy a domain watchdog.
///
/// With `id` 0 it creates a watchdog that fires after `seconds` and returns its new id
/// (upstream stores the hypercall's result as the id); with a known id it pats it (`seconds` >
/// 0) or destroys it (`seconds` 0) and returns the same id.
///
/// Quirk (Xen, not upstream): Xen 4.17 computes the `-ENOSPC` for "no free watchdog slot" in
/// 32-bit unsigned arithmetic, so it reaches the guest as the positive `0xFFFF_FFE4`, which
/// upstream then keeps as the new watchdog's id. Real ids are tiny (Xen has two slots), so here a
/// new id in the top 4095 values of `u32` is read as the truncated `-errno` it is.
///
/// # Errors
///
/// [`Error::Errno`] from Xen: `EINVAL` for an unknown id, `ENOSPC` when every watchdog slot is
/// taken; [`Error::Unsuccessful`] if Xen returns an id that does not fit.
pub fn watchdog<H: Hypervisor + ?Sized>(hv: &H, id: u32, seconds: u32) -> Result<u32> {
    let mut op = SchedWatchdog {
        id,
        timeout: seconds,
    };
    let rc = check(sched_op(hv, SCHEDOP_WATCHDOG, &raw mut op))?;
    if id != 0 {
        return Ok(id);
    }
    let new_id = u32::try_from(rc).map_err(|_| Error::Unsuccessful)?;
    if new_id >= TRUNCATED_ERRNO_MIN {
        return Err(Error::Errno(
            i32::try_from(new_id.wrapping_neg()).unwrap_or(i32::MAX),
        ));
    }
    Ok(new_id)
}

/// The smallest 32-bit value that is a negative errno (-4095) truncated to `u32`.
const TRUNCATED_ERRNO_MIN: u32 = 0xFFFF_F001;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::STATUS_CANCELLED;
    use xen_headers::sched::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};

    #[test]
    fn yield_passes_no_argument_and_ignores_errors() {
        let hv = returning(-38);
        yield_now(&hv);
        let call = hv.only_call();
        assert_eq!((call.op, call.args.as_slice()), (29, [0, 0].as_slice()));
    }

    #[test]
    fn block_is_command_1() {
        let hv = returning(0);
        assert_eq!(block(&hv), Ok(()));
        assert_eq!(hv.only_call().args[0], 1);
    }

    #[test]
    fn shutdown_passes_the_reason() {
        let hv = Fake::new(|op, args| {
            assert_eq!((op, args[0]), (29, 2));
            // SAFETY: the wrapper passes its live `SchedShutdown`.
            let op = unsafe { &*at::<SchedShutdown>(args, 1) };
            assert_eq!(op.reason, SHUTDOWN_POWEROFF);
            0
        });
        assert_eq!(shutdown(&hv, SHUTDOWN_POWEROFF), Ok(()));
    }

    #[test]
    fn cancelled_suspend_is_status_cancelled() {
        let err = shutdown(&returning(1), SHUTDOWN_SUSPEND).unwrap_err();
        assert_eq!(err, Error::Cancelled);
        assert_eq!(err.ntstatus(), STATUS_CANCELLED);
        // Only suspend gives 1 that meaning.
        assert_eq!(shutdown(&returning(1), SHUTDOWN_REBOOT), Ok(()));
        assert_eq!(shutdown(&returning(0), SHUTDOWN_SUSPEND), Ok(()));
    }

    #[test]
    fn shutdown_code_is_command_5() {
        let hv = Fake::new(|_, args| {
            // SAFETY: the wrapper passes its live `SchedShutdown`.
            let op = unsafe { &*at::<SchedShutdown>(args, 1) };
            assert_eq!((args[0], op.reason), (5, SHUTDOWN_CRASH));
            0
        });
        assert_eq!(shutdown_code(&hv, SHUTDOWN_CRASH), Ok(()));
    }

    #[test]
    fn watchdog_creation_returns_the_new_id_and_pat_keeps_it() {
        let hv = Fake::new(|_, args| {
            // SAFETY: the wrapper passes its live `SchedWatchdog`.
            let op = unsafe { &*at::<SchedWatchdog>(args, 1) };
            assert_eq!(args[0], 6);
            if op.id == 0 { 2 } else { 0 }
        });
        assert_eq!(watchdog(&hv, 0, 30), Ok(2));
        assert_eq!(watchdog(&hv, 2, 30), Ok(2));
        assert_eq!(watchdog(&hv, 2, 0), Ok(2));
        assert_eq!(watchdog(&returning(-22), 9, 1), Err(Error::Errno(22)));
    }

    #[test]
    fn xens_truncated_enospc_is_no_slot_not_an_id() {
        // What Xen 4.17 returns when both watchdog slots are taken.
        let err = watchdog(&returning(0xFFFF_FFE4), 0, 30).unwrap_err();
        assert_eq!(err, Error::Errno(28));
        assert_eq!(err.ntstatus(), crate::status::STATUS_INSUFFICIENT_RESOURCES);
        assert_eq!(watchdog(&returning(0xFFFF_F000), 0, 30), Ok(0xFFFF_F000));
    }

    #[test]
    fn poll_describes_the_port_array() {
        let ports = [3_u32, 9];
        let hv = Fake::new(|_, args| {
            // SAFETY: the wrapper passes its live `SchedPoll`.
            let op = unsafe { &*at::<SchedPoll>(args, 1) };
            assert_eq!(args[0], 3);
            assert_eq!((op.nr_ports, op.timeout), (2, 1234));
            assert_eq!(op.ports.p.cast_const(), ports.as_ptr());
            0
        });
        assert_eq!(poll(&hv, &ports, 1234), Ok(()));
    }
}
