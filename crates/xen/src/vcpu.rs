// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_vcpu_op` (upstream `src/xen/vcpu.c`): per-vCPU registration and timers.
//!
//! `vcpu_info` registration and the periodic timer are what upstream exports; the single-shot
//! timer and starting or querying secondary vCPUs (which xen.sys leaves to Windows, but a bare
//! PVH kernel needs) complete the set. Arguments are `(cmd, vcpu_id, arg)`.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Error, Result, check};
use xen_headers::vcpu::{
    VCPUOP_DOWN, VCPUOP_INITIALISE, VCPUOP_IS_UP, VCPUOP_REGISTER_VCPU_INFO,
    VCPUOP_SET_PERIODIC_TIMER, VCPUOP_SET_SINGLESHOT_TIMER, VCPUOP_STOP_PERIODIC_TIMER,
    VCPUOP_STOP_SINGLESHOT_TIMER, VCPUOP_UP, VcpuRegisterVcpuInfo, VcpuSetPeriodicTimer,
    VcpuSetSingleshotTimer,
};
use xen_headers::xen::HYPERVISOR_VCPU_OP;

/// `VCPU_HVM_MODE_64B`: start the vCPU in long mode with the 64-bit register set.
// TODO(xen-headers): `public/hvm/hvm_vcpu.h` is not in xen-headers; take these from there if it
// is added.
pub const VCPU_HVM_MODE_64B: u32 = 1;

/// `struct vcpu_hvm_x86_64`: the long-mode start state of an HVM/PVH vCPU. Segments are implied
/// (flat 64-bit code, flat data, a busy 64-bit TSS), without selectors.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct VcpuHvmX86_64 {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rip: u64,
    pub rflags: u64,
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

/// `struct vcpu_hvm_context`, with its register union reduced to the 64-bit member.
///
/// It is padded to the union's size (the 32-bit member is 120 bytes, the 64-bit one 112): Xen
/// always copies the whole 128-byte structure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuHvmContext {
    /// `VCPU_HVM_MODE_*`.
    pub mode: u32,
    /// Padding.
    pub pad: u32,
    /// The register state.
    pub x86_64: VcpuHvmX86_64,
    /// The rest of the union.
    pub union_tail: u64,
}

const _: () = assert!(size_of::<VcpuHvmContext>() == 128);

fn vcpu_op<H: Hypervisor + ?Sized, T>(hv: &H, cmd: u32, vcpu: u32, argument: *mut T) -> isize {
    // SAFETY: every caller passes null or a live, exclusively borrowed structure of the layout
    // `cmd` expects; callers of the unsafe wrappers vouch for the memory it names.
    unsafe {
        hv.hypercall(
            HYPERVISOR_VCPU_OP,
            &[cmd as usize, vcpu as usize, arg(argument)],
        )
    }
}

/// Upstream's `VcpuSetPeriodicTimer`: with `Some(period)` (in 100 ns units, NT time, as
/// upstream) start `vcpu`'s periodic `VIRQ_TIMER`; with `None` stop it.
///
/// # Errors
///
/// [`Error::Errno`] from Xen (`EINVAL` for a period Xen refuses), [`Error::InvalidParameter`]
/// when the period in nanoseconds does not fit 64 bits.
pub fn set_periodic_timer<H: Hypervisor + ?Sized>(
    hv: &H,
    vcpu: u32,
    period: Option<u64>,
) -> Result<()> {
    let Some(period) = period else {
        let rc = vcpu_op(
            hv,
            VCPUOP_STOP_PERIODIC_TIMER,
            vcpu,
            core::ptr::null_mut::<u8>(),
        );
        return check(rc).map(|_| ());
    };
    let period_ns = period.checked_mul(100).ok_or(Error::InvalidParameter)?;
    let mut op = VcpuSetPeriodicTimer { period_ns };
    check(vcpu_op(hv, VCPUOP_SET_PERIODIC_TIMER, vcpu, &raw mut op)).map(|_| ())
}

/// `VCPUOP_set_singleshot_timer`: one `VIRQ_TIMER` on `vcpu` at absolute Xen system time
/// `deadline_ns`; `flags` may hold `VCPU_SSHOTTMR_future` (fail with `ETIME` if it is past).
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub fn set_singleshot_timer<H: Hypervisor + ?Sized>(
    hv: &H,
    vcpu: u32,
    deadline_ns: u64,
    flags: u32,
) -> Result<()> {
    let mut op = VcpuSetSingleshotTimer {
        timeout_abs_ns: deadline_ns,
        flags,
    };
    check(vcpu_op(hv, VCPUOP_SET_SINGLESHOT_TIMER, vcpu, &raw mut op)).map(|_| ())
}

/// `VCPUOP_stop_singleshot_timer` of `vcpu`.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub fn stop_singleshot_timer<H: Hypervisor + ?Sized>(hv: &H, vcpu: u32) -> Result<()> {
    let rc = vcpu_op(
        hv,
        VCPUOP_STOP_SINGLESHOT_TIMER,
        vcpu,
        core::ptr::null_mut::<u8>(),
    );
    check(rc).map(|_| ())
}

/// Upstream's `VcpuRegisterVcpuInfo`: move `vcpu`'s `vcpu_info` to byte `offset` of guest frame
/// `gfn`. Xen copies the current contents there and uses it from then on.
///
/// Xen accepts this only from `vcpu` itself or for a vCPU that is down, and only once per vCPU
/// (`EINVAL` otherwise); the 64-byte `vcpu_info` must fit in the page at an 8-byte aligned
/// offset (`ENXIO`, which upstream's table maps to `STATUS_UNSUCCESSFUL`, otherwise).
///
/// # Safety
///
/// The page is Xen's to write for the life of the domain: the caller must keep it allocated and
/// touch the 64 bytes at `offset` only as the `vcpu_info` protocol allows.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` or `ENXIO` as above, `ENOENT` for an unknown vCPU.
pub unsafe fn register_vcpu_info<H: Hypervisor + ?Sized>(
    hv: &H,
    vcpu: u32,
    gfn: u64,
    offset: u32,
) -> Result<()> {
    let mut op = VcpuRegisterVcpuInfo {
        mfn: gfn,
        offset,
        rsvd: 0,
    };
    check(vcpu_op(hv, VCPUOP_REGISTER_VCPU_INFO, vcpu, &raw mut op)).map(|_| ())
}

/// `VCPUOP_initialise` of a vCPU that has never run, with an HVM start context.
///
/// # Safety
///
/// The vCPU will run from `context`: its instruction pointer, stack and page tables must be
/// valid code and memory the caller dedicates to it.
///
/// # Errors
///
/// [`Error::Errno`]: `EEXIST` for a vCPU already initialised, `ENOENT` for an unknown vCPU,
/// `EINVAL` for a context Xen rejects.
pub unsafe fn initialise<H: Hypervisor + ?Sized>(
    hv: &H,
    vcpu: u32,
    context: &VcpuHvmContext,
) -> Result<()> {
    let mut ctx = *context;
    check(vcpu_op(hv, VCPUOP_INITIALISE, vcpu, &raw mut ctx)).map(|_| ())
}

/// `VCPUOP_up`: let an initialised vCPU run.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a vCPU never initialised, `ENOENT` for an unknown vCPU.
pub fn up<H: Hypervisor + ?Sized>(hv: &H, vcpu: u32) -> Result<()> {
    check(vcpu_op(hv, VCPUOP_UP, vcpu, core::ptr::null_mut::<u8>())).map(|_| ())
}

/// `VCPUOP_down`: stop a vCPU.
///
/// # Errors
///
/// [`Error::Errno`]: `ENOENT` for an unknown vCPU.
pub fn down<H: Hypervisor + ?Sized>(hv: &H, vcpu: u32) -> Result<()> {
    check(vcpu_op(hv, VCPUOP_DOWN, vcpu, core::ptr::null_mut::<u8>())).map(|_| ())
}

/// `VCPUOP_is_up`: whether `vcpu` is running.
///
/// # Errors
///
/// [`Error::Errno`]: `ENOENT` for an unknown vCPU.
pub fn is_up<H: Hypervisor + ?Sized>(hv: &H, vcpu: u32) -> Result<bool> {
    let rc = check(vcpu_op(hv, VCPUOP_IS_UP, vcpu, core::ptr::null_mut::<u8>()))?;
    Ok(rc != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::{STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND};

    #[test]
    fn periodic_timer_converts_nt_units_and_none_stops() {
        let hv = Fake::new(|op, args| {
            assert_eq!((op, args[0], args[1]), (24, 6, 1));
            // SAFETY: the wrapper passes its live structure.
            let t = unsafe { &*at::<VcpuSetPeriodicTimer>(args, 2) };
            assert_eq!(t.period_ns, 10_000_000);
            0
        });
        assert_eq!(set_periodic_timer(&hv, 1, Some(100_000)), Ok(()));
        let hv = returning(0);
        assert_eq!(set_periodic_timer(&hv, 0, None), Ok(()));
        assert_eq!(hv.only_call().args, [7, 0, 0]);
        assert_eq!(
            set_periodic_timer(&returning(0), 0, Some(u64::MAX)),
            Err(Error::InvalidParameter)
        );
    }

    #[test]
    fn singleshot_timer_passes_deadline_and_flags() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[..2], [8, 0]);
            // SAFETY: the wrapper passes its live structure.
            let t = unsafe { &*at::<VcpuSetSingleshotTimer>(args, 2) };
            assert_eq!((t.timeout_abs_ns, t.flags), (5_000, 1));
            0
        });
        assert_eq!(set_singleshot_timer(&hv, 0, 5_000, 1), Ok(()));
        let hv = returning(0);
        assert_eq!(stop_singleshot_timer(&hv, 1), Ok(()));
        assert_eq!(hv.only_call().args, [9, 1, 0]);
    }

    #[test]
    fn register_vcpu_info_passes_frame_and_offset() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[..2], [10, 1]);
            // SAFETY: the wrapper passes its live structure.
            let r = unsafe { &*at::<VcpuRegisterVcpuInfo>(args, 2) };
            assert_eq!((r.mfn, r.offset, r.rsvd), (0x123, 64, 0));
            0
        });
        // SAFETY: the fake keeps nothing.
        assert_eq!(unsafe { register_vcpu_info(&hv, 1, 0x123, 64) }, Ok(()));
        // SAFETY: as above.
        let err = unsafe { register_vcpu_info(&returning(-22), 1, 0x123, 4090) }.unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_INVALID_PARAMETER);
    }

    #[test]
    fn bring_up_commands_and_is_up() {
        let ctx = VcpuHvmContext {
            mode: VCPU_HVM_MODE_64B,
            ..VcpuHvmContext::default()
        };
        let hv = Fake::new(|_, args| {
            assert_eq!(args[..2], [0, 1]);
            // SAFETY: the wrapper passes its live copy of the context.
            let c = unsafe { &*at::<VcpuHvmContext>(args, 2) };
            assert_eq!(c.mode, 1);
            0
        });
        // SAFETY: the fake starts nothing.
        assert_eq!(unsafe { initialise(&hv, 1, &ctx) }, Ok(()));
        let hv = returning(0);
        assert_eq!(up(&hv, 1), Ok(()));
        assert_eq!(hv.only_call().args, [1, 1, 0]);
        assert_eq!(is_up(&returning(1), 1), Ok(true));
        assert_eq!(is_up(&returning(0), 1), Ok(false));
        let err = is_up(&returning(-2), 5).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_OBJECT_NAME_NOT_FOUND);
        let hv = returning(0);
        assert_eq!(down(&hv, 1), Ok(()));
        assert_eq!(hv.only_call().args, [2, 1, 0]);
    }
}
