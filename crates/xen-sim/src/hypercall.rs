// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Decoding of hypercalls: the op number, the sub-command and the argument structures the
//! guest's registers point at (guest pointers are host pointers here), then the operation on
//! [`State`]. Return values are Xen's: 0 or a count, or `-errno`.

use crate::evtchn::{Errno, Events, PortState};
use crate::gnttab::MapEntry;
use crate::memory::{Overlay, PAGE_SIZE};
use crate::state::State;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_PRIORITY_MIN, EVTCHNOP_ALLOC_UNBOUND,
    EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL, EVTCHNOP_RESET, EVTCHNOP_SEND,
    EVTCHNOP_SET_PRIORITY, EVTCHNOP_STATUS, EVTCHNOP_UNMASK, EVTCHNSTAT_CLOSED,
    EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ,
    EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindVcpu, EvtchnBindVirq,
    EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnReset, EvtchnSend, EvtchnSetPriority,
    EvtchnStatus, EvtchnUnmask,
};
use xen_headers::grant_table::{
    GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF, GNTMAP_APPLICATION_MAP, GNTMAP_CONTAINS_PTE,
    GNTMAP_DEVICE_MAP, GNTMAP_HOST_MAP, GNTMAP_READONLY, GNTST_BAD_COPY_ARG, GNTST_BAD_DOMAIN,
    GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_BAD_PAGE, GNTST_GENERAL_ERROR, GNTST_OKAY,
    GNTST_PERMISSION_DENIED, GNTTAB_NR_RESERVED_ENTRIES, GNTTABOP_COPY, GNTTABOP_GET_VERSION,
    GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE, GNTTABOP_SET_VERSION, GNTTABOP_SETUP_TABLE,
    GNTTABOP_UNMAP_GRANT_REF, GnttabCopy, GnttabCopyPtr, GnttabGetVersion, GnttabMapGrantRef,
    GnttabQuerySize, GnttabSetVersion, GnttabSetupTable, GnttabUnmapGrantRef,
};
use xen_headers::hvm::hvm_op::{
    HVMOP_GET_PARAM, HVMOP_PAGETABLE_DYING, HVMOP_SET_EVTCHN_UPCALL_VECTOR, HVMOP_SET_PARAM,
    XenHvmEvtchnUpcallVector, XenHvmParam,
};
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN,
    HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};
use xen_headers::memory::{
    XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP,
    XENMEM_CURRENT_RESERVATION, XENMEM_DECREASE_RESERVATION, XENMEM_MAXIMUM_RESERVATION,
    XENMEM_POPULATE_PHYSMAP, XENMEM_REMOVE_FROM_PHYSMAP, XenAddToPhysmap, XenMemoryReservation,
    XenRemoveFromPhysmap,
};
use xen_headers::sched::{
    SCHEDOP_SHUTDOWN_CODE, SCHEDOP_WATCHDOG, SCHEDOP_YIELD, SHUTDOWN_SUSPEND, SchedShutdown,
    SchedWatchdog,
};
use xen_headers::vcpu::{
    VCPU_SSHOTTMR_FUTURE, VCPUOP_DOWN, VCPUOP_INITIALISE, VCPUOP_IS_UP, VCPUOP_REGISTER_VCPU_INFO,
    VCPUOP_SET_PERIODIC_TIMER, VCPUOP_SET_SINGLESHOT_TIMER, VCPUOP_STOP_PERIODIC_TIMER,
    VCPUOP_STOP_SINGLESHOT_TIMER, VCPUOP_UP, VcpuRegisterVcpuInfo, VcpuSetPeriodicTimer,
    VcpuSetSingleshotTimer,
};
use xen_headers::version::{
    XEN_EXTRAVERSION_LEN, XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XENVER_PAGESIZE,
    XENVER_VERSION, XenFeatureInfo,
};
use xen_headers::xen::{CONSOLEIO_WRITE, DOMID_SELF, DomId};

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

    // ---- memory_op ----

    fn memory_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let cmd = (args[0] & 0x3f) as u32;
        let start = args[0] >> 6;
        match cmd {
            XENMEM_DECREASE_RESERVATION | XENMEM_POPULATE_PHYSMAP => {
                let Some(r) = read::<XenMemoryReservation>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(r.domid) {
                    return neg(if r.domid == self.cfg.backend_domid {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                if r.extent_order > 9 {
                    return start as isize;
                }
                let pages = 1_u64 << r.extent_order;
                let mut done = start as u64;
                while done < r.nr_extents {
                    // An unreadable list ends the call with the extents done, as in Xen.
                    let Some(gfn) =
                        read::<u64>(t, r.extent_start.p.wrapping_add(done as usize).addr())
                    else {
                        break;
                    };
                    let ok = (0..pages).all(|i| {
                        if cmd == XENMEM_DECREASE_RESERVATION {
                            self.mem.release(gfn + i)
                        } else {
                            self.mem.populate(gfn + i)
                        }
                    });
                    if !ok {
                        break;
                    }
                    done += 1;
                }
                done as isize
            }
            XENMEM_CURRENT_RESERVATION | XENMEM_MAXIMUM_RESERVATION => {
                let Some(domid) = read::<DomId>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(domid) {
                    return neg(if domid == self.cfg.backend_domid {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                if cmd == XENMEM_CURRENT_RESERVATION {
                    self.mem.populated_count() as isize
                } else {
                    self.cfg.max_pages as isize
                }
            }
            XENMEM_ADD_TO_PHYSMAP => {
                let Some(a) = read::<XenAddToPhysmap>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(a.domid) {
                    return neg(errno::ESRCH);
                }
                rc(self.add_to_physmap(a.space, a.idx, a.gpfn))
            }
            XENMEM_REMOVE_FROM_PHYSMAP => {
                let Some(r) = read::<XenRemoveFromPhysmap>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(r.domid) {
                    return neg(errno::ESRCH);
                }
                if self.mem.clear_overlay(r.gpfn).is_some() || self.mem.release(r.gpfn) {
                    0
                } else {
                    neg(errno::ENOENT)
                }
            }
            _ => neg(errno::ENOSYS),
        }
    }

    fn add_to_physmap(&mut self, space: u32, idx: u64, gfn: u64) -> Result<(), Errno> {
        match space {
            XENMAPSPACE_SHARED_INFO => {
                if idx != 0 {
                    return Err(errno::EINVAL);
                }
                self.map_shared_info(gfn);
                Ok(())
            }
            XENMAPSPACE_GRANT_TABLE => {
                let frame = u32::try_from(idx).map_err(|_| errno::EINVAL)?;
                if frame >= self.gnttab.max_frames {
                    return Err(errno::EINVAL);
                }
                if frame >= self.gnttab.frames.len() as u32 {
                    let max = frame + 1;
                    let pool = self.mem.pool();
                    if !self.gnttab.grow(pool, max) {
                        return Err(errno::EINVAL);
                    }
                }
                let page = self.gnttab.frames[frame as usize];
                if let Some(old) = self.mem.find_overlay(Overlay::GrantFrame(frame)) {
                    self.mem.clear_overlay(old);
                }
                self.mem.set_overlay(gfn, Overlay::GrantFrame(frame), page);
                Ok(())
            }
            _ => Err(errno::EINVAL),
        }
    }

    // ---- event_channel_op ----

    #[allow(
        clippy::too_many_lines,
        reason = "one arm per EVTCHNOP, a flat decode table"
    )]
    fn event_channel_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let me = self.cfg.domid;
        let arg = args[1];
        match args[0] as u32 {
            EVTCHNOP_ALLOC_UNBOUND => with(t, arg, |op: &mut EvtchnAllocUnbound| {
                if !self.own(op.dom) {
                    return neg(if self.events(op.dom).is_some() {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                let remote = self.resolve(op.remote_dom);
                match self.alloc_unbound(me, remote, 0) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_INTERDOMAIN => with(t, arg, |op: &mut EvtchnBindInterdomain| {
                let rdom = self.resolve(op.remote_dom);
                match self.bind_interdomain(me, rdom, op.remote_port) {
                    Ok(port) => {
                        op.local_port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_VIRQ => with(t, arg, |op: &mut EvtchnBindVirq| {
                match self.bind_virq(op.virq, op.vcpu) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_IPI => with(t, arg, |op: &mut EvtchnBindIpi| {
                match self.bind_ipi(op.vcpu) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_CLOSE => with(t, arg, |op: &mut EvtchnClose| rc(self.close(me, op.port))),
            EVTCHNOP_SEND => with(t, arg, |op: &mut EvtchnSend| rc(self.send(me, op.port))),
            EVTCHNOP_STATUS => with(t, arg, |op: &mut EvtchnStatus| self.status(op)),
            EVTCHNOP_BIND_VCPU => with(t, arg, |op: &mut EvtchnBindVcpu| {
                rc(self.bind_vcpu(op.port, op.vcpu))
            }),
            EVTCHNOP_UNMASK => with(t, arg, |op: &mut EvtchnUnmask| {
                if !self.guest.is_valid(op.port) {
                    return neg(errno::EINVAL);
                }
                let mut marks = Vec::new();
                self.guest.unmask(op.port, &mut marks);
                self.deliver(marks);
                0
            }),
            EVTCHNOP_RESET => with(t, arg, |op: &mut EvtchnReset| {
                if !self.own(op.dom) {
                    return neg(self.other_domain_errno(op.dom));
                }
                self.reset();
                0
            }),
            EVTCHNOP_INIT_CONTROL => {
                with(t, arg, |op: &mut EvtchnInitControl| self.init_control(op))
            }
            EVTCHNOP_EXPAND_ARRAY => with(t, arg, |op: &mut EvtchnExpandArray| {
                let page = self.mem.page(op.array_gfn);
                let mut marks = Vec::new();
                let r = self.guest.add_array_page(op.array_gfn, page, &mut marks);
                self.deliver(marks);
                rc(r)
            }),
            EVTCHNOP_SET_PRIORITY => with(t, arg, |op: &mut EvtchnSetPriority| {
                if !self.guest.is_valid(op.port) {
                    return neg(errno::EINVAL);
                }
                if self.guest.fifo.is_none() {
                    return neg(errno::ENOSYS);
                }
                if op.priority > EVTCHN_FIFO_PRIORITY_MIN {
                    return neg(errno::EINVAL);
                }
                if let Some(p) = self.guest.port_mut(op.port) {
                    p.priority = op.priority;
                }
                0
            }),
            _ => neg(errno::ENOSYS),
        }
    }

    fn status(&mut self, op: &mut EvtchnStatus) -> isize {
        let domid = self.resolve(op.dom);
        let me = self.cfg.domid;
        let Some(ev) = self.events(domid) else {
            return neg(errno::ESRCH);
        };
        let ev: &Events = ev;
        let Some(p) = ev.port(op.port) else {
            return neg(errno::EINVAL);
        };
        if domid != me {
            return neg(errno::EPERM);
        }
        // Xen fills only the union member of the state; every other byte stays as the guest
        // passed it.
        op.status = match p.state {
            PortState::Free | PortState::Reserved => EVTCHNSTAT_CLOSED,
            PortState::Unbound { remote } => {
                op.u.unbound.dom = remote;
                EVTCHNSTAT_UNBOUND
            }
            PortState::Interdomain { dom, port } => {
                op.u.interdomain.dom = dom;
                op.u.interdomain.port = port;
                EVTCHNSTAT_INTERDOMAIN
            }
            PortState::Virq(virq) => {
                op.u.virq = virq;
                EVTCHNSTAT_VIRQ
            }
            PortState::Ipi => EVTCHNSTAT_IPI,
        };
        op.vcpu = p.vcpu;
        0
    }

    fn init_control(&mut self, op: &mut EvtchnInitControl) -> isize {
        op.link_bits = EVTCHN_FIFO_LINK_BITS as u8;
        if op.vcpu >= self.cfg.vcpus {
            return neg(errno::ENOENT);
        }
        if !Events::control_block_fits(op.offset) {
            return neg(errno::EINVAL);
        }
        let first = self.guest.fifo.is_none();
        if !first
            && self
                .guest
                .fifo
                .as_ref()
                .and_then(|f| f.control.get(op.vcpu as usize).copied().flatten())
                .is_some()
        {
            return neg(errno::EINVAL);
        }
        let Some(page) = self.mem.page(op.control_gfn) else {
            return neg(errno::EINVAL);
        };
        if first {
            self.guest.enter_fifo();
        }
        if let Some(fifo) = self.guest.fifo.as_mut()
            && let Some(slot) = fifo.control.get_mut(op.vcpu as usize)
        {
            *slot = Some((page, op.offset as usize, op.control_gfn));
        }
        0
    }

    // ---- grant_table_op ----

    fn grant_table_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let (cmd, arg, count) = (args[0] as u32, args[1], args[2]);
        let single = |count: usize| count == 1;
        match cmd {
            GNTTABOP_QUERY_SIZE => {
                if !single(count) {
                    return neg(errno::EINVAL);
                }
                {
                    with(t, arg, |op: &mut GnttabQuerySize| {
                        if let Err(status) = self.gnttab_target(op.dom) {
                            op.status = status;
                            return 0;
                        }
                        op.nr_frames = self.gnttab.frames.len() as u32;
                        op.max_nr_frames = self.gnttab.max_frames;
                        op.status = GNTST_OKAY;
                        0
                    })
                }
            }
            GNTTABOP_SETUP_TABLE => {
                if !single(count) {
                    return neg(errno::EINVAL);
                }
                with(t, arg, |op: &mut GnttabSetupTable| self.setup_table(t, op))
            }
            // Xen's `out:` path writes the version in force back on every outcome.
            GNTTABOP_SET_VERSION => edit(t, arg, true, |op: &mut GnttabSetVersion| {
                let wanted = op.version;
                let rc = if wanted != 1 && wanted != 2 {
                    neg(errno::EINVAL)
                } else if wanted != self.gnttab.version
                    && self
                        .gnttab
                        .pins
                        .keys()
                        .any(|&r| r >= GNTTAB_NR_RESERVED_ENTRIES)
                {
                    neg(errno::EBUSY)
                } else {
                    self.gnttab.version = wanted;
                    0
                };
                op.version = self.gnttab.version;
                rc
            }),
            GNTTABOP_GET_VERSION => with(t, arg, |op: &mut GnttabGetVersion| {
                if !self.own(op.dom) {
                    return neg(self.other_domain_errno(op.dom));
                }
                op.version = self.gnttab.version;
                0
            }),
            GNTTABOP_MAP_GRANT_REF | GNTTABOP_UNMAP_GRANT_REF | GNTTABOP_COPY => {
                for i in 0..count {
                    let r = match cmd {
                        GNTTABOP_MAP_GRANT_REF => with(
                            t,
                            arg + i * size_of::<GnttabMapGrantRef>(),
                            |op: &mut GnttabMapGrantRef| {
                                op.status = self.guest_map(op);
                                0
                            },
                        ),
                        GNTTABOP_UNMAP_GRANT_REF => with(
                            t,
                            arg + i * size_of::<GnttabUnmapGrantRef>(),
                            |op: &mut GnttabUnmapGrantRef| {
                                op.status = self.guest_unmap(op.handle, op.host_addr);
                                0
                            },
                        ),
                        _ => with(
                            t,
                            arg + i * size_of::<GnttabCopy>(),
                            |op: &mut GnttabCopy| {
                                op.status = self.copy(op);
                                0
                            },
                        ),
                    };
                    if r != 0 {
                        return r;
                    }
                }
                0
            }
            _ => neg(errno::ENOSYS),
        }
    }

    fn setup_table(&mut self, t: Trusted, op: &mut GnttabSetupTable) -> isize {
        if let Err(status) = self.gnttab_target(op.dom) {
            op.status = status;
            return 0;
        }
        let pool = self.mem.pool();
        if !self.gnttab.grow(pool, op.nr_frames) {
            op.status = GNTST_GENERAL_ERROR;
            return 0;
        }
        for i in 0..op.nr_frames {
            let gfn = self
                .mem
                .find_overlay(Overlay::GrantFrame(i))
                .unwrap_or(u64::MAX);
            // SAFETY: the frame list is `nr_frames` long (the guest's guarantee).
            write(t, op.frame_list.p.wrapping_add(i as usize).addr(), gfn);
        }
        op.status = GNTST_OKAY;
        0
    }

    fn guest_map(&mut self, op: &mut GnttabMapGrantRef) -> i16 {
        if op.flags & (GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP) == 0 {
            return GNTST_BAD_GNTREF;
        }
        // A translated guest has no device, application or PTE mappings.
        if op.flags & (GNTMAP_DEVICE_MAP | GNTMAP_APPLICATION_MAP | GNTMAP_CONTAINS_PTE) != 0 {
            return GNTST_GENERAL_ERROR;
        }
        let readonly = op.flags & GNTMAP_READONLY != 0;
        let gfn = op.host_addr >> 12;
        let (page, granter) = if op.dom == self.cfg.backend_domid {
            let Some(grant) = self.backend_grants.get_mut(&op.ref_) else {
                return GNTST_BAD_GNTREF;
            };
            if grant.domid != self.cfg.domid || (grant.readonly && !readonly) {
                return GNTST_GENERAL_ERROR;
            }
            grant.pins += 1;
            (grant.page, op.dom)
        } else if op.dom == self.cfg.domid {
            // A grant of the domain's own memory: on a translated guest Xen 4.17 adds the
            // frame at the new place and removes it from the old one (the p2m keeps one place
            // per frame), so the granted frame is left unbacked until repopulated.
            if op.ref_ >= self.gnttab.nr_entries() {
                return GNTST_BAD_GNTREF;
            }
            let frame = match self.gnttab.pin(op.ref_, self.cfg.domid, readonly) {
                Ok(frame) => u64::from(frame),
                Err(status) => return status,
            };
            let Some(page) = self.mem.page(frame) else {
                self.gnttab.unpin(op.ref_, readonly);
                return GNTST_BAD_PAGE;
            };
            self.mem.move_out(frame);
            (page, op.dom)
        } else {
            return GNTST_BAD_DOMAIN;
        };
        // A granted mapping already at the frame: Xen's p2m refuses to replace it (EPERM),
        // and the pin just taken is dropped again.
        if matches!(self.mem.overlay(gfn), Some(Overlay::GrantMap(_))) {
            if granter == self.cfg.backend_domid {
                if let Some(g) = self.backend_grants.get_mut(&op.ref_) {
                    g.pins = g.pins.saturating_sub(1);
                }
            } else {
                self.gnttab.unpin(op.ref_, readonly);
            }
            return GNTST_GENERAL_ERROR;
        }
        let handle = self.guest_maptrack.insert(MapEntry {
            granter,
            reference: op.ref_,
            readonly,
            gfn: Some(gfn),
            page,
        });
        // RAM at the target frame is unmapped but stays the domain's (p2m_add_page).
        self.mem.move_out(gfn);
        self.mem.set_overlay(gfn, Overlay::GrantMap(handle), page);
        op.handle = handle;
        GNTST_OKAY
    }

    fn guest_unmap(&mut self, handle: u32, host_addr: u64) -> i16 {
        let Some(entry) = self.guest_maptrack.get(handle) else {
            return GNTST_BAD_HANDLE;
        };
        if host_addr != 0 && entry.gfn != Some(host_addr >> 12) {
            return GNTST_GENERAL_ERROR;
        }
        self.guest_maptrack.remove(handle);
        if let Some(gfn) = entry.gfn {
            self.mem.clear_overlay(gfn);
        }
        if entry.granter == self.cfg.backend_domid {
            if let Some(g) = self.backend_grants.get_mut(&entry.reference) {
                g.pins = g.pins.saturating_sub(1);
            }
        } else {
            self.gnttab.unpin(entry.reference, entry.readonly);
        }
        GNTST_OKAY
    }

    /// One end of a copy: the page, or a status.
    fn copy_end(
        &mut self,
        end: &GnttabCopyPtr,
        gref: bool,
        write: bool,
    ) -> Result<crate::memory::Page, i16> {
        // SAFETY: both union members are plain integers, every bit pattern valid.
        let reference = unsafe { end.u.ref_ };
        // SAFETY: as above.
        let gmfn = unsafe { end.u.gmfn };
        if !gref {
            return self.mem.page(gmfn).ok_or(GNTST_BAD_PAGE);
        }
        let domid = self.resolve(end.domid);
        if domid == self.cfg.domid {
            if reference >= self.gnttab.nr_entries() {
                return Err(GNTST_BAD_GNTREF);
            }
            let frame = self.gnttab.pin(reference, self.cfg.domid, !write)?;
            self.gnttab.unpin(reference, !write);
            self.mem.page(u64::from(frame)).ok_or(GNTST_BAD_PAGE)
        } else if domid == self.cfg.backend_domid {
            let grant = self
                .backend_grants
                .get(&reference)
                .ok_or(GNTST_BAD_GNTREF)?;
            if grant.domid != self.cfg.domid || (write && grant.readonly) {
                return Err(GNTST_GENERAL_ERROR);
            }
            Ok(grant.page)
        } else {
            Err(GNTST_BAD_DOMAIN)
        }
    }

    /// `gnttab_copy_lock_domain`: only `DOMID_SELF` names a frame; the domain must exist.
    const fn copy_domain(&self, end: &GnttabCopyPtr, gref: bool) -> Result<(), i16> {
        if end.domid != DOMID_SELF && !gref {
            return Err(GNTST_PERMISSION_DENIED);
        }
        let domid = self.resolve(end.domid);
        if domid == self.cfg.domid || domid == self.cfg.backend_domid {
            Ok(())
        } else {
            Err(GNTST_BAD_DOMAIN)
        }
    }

    /// `gnttab_copy_one`, in Xen's order: both domains, the source, the destination, then the
    /// bounds.
    fn copy(&mut self, op: &GnttabCopy) -> i16 {
        let (src_gref, dst_gref) = (
            op.flags & GNTCOPY_SOURCE_GREF != 0,
            op.flags & GNTCOPY_DEST_GREF != 0,
        );
        if let Err(status) = self
            .copy_domain(&op.source, src_gref)
            .and_then(|()| self.copy_domain(&op.dest, dst_gref))
        {
            return status;
        }
        let src = match self.copy_end(&op.source, op.flags & GNTCOPY_SOURCE_GREF != 0, false) {
            Ok(p) => p,
            Err(s) => return s,
        };
        let dst = match self.copy_end(&op.dest, op.flags & GNTCOPY_DEST_GREF != 0, true) {
            Ok(p) => p,
            Err(s) => return s,
        };
        let len = usize::from(op.len);
        let (so, dof) = (usize::from(op.source.offset), usize::from(op.dest.offset));
        if so + len > PAGE_SIZE || dof + len > PAGE_SIZE {
            return GNTST_BAD_COPY_ARG;
        }
        let (from, to) = (src.ptr().wrapping_add(so), dst.ptr().wrapping_add(dof));
        // SAFETY: both ranges lie inside simulator-owned pages (offsets and length checked
        // above); `copy` allows overlap.
        unsafe { std::ptr::copy(from, to, len) };
        GNTST_OKAY
    }

    // ---- hvm_op ----

    fn hvm_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            HVMOP_SET_PARAM | HVMOP_GET_PARAM => with(t, args[1], |op: &mut XenHvmParam| {
                self.hvm_param(args[0] as u32 == HVMOP_SET_PARAM, op)
            }),
            HVMOP_SET_EVTCHN_UPCALL_VECTOR => {
                with(t, args[1], |op: &mut XenHvmEvtchnUpcallVector| {
                    if op.vector < 0x10 {
                        return neg(errno::EINVAL);
                    }
                    if op.vcpu >= self.cfg.vcpus {
                        return neg(errno::ENOENT);
                    }
                    self.upcall_vector[op.vcpu as usize] = op.vector;
                    self.assert_irq(op.vcpu);
                    0
                })
            }
            // No shadow paging: the hint is refused.
            HVMOP_PAGETABLE_DYING => neg(errno::EINVAL),
            _ => neg(errno::ENOSYS),
        }
    }

    fn hvm_param(&mut self, set: bool, op: &mut XenHvmParam) -> isize {
        const DEPRECATED: [u32; 10] = [4, 13, 20, 21, 22, 23, 24, 25, 26, 30];
        const VM86_TSS: u32 = 15;
        const ACPI_IOPORTS: u32 = 19;
        const VM_GENERATION_ID: u32 = 34;
        const ALTP2M: u32 = 35;
        const X87_FIP_WIDTH: u32 = 36;
        const VM86_TSS_SIZED: u32 = 37;
        if op.index >= HVM_NR_PARAMS {
            return neg(errno::EINVAL);
        }
        if !self.own(op.domid) {
            return neg(if self.events(op.domid).is_some() {
                errno::EPERM
            } else {
                errno::ESRCH
            });
        }
        if DEPRECATED.contains(&op.index) {
            return neg(errno::EINVAL);
        }
        let guest_settable = [
            HVM_PARAM_CALLBACK_IRQ,
            VM86_TSS,
            VM86_TSS_SIZED,
            ACPI_IOPORTS,
            VM_GENERATION_ID,
            HVM_PARAM_STORE_EVTCHN,
            HVM_PARAM_CONSOLE_EVTCHN,
            X87_FIP_WIDTH,
        ];
        if set {
            if !guest_settable.contains(&op.index) {
                return neg(errno::EPERM);
            }
            if op.index == HVM_PARAM_CALLBACK_IRQ {
                self.set_callback(op.value);
            } else {
                self.params[op.index as usize] = op.value;
            }
        } else {
            let readable = guest_settable.contains(&op.index)
                || [HVM_PARAM_STORE_PFN, HVM_PARAM_CONSOLE_PFN, ALTP2M].contains(&op.index);
            if !readable {
                return neg(errno::EPERM);
            }
            op.value = self.params[op.index as usize];
        }
        0
    }

    // ---- sched_op (the calls that never wait) ----

    fn sched_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            SCHEDOP_YIELD => 0,
            xen_headers::sched::SCHEDOP_SHUTDOWN => {
                let Some(s) = read::<SchedShutdown>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if s.reason == SHUTDOWN_SUSPEND {
                    if std::mem::take(&mut self.cancel_next_suspend) {
                        return 1;
                    }
                    self.resume_in_new_domain();
                    return 0;
                }
                self.shutdown = Some(s.reason);
                0
            }
            SCHEDOP_SHUTDOWN_CODE => {
                let Some(s) = read::<SchedShutdown>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                self.shutdown_code = Some(s.reason);
                0
            }
            SCHEDOP_WATCHDOG => {
                let Some(w) = read::<SchedWatchdog>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                self.watchdog(w.id, w.timeout)
            }
            _ => neg(errno::ENOSYS),
        }
    }

    fn watchdog(&mut self, id: u32, timeout: u32) -> isize {
        let slots = self.watchdogs.len() as u32;
        if id > slots {
            return neg(errno::EINVAL);
        }
        if id == 0 {
            let Some(free) = self.watchdogs.iter().position(|used| !used) else {
                // Xen 4.17 computes `id == NR ? -ENOSPC : id + 1` in `unsigned int`: the
                // error reaches the guest zero-extended (4294967268), not negative.
                return isize::try_from((-errno::ENOSPC).cast_unsigned()).unwrap_or(isize::MAX);
            };
            self.watchdogs[free] = true;
            return free as isize + 1;
        }
        let slot = (id - 1) as usize;
        if !self.watchdogs[slot] {
            return neg(errno::EINVAL);
        }
        if timeout == 0 {
            self.watchdogs[slot] = false;
        }
        0
    }

    // ---- vcpu_op ----

    fn vcpu_op(&mut self, t: Trusted, caller: u32, args: &[usize; 5]) -> isize {
        let (cmd, vcpu, arg) = (args[0] as u32, args[1] as u32, args[2]);
        if vcpu >= self.cfg.vcpus {
            return neg(errno::ENOENT);
        }
        match cmd {
            VCPUOP_REGISTER_VCPU_INFO => {
                let Some(r) = read::<VcpuRegisterVcpuInfo>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                // map_vcpu_info (4.17): the offset, then registration, then the caller.
                let size = size_of::<xen_headers::xen::VcpuInfo>();
                if r.offset as usize > PAGE_SIZE - size || !r.offset.is_multiple_of(8) {
                    return neg(errno::ENXIO);
                }
                let allowed = vcpu == caller || self.vcpu_down[vcpu as usize];
                if self.registered_vcpu_info(vcpu).is_some() || !allowed {
                    return neg(errno::EINVAL);
                }
                let Some(page) = self.mem.page(r.mfn) else {
                    return neg(errno::EINVAL);
                };
                self.register_vcpu_info(vcpu, page, r.offset as usize, r.mfn);
                0
            }
            VCPUOP_SET_PERIODIC_TIMER => {
                let Some(t) = read::<VcpuSetPeriodicTimer>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                if t.period_ns < 1_000_000 || t.period_ns > i64::MAX as u64 / 2 {
                    return neg(errno::EINVAL);
                }
                let next = self.now() + t.period_ns;
                self.timers[vcpu as usize].periodic = Some((t.period_ns, next));
                0
            }
            VCPUOP_STOP_PERIODIC_TIMER => {
                self.timers[vcpu as usize].periodic = None;
                0
            }
            VCPUOP_SET_SINGLESHOT_TIMER => {
                if vcpu != caller {
                    return neg(errno::EINVAL);
                }
                let Some(t) = read::<VcpuSetSingleshotTimer>(t, arg) else {
                    return neg(errno::EFAULT);
                };
                if t.flags & VCPU_SSHOTTMR_FUTURE != 0 && t.timeout_abs_ns < self.now() {
                    return neg(errno::ETIME);
                }
                self.timers[vcpu as usize].singleshot = Some(t.timeout_abs_ns);
                0
            }
            VCPUOP_STOP_SINGLESHOT_TIMER => {
                if vcpu != caller {
                    return neg(errno::EINVAL);
                }
                self.timers[vcpu as usize].singleshot = None;
                0
            }
            VCPUOP_IS_UP => isize::from(!self.vcpu_down[vcpu as usize]),
            VCPUOP_UP => {
                if !self.vcpu_initialised[vcpu as usize] {
                    return neg(errno::EINVAL);
                }
                self.vcpu_down[vcpu as usize] = false;
                0
            }
            VCPUOP_DOWN => {
                let others_up =
                    (0..self.cfg.vcpus).any(|v| v != vcpu && !self.vcpu_down[v as usize]);
                if others_up {
                    self.vcpu_down[vcpu as usize] = true;
                } else {
                    // The last vCPU going down powers the domain off.
                    self.shutdown = Some(xen_headers::sched::SHUTDOWN_POWEROFF);
                }
                0
            }
            VCPUOP_INITIALISE => {
                if self.surface().vcpu_info(vcpu).is_none() {
                    return neg(errno::EINVAL);
                }
                if self.vcpu_initialised[vcpu as usize] {
                    return neg(errno::EEXIST);
                }
                // The start context itself is not modelled: the vCPU is the test's thread.
                self.vcpu_initialised[vcpu as usize] = true;
                0
            }
            _ => neg(errno::ENOSYS),
        }
    }

    // ---- xen_version, console_io ----

    fn xen_version(&self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            XENVER_VERSION => 0x0004_0011,
            XENVER_EXTRAVERSION => {
                let mut extra = [0_u8; XEN_EXTRAVERSION_LEN];
                let text = self.cfg.extra_version.as_bytes();
                let n = text.len().min(XEN_EXTRAVERSION_LEN - 1);
                extra[..n].copy_from_slice(&text[..n]);
                // SAFETY: `args[1]` is a 16-byte buffer.
                write(t, args[1], extra);
                0
            }
            XENVER_GET_FEATURES => with(t, args[1], |f: &mut XenFeatureInfo| {
                if f.submap_idx != 0 {
                    return neg(errno::EINVAL);
                }
                f.submap = self.cfg.features;
                0
            }),
            XENVER_PAGESIZE => PAGE_SIZE as isize,
            _ => neg(errno::ENOSYS),
        }
    }

    fn console_io(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        if args[0] as u32 != CONSOLEIO_WRITE {
            return neg(errno::ENOSYS);
        }
        if self.cfg.domid != 0 && !self.cfg.guest_console_io {
            return neg(errno::EPERM);
        }
        let p = std::ptr::with_exposed_provenance::<u8>(args[2]);
        if p.is_null() {
            return neg(errno::EFAULT);
        }
        let _ = t;
        // SAFETY: `Trusted`: the caller vouched that `args[2]` points at `args[1]` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(p, args[1]) };
        self.xen_console.extend_from_slice(bytes);
        0
    }
}
