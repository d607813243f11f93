// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What every scenario needs: a guest with `shared_info` mapped and a callback vector, and the
//! guest's view of the shared bits (atomics on the mapped page, as the drivers read them).

#![allow(dead_code, clippy::missing_panics_doc)]

use std::mem::offset_of;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use xen::hypercall::Hypervisor;
use xen_headers::hvm::params::{HVM_PARAM_CALLBACK_IRQ, hvm_param_callback_vector};
use xen_headers::memory::{XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO};
use xen_headers::xen::{DOMID_SELF, SharedInfo, VcpuInfo};
use xen_sim::{Sim, SimConfig, SimVcpu};

/// The callback vector the scenarios use.
pub const CALLBACK_VECTOR: u8 = 0xf3;

/// A guest: the simulator, vCPU 0, and where `shared_info` is mapped.
pub struct Guest {
    pub sim: Sim,
    pub hv: SimVcpu,
    pub shared_info_gfn: u64,
    /// Upcalls seen, per vCPU, by the installed handlers.
    pub seen: Arc<Mutex<Vec<u32>>>,
}

impl Guest {
    /// A guest with `cfg`, `shared_info` mapped in a hole and the callback vector set; each
    /// vCPU's handler records its index.
    pub fn new(cfg: SimConfig) -> Self {
        let sim = Sim::new(cfg);
        let hv = sim.vcpu(0);
        let gfn = sim.hole(1);
        // SAFETY: the frame is a hole reserved for this mapping.
        unsafe { xen::memory::add_to_physmap(&hv, gfn, XENMAPSPACE_SHARED_INFO, 0) }
            .expect("map shared_info");
        xen::hvm::set_param(
            &hv,
            HVM_PARAM_CALLBACK_IRQ,
            hvm_param_callback_vector(CALLBACK_VECTOR),
        )
        .expect("callback vector");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let vcpus = sim.vcpus();
        for v in 0..vcpus {
            let seen = Arc::clone(&seen);
            sim.set_upcall_handler(v, Arc::new(move || seen.lock().unwrap().push(v)));
        }
        Self {
            sim,
            hv,
            shared_info_gfn: gfn,
            seen,
        }
    }

    /// One vCPU, defaults otherwise.
    pub fn default_guest() -> Self {
        Self::new(SimConfig::default())
    }

    /// Upcalls recorded since the last call.
    pub fn take_seen(&self) -> Vec<u32> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    fn si(&self) -> *mut u8 {
        self.sim
            .host_ptr(self.shared_info_gfn)
            .expect("shared_info mapped")
    }

    fn word(&self, pending: bool, port: u32) -> &AtomicU64 {
        let base = if pending {
            offset_of!(SharedInfo, evtchn_pending)
        } else {
            offset_of!(SharedInfo, evtchn_mask)
        };
        // SAFETY: inside the mapped shared_info page, aligned; accessed only atomically.
        unsafe {
            AtomicU64::from_ptr(
                self.si()
                    .wrapping_add(base + (port as usize / 64) * 8)
                    .cast(),
            )
        }
    }

    /// 2-level pending bit.
    pub fn pending(&self, port: u32) -> bool {
        self.word(true, port).load(SeqCst) & (1 << (port % 64)) != 0
    }

    /// 2-level mask bit.
    pub fn masked(&self, port: u32) -> bool {
        self.word(false, port).load(SeqCst) & (1 << (port % 64)) != 0
    }

    /// Clears a pending bit (the guest's acknowledgement).
    pub fn clear_pending(&self, port: u32) {
        self.word(true, port).fetch_and(!(1 << (port % 64)), SeqCst);
    }

    /// Sets or clears a mask bit.
    pub fn set_mask(&self, port: u32, masked: bool) {
        let bit = 1 << (port % 64);
        if masked {
            self.word(false, port).fetch_or(bit, SeqCst);
        } else {
            self.word(false, port).fetch_and(!bit, SeqCst);
        }
    }

    fn vcpu_info(&self, vcpu: u32) -> *mut u8 {
        self.si()
            .wrapping_add(vcpu as usize * size_of::<VcpuInfo>())
    }

    /// `evtchn_upcall_pending` of `vcpu` (legacy slot).
    pub fn upcall_pending(&self, vcpu: u32) -> bool {
        // SAFETY: inside the page; atomically accessed.
        unsafe { AtomicU8::from_ptr(self.vcpu_info(vcpu)) }.load(SeqCst) != 0
    }

    /// `evtchn_pending_sel` of `vcpu` (legacy slot).
    pub fn pending_sel(&self, vcpu: u32) -> u64 {
        // SAFETY: as above, 8-byte aligned at offset 8.
        unsafe {
            AtomicU64::from_ptr(
                self.vcpu_info(vcpu)
                    .wrapping_add(offset_of!(VcpuInfo, evtchn_pending_sel))
                    .cast(),
            )
        }
        .load(SeqCst)
    }

    /// Clears `vcpu`'s upcall flag and selector (what an ISR does first).
    pub fn ack_upcall(&self, vcpu: u32) {
        // SAFETY: as above.
        unsafe { AtomicU8::from_ptr(self.vcpu_info(vcpu)) }.store(0, SeqCst);
        // SAFETY: as above.
        unsafe {
            AtomicU64::from_ptr(
                self.vcpu_info(vcpu)
                    .wrapping_add(offset_of!(VcpuInfo, evtchn_pending_sel))
                    .cast(),
            )
        }
        .store(0, SeqCst);
    }

    /// A loopback pair `(unbound end, bound end)` with the bind's pending bit and upcall
    /// acknowledged.
    pub fn loopback(&self) -> (u32, u32) {
        let a = xen::event_channel::allocate_unbound(&self.hv, DOMID_SELF).unwrap();
        let b = xen::event_channel::bind_inter_domain(&self.hv, DOMID_SELF, a).unwrap();
        self.clear_pending(b);
        self.ack_upcall(0);
        self.take_seen();
        (a, b)
    }

    /// Maps grant frame 0 in a hole; returns its host address.
    pub fn map_grant_frame0(&self) -> *mut u8 {
        let gfn = self.sim.hole(1);
        // SAFETY: a hole reserved for it.
        unsafe { xen::memory::add_to_physmap(&self.hv, gfn, XENMAPSPACE_GRANT_TABLE, 0) }
            .expect("map grant frame 0");
        self.sim.host_ptr(gfn).unwrap()
    }
}

/// A v1 grant entry in a mapped frame: flags as an atomic.
pub const fn grant_flags(frame: *mut u8, reference: u32) -> &'static AtomicU16 {
    // SAFETY: entry `reference` of a mapped grant frame (references below 512).
    unsafe { AtomicU16::from_ptr(frame.wrapping_add(reference as usize * 8).cast()) }
}

/// Writes a v1 entry: domid and frame, then the flags.
pub fn write_grant(frame: *mut u8, reference: u32, flags: u16, domid: u16, gfn: u64) {
    // SAFETY: as `grant_flags`.
    unsafe {
        AtomicU16::from_ptr(frame.wrapping_add(reference as usize * 8 + 2).cast())
            .store(domid, SeqCst);
    }
    // SAFETY: as above.
    unsafe {
        AtomicU32::from_ptr(frame.wrapping_add(reference as usize * 8 + 4).cast())
            .store(u32::try_from(gfn).unwrap(), SeqCst);
    }
    grant_flags(frame, reference).store(flags, SeqCst);
}

/// The 32-bit word `index` of a page.
pub const fn word32(page: *mut u8, index: usize) -> &'static AtomicU32 {
    // SAFETY: inside a simulator page, aligned.
    unsafe { AtomicU32::from_ptr(page.wrapping_add(index * 4).cast()) }
}

/// The aligned `u16` at byte `offset` of a page.
pub const fn at16(page: *mut u8, offset: usize) -> &'static AtomicU16 {
    // SAFETY: inside a simulator page, aligned by the caller.
    unsafe { AtomicU16::from_ptr(page.wrapping_add(offset).cast()) }
}

/// The aligned `u32` at byte `offset` of a page.
pub const fn at32(page: *mut u8, offset: usize) -> &'static AtomicU32 {
    // SAFETY: inside a simulator page, aligned by the caller.
    unsafe { AtomicU32::from_ptr(page.wrapping_add(offset).cast()) }
}

/// The aligned `u64` at byte `offset` of a page.
pub const fn at64(page: *mut u8, offset: usize) -> &'static AtomicU64 {
    // SAFETY: inside a simulator page, aligned by the caller.
    unsafe { AtomicU64::from_ptr(page.wrapping_add(offset).cast()) }
}

/// Raw hypercall result of a call the wrappers do not offer.
pub fn raw(hv: &SimVcpu, op: u32, args: &[usize]) -> isize {
    // SAFETY: callers pass null or live structures.
    unsafe { hv.hypercall(op, args) }
}
