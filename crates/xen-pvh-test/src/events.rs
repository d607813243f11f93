// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Upcalls and time: the interrupt handler the suite's event-channel checks observe, the
//! 2-level scan it runs, and Xen system time from the shared `vcpu_time_info`.
//!
//! Shared memory with Xen is touched only through raw pointers with volatile reads or atomics.

use crate::arch::{self, Frame, MAX_CPUS};
use core::mem::offset_of;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering};
use xen_headers::xen::{SharedInfo, VcpuInfo, VcpuTimeInfo};

/// The vector `HVM_PARAM_CALLBACK_IRQ` (type 2) delivers upcalls on.
pub const CALLBACK_VECTOR: u8 = 0xf3;
/// The per-vCPU upcall vector (`HVMOP_set_evtchn_upcall_vector`) of vCPU `n` is this + n.
pub const PER_VCPU_VECTOR: u8 = 0xf4;

/// Words in the 2-level bitmaps.
const WORDS: usize = 64;

/// The mapped `shared_info` page (null until the suite maps it).
pub static SHARED_INFO: AtomicPtr<SharedInfo> = AtomicPtr::new(ptr::null_mut());
/// Where each vCPU's `vcpu_info` is: its `shared_info` slot, or a registered copy.
pub static VCPU_INFO: [AtomicPtr<VcpuInfo>; MAX_CPUS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CPUS];
/// Points the upcall handler, the clock and the stand-in's interrupt source at the
/// `shared_info` page at `gfn` (identity-mapped), where Xen just mapped it: each vCPU's
/// `vcpu_info` is its slot there.
pub fn use_shared_info(gfn: u64) {
    let si =
        ptr::with_exposed_provenance_mut::<SharedInfo>(usize::try_from(gfn << 12).unwrap_or(0));
    SHARED_INFO.store(si, Ordering::SeqCst);
    for (cpu, slot) in VCPU_INFO.iter().enumerate() {
        let vi = si
            .wrapping_byte_add(offset_of!(SharedInfo, vcpu_info))
            .cast::<VcpuInfo>()
            .wrapping_add(cpu);
        slot.store(vi, Ordering::SeqCst);
    }
}

/// Set while the domain uses the FIFO ABI: the handler then skips the 2-level scan.
pub static FIFO: AtomicBool = AtomicBool::new(false);

/// Upcalls taken, per vCPU and per vector (index 0: callback vector, 1: per-vCPU vector).
pub static UPCALLS: [[AtomicU32; 2]; MAX_CPUS] =
    [const { [const { AtomicU32::new(0) }; 2] }; MAX_CPUS];
/// Interrupts on any other vector.
pub static STRAY: AtomicU32 = AtomicU32::new(0);
/// Ports the handler found pending and unmasked, per vCPU (4096 bits each).
static DELIVERED: [[AtomicU64; WORDS]; MAX_CPUS] =
    [const { [const { AtomicU64::new(0) }; WORDS] }; MAX_CPUS];
/// Ports bound to vCPU 1 (the handler on each vCPU takes only its own ports).
static ON_VCPU1: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
/// Commands for the secondary vCPU, run in its upcall handler.
pub static AP_WORK: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

const fn split(port: u32) -> (usize, u64) {
    ((port / 64) as usize, 1 << (port % 64))
}

/// The byte of `vcpu_info` at `vi` that says an upcall is pending.
///
/// # Safety
///
/// `vi` must point to a live `vcpu_info` that stays mapped for the rest of the run.
pub const unsafe fn upcall_pending_flag(vi: *mut VcpuInfo) -> &'static AtomicU8 {
    let p = vi.wrapping_byte_add(offset_of!(VcpuInfo, evtchn_upcall_pending));
    // SAFETY: the caller's guarantee; Xen writes the byte atomically.
    unsafe { AtomicU8::from_ptr(p.cast::<u8>()) }
}

/// The `evtchn_pending_sel` word of the `vcpu_info` at `vi`.
///
/// # Safety
///
/// As [`upcall_pending_flag`].
pub const unsafe fn pending_sel_word(vi: *mut VcpuInfo) -> &'static AtomicU64 {
    let p = vi.wrapping_byte_add(offset_of!(VcpuInfo, evtchn_pending_sel));
    // SAFETY: the caller's guarantee; Xen sets bits with atomic operations.
    unsafe { AtomicU64::from_ptr(p.cast::<u64>()) }
}

/// Word `word` of a 2-level bitmap (`evtchn_pending` or `evtchn_mask`) of the `shared_info` page
/// at `si`.
///
/// # Safety
///
/// `si` must point to the mapped `shared_info` page, which stays mapped, and `word < 64`.
pub const unsafe fn bitmap_word(
    si: *mut SharedInfo,
    mask: bool,
    word: usize,
) -> &'static AtomicU64 {
    let field = if mask {
        offset_of!(SharedInfo, evtchn_mask)
    } else {
        offset_of!(SharedInfo, evtchn_pending)
    };
    let p = si.wrapping_byte_add(field).cast::<u64>().wrapping_add(word);
    // SAFETY: the caller's guarantee; Xen updates the bitmaps with atomic operations.
    unsafe { AtomicU64::from_ptr(p) }
}

/// Records that `port` is now bound to `vcpu` (the 2-level scan needs to know).
pub fn set_binding(port: u32, vcpu: u32) {
    let (word, bit) = split(port);
    if let Some(w) = ON_VCPU1.get(word) {
        if vcpu == 1 {
            w.fetch_or(bit, Ordering::SeqCst);
        } else {
            w.fetch_and(!bit, Ordering::SeqCst);
        }
    }
}

/// Forgets every binding (after `EVTCHNOP_reset`).
pub fn clear_bindings() {
    for w in &ON_VCPU1 {
        w.store(0, Ordering::SeqCst);
    }
}

/// Whether the handler on `cpu` saw `port` since the last call, clearing the record.
pub fn take_delivered(cpu: usize, port: u32) -> bool {
    let (word, bit) = split(port);
    DELIVERED
        .get(cpu)
        .and_then(|d| d.get(word))
        .is_some_and(|w| w.fetch_and(!bit, Ordering::SeqCst) & bit != 0)
}

/// Upcalls taken on `cpu` through vector slot `slot`.
pub fn upcalls(cpu: usize, slot: usize) -> u32 {
    UPCALLS
        .get(cpu)
        .and_then(|c| c.get(slot))
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// The interrupt dispatcher (called from `arch::pvh_interrupt`).
pub fn interrupt(frame: &mut Frame) {
    let vector = frame.vector;
    if vector == 13 && crate::nt::cr8::emulate(frame) {
        return;
    }
    if vector == 14 {
        let address: u64;
        // SAFETY: reading CR2 (the faulting address) has no side effect.
        unsafe {
            core::arch::asm!("mov {}, cr2", out(reg) address, options(nomem, nostack, preserves_flags));
        }
        if let Some(thread) = crate::nt::sched::overflowed(address) {
            crate::harness::fatal(format_args!(
                "thread {thread} overflowed its stack: page fault on its guard page at \
                 {address:#x}, rip {:#x}",
                frame.rip
            ));
        }
    }
    if vector < 32 {
        crate::harness::fatal(format_args!(
            "exception {vector} error {:#x} at rip {:#x} rsp {:#x} on cpu {}",
            frame.error,
            frame.rip,
            frame.rsp,
            arch::cpu_id()
        ));
    }
    let cpu = arch::cpu_id();
    let slot = if vector == u64::from(CALLBACK_VECTOR) {
        0
    } else if (u64::from(PER_VCPU_VECTOR)..u64::from(PER_VCPU_VECTOR) + MAX_CPUS as u64)
        .contains(&vector)
    {
        1
    } else {
        STRAY.fetch_add(1, Ordering::SeqCst);
        return;
    };
    if let Some(counter) = UPCALLS.get(cpu).and_then(|c| c.get(slot)) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    // The per-vCPU vector belongs to the xenbus subsystems once one installed its ISR.
    if slot == 0 || !crate::port::upcall(cpu) {
        upcall(cpu);
    }
    if slot == 1 {
        // Per-vCPU vectors come through the virtual LAPIC; the callback vector does not.
        arch::lapic_eoi();
    }
    if cpu == 1 {
        let work = AP_WORK.swap(ptr::null_mut(), Ordering::SeqCst);
        if !work.is_null() {
            // SAFETY: `AP_WORK` only ever holds `fn()` pointers stored by `run_on_ap`.
            let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(work) };
            f();
        }
    }
}

/// The upcall: acknowledge `evtchn_upcall_pending`, then (2-level ABI) take every pending,
/// unmasked port bound to this vCPU, clearing its pending bit.
fn upcall(cpu: usize) {
    let Some(vi) = VCPU_INFO.get(cpu).map(|p| p.load(Ordering::SeqCst)) else {
        return;
    };
    if vi.is_null() {
        return;
    }
    // SAFETY: `vi` points at this vCPU's live `vcpu_info` (in the mapped shared_info page or a
    // registered page that is never unmapped).
    let pending = unsafe { upcall_pending_flag(vi) };
    pending.store(0, Ordering::SeqCst);
    if FIFO.load(Ordering::SeqCst) {
        return;
    }
    let si = SHARED_INFO.load(Ordering::SeqCst);
    if si.is_null() {
        return;
    }
    // SAFETY: as above.
    let sel = unsafe { pending_sel_word(vi) };
    let mut words = sel.swap(0, Ordering::SeqCst);
    while words != 0 {
        let word = words.trailing_zeros() as usize;
        words &= words - 1;
        if word >= WORDS {
            break;
        }
        // SAFETY: `si` is the mapped shared_info page and `word < 64`.
        let pend = unsafe { bitmap_word(si, false, word) };
        // SAFETY: as above.
        let mask = unsafe { bitmap_word(si, true, word) };
        let mine = ON_VCPU1.get(word).map_or(0, |w| w.load(Ordering::SeqCst));
        let mine = if cpu == 1 { mine } else { !mine };
        let ready = pend.load(Ordering::SeqCst) & !mask.load(Ordering::SeqCst) & mine;
        if ready != 0 {
            pend.fetch_and(!ready, Ordering::SeqCst);
            if let Some(d) = DELIVERED.get(cpu).and_then(|d| d.get(word)) {
                d.fetch_or(ready, Ordering::SeqCst);
            }
        }
    }
}

/// Volatile read of the `T` at byte `offset` of the structure at `base`.
///
/// # Safety
///
/// That field must be readable memory holding a `T`.
unsafe fn read_field<S, T: Copy>(base: *const S, offset: usize) -> T {
    // SAFETY: the caller's guarantee.
    unsafe { base.wrapping_byte_add(offset).cast::<T>().read_volatile() }
}

/// Xen system time in nanoseconds, from this vCPU's `vcpu_time_info` (0 before `shared_info` is
/// mapped).
pub fn now_ns() -> u64 {
    let Some(vi) = VCPU_INFO
        .get(arch::cpu_id())
        .map(|p| p.load(Ordering::SeqCst))
    else {
        return 0;
    };
    if vi.is_null() {
        return 0;
    }
    let t = vi
        .cast_const()
        .wrapping_byte_add(offset_of!(VcpuInfo, time))
        .cast::<VcpuTimeInfo>();
    // SAFETY (for every `read_field` below): `t` is the time record of this vCPU's live
    // vcpu_info, read volatile under Xen's version seqlock.
    loop {
        // SAFETY: see above.
        let v1: u32 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, version)) };
        core::sync::atomic::fence(Ordering::SeqCst);
        // SAFETY: see above.
        let stamp: u64 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, tsc_timestamp)) };
        // SAFETY: see above.
        let system: u64 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, system_time)) };
        // SAFETY: see above.
        let mul: u32 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, tsc_to_system_mul)) };
        // SAFETY: see above.
        let shift: i8 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, tsc_shift)) };
        let tsc = arch::rdtsc();
        core::sync::atomic::fence(Ordering::SeqCst);
        // SAFETY: see above.
        let v2: u32 = unsafe { read_field(t, offset_of!(VcpuTimeInfo, version)) };
        if v1 != v2 || v1 & 1 != 0 {
            continue;
        }
        let mut delta = tsc.wrapping_sub(stamp);
        if shift >= 0 {
            delta <<= shift;
        } else {
            delta >>= -shift;
        }
        let scaled = (u128::from(delta) * u128::from(mul)) >> 32;
        return system.wrapping_add(u64::try_from(scaled).unwrap_or(u64::MAX));
    }
}

/// Spins, opening interrupt windows, until `done()` or `timeout_ns` passes. Before time is
/// available a fixed number of iterations stands in for the timeout.
pub fn wait_for(timeout_ns: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = now_ns();
    let mut spins: u64 = 0;
    loop {
        if done() {
            return true;
        }
        arch::interrupt_window();
        arch::pause();
        spins += 1;
        if start == 0 {
            if spins > 20_000_000 {
                return false;
            }
        } else if now_ns().saturating_sub(start) > timeout_ns {
            return done();
        }
    }
}

/// Runs `f` on vCPU 1 from its upcall handler; the caller then sends it an event.
pub fn run_on_ap(f: fn()) {
    AP_WORK.store(f as *mut (), Ordering::SeqCst);
}
