// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Decoding of hypercalls: the op number, the sub-command and the argument structures the
//! guest's registers point at (guest pointers are host pointers here), then the operation on
//! [`State`]. Return values are Xen's: 0 or a count, or `-errno`.

use crate::evtchn::Errno;
use crate::state::State;

mod evtchn;
mod gnttab;
mod hvm;
mod info;
mod memory;
mod sched;
mod vcpu;

use xen_headers::errno;
use xen_headers::grant_table::{
    GNTST_BAD_DOMAIN, GNTST_PERMISSION_DENIED, GNTTABOP_COPY, GNTTABOP_MAP_GRANT_REF,
    GNTTABOP_SETUP_TABLE, GNTTABOP_UNMAP_GRANT_REF, GnttabCopy, GnttabMapGrantRef,
    GnttabSetupTable, GnttabUnmapGrantRef,
};
use xen_headers::xen::{DOMID_SELF, DomId};

/// `-errno` as a hypercall result.
pub const fn neg(e: Errno) -> isize {
    -(e as isize)
}

const fn rc(result: Result<(), Errno>) -> isize {
    match result {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// Proof that the current hypercall's caller vouched for its argument registers (the
/// `Hypervisor::hypercall` contract): every guest address in them is null or points at what
/// the operation expects, live for the call.
#[derive(Clone, Copy, Debug)]
pub struct Trusted(());

impl Trusted {
    /// Vouches for the current call.
    ///
    /// # Safety
    ///
    /// Only inside `Hypervisor::hypercall`, whose caller guarantees the arguments; the value
    /// must not outlive the call.
    pub const unsafe fn new() -> Self {
        Self(())
    }
}

/// Reads a `T` from guest address `addr` (None for null).
pub const fn read<T: Copy>(_t: Trusted, addr: usize) -> Option<T> {
    let p = std::ptr::with_exposed_provenance::<T>(addr);
    if p.is_null() {
        return None;
    }
    // SAFETY: `Trusted` proves the caller vouched that a non-null argument address points at
    // a live `T`; unaligned reads tolerate any guest layout.
    Some(unsafe { p.read_unaligned() })
}

/// Writes `value` at guest address `addr` (ignored when null).
fn write<T>(_t: Trusted, addr: usize, value: T) {
    let p = std::ptr::with_exposed_provenance_mut::<T>(addr);
    if !p.is_null() {
        // SAFETY: as `read`, for a writable `T`.
        unsafe { p.write_unaligned(value) };
    }
}

/// Copies the guest's structure byte for byte (padding included), lets `f` edit its fields,
/// and copies it back byte for byte when `f` succeeded, or always with `always` (Xen copies
/// results to the guest only on success, except where a command's `out:` path copies back
/// regardless). Bytes `f` does not write reach the guest unchanged, as in Xen, which writes
/// fields, never whole structures. `EFAULT` for a null argument.
fn edit<T: Copy>(_t: Trusted, addr: usize, always: bool, f: impl FnOnce(&mut T) -> isize) -> isize {
    let guest = std::ptr::with_exposed_provenance_mut::<u8>(addr);
    if guest.is_null() {
        return neg(errno::EFAULT);
    }
    let mut copy = std::mem::MaybeUninit::<T>::uninit();
    let bytes = copy.as_mut_ptr().cast::<u8>();
    // SAFETY: `Trusted` proves `addr` points at a live `T`; an untyped byte copy (padding
    // included) into our own storage of the same size.
    unsafe { std::ptr::copy_nonoverlapping(guest, bytes, size_of::<T>()) };
    // SAFETY: every field byte came from the guest's valid `T` (the xen-headers argument
    // structures are plain integers, unions of integers and raw pointers: any bit pattern is
    // valid); padding needs no initialisation.
    let value = unsafe { copy.assume_init_mut() };
    let result = f(value);
    if always || result >= 0 {
        // SAFETY: as above, back into the guest's structure.
        unsafe { std::ptr::copy_nonoverlapping(copy.as_ptr().cast::<u8>(), guest, size_of::<T>()) };
    }
    result
}

/// [`edit`], copying back only on success.
fn with<T: Copy>(t: Trusted, addr: usize, f: impl FnOnce(&mut T) -> isize) -> isize {
    edit(t, addr, false, f)
}

impl State {
    /// The `GNTST_*` status for a grant-table operation on domain `domid`.
    const fn gnttab_target(&self, domid: DomId) -> Result<(), i16> {
        if self.own(domid) {
            Ok(())
        } else if domid == self.cfg.backend_domid {
            Err(GNTST_PERMISSION_DENIED)
        } else {
            Err(GNTST_BAD_DOMAIN)
        }
    }

    /// The errno for an operation a domU may only do on itself: `EPERM` for another existing
    /// domain (XSM), `ESRCH` for none.
    const fn other_domain_errno(&self, domid: DomId) -> Errno {
        if domid == self.cfg.backend_domid {
            errno::EPERM
        } else {
            errno::ESRCH
        }
    }
}

/// An injected per-entry failure of a grant-table call: every entry gets `status`, the call
/// returns 0 (`None` for commands without per-entry statuses).
pub fn fail_grant_entries(t: Trusted, args: &[usize; 5], status: i16) -> Option<isize> {
    let (cmd, arg, count) = (args[0] as u32, args[1], args[2]);
    let (size, offset) = match cmd {
        GNTTABOP_MAP_GRANT_REF => (
            size_of::<GnttabMapGrantRef>(),
            std::mem::offset_of!(GnttabMapGrantRef, status),
        ),
        GNTTABOP_UNMAP_GRANT_REF => (
            size_of::<GnttabUnmapGrantRef>(),
            std::mem::offset_of!(GnttabUnmapGrantRef, status),
        ),
        GNTTABOP_COPY => (
            size_of::<GnttabCopy>(),
            std::mem::offset_of!(GnttabCopy, status),
        ),
        GNTTABOP_SETUP_TABLE => (0, std::mem::offset_of!(GnttabSetupTable, status)),
        _ => return None,
    };
    let count = if size == 0 { 1 } else { count };
    for i in 0..count {
        write(t, arg + i * size + offset, status);
    }
    Some(0)
}

/// The sub-command a call is counted and faulted under.
pub const fn command(op: u32, args: &[usize; 5]) -> u32 {
    match op {
        xen_headers::xen::HYPERVISOR_MEMORY_OP => (args[0] & 0x3f) as u32,
        _ => args[0] as u32,
    }
}

impl State {
    const fn own(&self, domid: DomId) -> bool {
        domid == DOMID_SELF || domid == self.cfg.domid
    }

    /// Executes one non-blocking hypercall of `vcpu`.
    pub fn execute(&mut self, t: Trusted, vcpu: u32, op: u32, args: &[usize; 5]) -> isize {
        use xen_headers::xen as x;
        match op {
            x::HYPERVISOR_MEMORY_OP => self.memory_op(t, args),
            x::HYPERVISOR_EVENT_CHANNEL_OP => self.event_channel_op(t, args),
            x::HYPERVISOR_GRANT_TABLE_OP => self.grant_table_op(t, args),
            x::HYPERVISOR_HVM_OP => self.hvm_op(t, args),
            x::HYPERVISOR_SCHED_OP => self.sched_op(t, args),
            x::HYPERVISOR_VCPU_OP => self.vcpu_op(t, vcpu, args),
            x::HYPERVISOR_XEN_VERSION => self.xen_version(t, args),
            x::HYPERVISOR_CONSOLE_IO => self.console_io(t, args),
            _ => neg(errno::ENOSYS),
        }
    }
}
