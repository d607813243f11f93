// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's time: interrupt time, system time and the kernel's shared data page.
//!
//! * **Interrupt time** (100 ns units since boot, what timers and wait timeouts count in) comes
//!   from the time-stamp counter, scaled with the guest TSC frequency Xen publishes in its time
//!   leaf (CPUID `base + 3`, sub-leaf 0, ECX in kHz; sub-leaf 2's host frequency if that is 0).
//!   It is the same counter Xen's own `vcpu_time_info` scales, so it agrees with Xen system
//!   time (the checks compare the two); it needs no `shared_info` mapping, which a driver may
//!   move at any time.
//! * **System time** (100 ns units since 1601) is the interrupt time plus the boot's wall
//!   clock: Xen's (`shared_info.wc_*`) as soon as the stand-in has `shared_info` mapped — read
//!   once, then kept — and until then 2026-01-01 00:00 UTC.
//! * **`KUSER_SHARED_DATA`** (`0xFFFFF780'00000000`, mapped read-only for drivers): what the
//!   `KeQuerySystemTime`, `KeQueryInterruptTime` and `KeQueryTickCount` macros of `wdm.h` read
//!   on x64 instead of calling the kernel (xenbus.sys reads the system time this way).
//!   [`update`] refreshes its `InterruptTime`, `SystemTime` and `TickCount` on every kernel
//!   routine entry and in the idle loop: with interrupts off there is no clock interrupt, so a
//!   driver spinning on the page without calling the kernel sees time stand still.

use super::vm;
use crate::arch;
use alloc::alloc::{Layout, alloc_zeroed};
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use xen_headers::xen::SharedInfo;

/// `KI_USER_SHARED_DATA`.
pub const SHARED_DATA: u64 = ntddk::KI_USER_SHARED_DATA as u64;
/// `KUSER_SHARED_DATA` offsets (x64): `TickCountMultiplier`, `InterruptTime`, `SystemTime`
/// (`KSYSTEM_TIME`s), `ImageNumberLow`/`High`, `NtBuildNumber`, `NtProductType`,
/// `ProductTypeIsValid`, `NtMajorVersion`, `NtMinorVersion`, `TickCount`.
const TICK_COUNT_MULTIPLIER: usize = 0x004;
const INTERRUPT_TIME: usize = 0x008;
const SYSTEM_TIME: usize = 0x014;
const IMAGE_NUMBER: usize = 0x02c;
const NT_BUILD_NUMBER: usize = 0x260;
const NT_PRODUCT_TYPE: usize = 0x264;
const PRODUCT_TYPE_IS_VALID: usize = 0x268;
const NT_MAJOR_VERSION: usize = 0x26c;
const NT_MINOR_VERSION: usize = 0x270;
const TICK_COUNT: usize = 0x320;
/// The clock tick: 15.625 ms (156 250 units of 100 ns), and `TickCountMultiplier` for it
/// (milliseconds per tick as a 8.24 fixed-point number).
pub const TICK: u64 = 156_250;
const MULTIPLIER: u32 = 0x0fa0_0000;
/// 2026-01-01 00:00 UTC in 100 ns units since 1601-01-01, the wall clock until Xen's is known.
const DEFAULT_EPOCH: u64 = 134_116_992_000_000_000;
/// 1970-01-01 (Xen's wall-clock epoch) in 100 ns units since 1601-01-01.
const UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// The TSC frequency in kHz (0 until [`init`]).
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
/// The wall clock at interrupt time 0 (100 ns units since 1601).
static EPOCH: AtomicU64 = AtomicU64::new(DEFAULT_EPOCH);
/// Set once the epoch is Xen's wall clock.
static EPOCH_FROM_XEN: AtomicBool = AtomicBool::new(false);
/// The backing page of `KUSER_SHARED_DATA` (its identity-mapped address; 0 before [`init`]).
static PAGE: AtomicUsize = AtomicUsize::new(0);

/// Reads the TSC frequency from Xen's time leaf and maps `KUSER_SHARED_DATA`. Called once,
/// before the first driver loads.
pub fn init() {
    let base = crate::xen().detected.base;
    // Xen's leaves exist (Xen was detected); CPUID is always available in long mode.
    let leaf = core::arch::x86_64::__cpuid_count(base + 3, 0);
    let mut khz = u64::from(leaf.ecx);
    if khz == 0 {
        khz = u64::from(core::arch::x86_64::__cpuid_count(base + 3, 2).eax);
    }
    if khz == 0 {
        crate::harness::fatal(format_args!(
            "Xen's time leaf {:#x} gives no TSC frequency",
            base + 3
        ));
    }
    TSC_KHZ.store(khz, Ordering::SeqCst);
    crate::kprintln!("NT: TSC at {khz} kHz (Xen's time leaf)");
    let Ok(layout) = Layout::from_size_align(4096, 4096) else {
        return;
    };
    // SAFETY: a non-zero-size layout.
    let page = unsafe { alloc_zeroed(layout) };
    if page.is_null()
        || !vm::map(
            SHARED_DATA,
            page.expose_provenance() as u64,
            1,
            vm::Rights {
                write: false,
                execute: false,
            },
        )
    {
        crate::harness::fatal(format_args!("cannot map KUSER_SHARED_DATA"));
    }
    PAGE.store(page.expose_provenance(), Ordering::SeqCst);
    let (major, minor, build) = super::routines::ke::VERSION;
    write(TICK_COUNT_MULTIPLIER, MULTIPLIER);
    write(IMAGE_NUMBER, 0x8664_8664u32);
    write(NT_BUILD_NUMBER, build);
    write(NT_PRODUCT_TYPE, 1u32);
    write(PRODUCT_TYPE_IS_VALID, 1u8);
    write(NT_MAJOR_VERSION, major);
    write(NT_MINOR_VERSION, minor);
    update();
}

/// Writes the `T` at `offset` of the shared data page (through its kernel alias).
fn write<T>(offset: usize, value: T) {
    let page = PAGE.load(Ordering::SeqCst);
    if page == 0 || offset + size_of::<T>() > 4096 {
        return;
    }
    let p = core::ptr::with_exposed_provenance_mut::<T>(page + offset);
    // SAFETY: inside the page the allocator gave `init` (checked above), which only this module
    // writes; drivers read it through the read-only mapping.
    unsafe { p.write_volatile(value) };
}

/// Stores a `KSYSTEM_TIME` as the kernel does: `High2Time`, `LowPart`, then `High1Time`, so a
/// reader that reads them in the opposite order and compares the high parts never sees a torn
/// value.
fn write_system_time(offset: usize, value: u64) {
    let [l0, l1, l2, l3, h0, h1, h2, h3] = value.to_le_bytes();
    let high = u32::from_le_bytes([h0, h1, h2, h3]);
    write(offset + 8, high);
    core::sync::atomic::fence(Ordering::SeqCst);
    write(offset, u32::from_le_bytes([l0, l1, l2, l3]));
    core::sync::atomic::fence(Ordering::SeqCst);
    write(offset + 4, high);
}

/// Nanoseconds since the TSC started, by Xen's frequency.
pub fn now_ns() -> u64 {
    let khz = TSC_KHZ.load(Ordering::Relaxed).max(1);
    let ns = u128::from(arch::rdtsc()) * 1_000_000 / u128::from(khz);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// Interrupt time: 100 ns units since boot (since the TSC started).
pub fn interrupt_time() -> u64 {
    now_ns() / 100
}

/// System time: 100 ns units since 1601-01-01 UTC.
pub fn system_time() -> u64 {
    sync_wall_clock();
    EPOCH
        .load(Ordering::Relaxed)
        .saturating_add(interrupt_time())
}

/// Takes Xen's wall clock as the epoch, once, when the stand-in has `shared_info` mapped.
fn sync_wall_clock() {
    if EPOCH_FROM_XEN.load(Ordering::Relaxed) {
        return;
    }
    let si = crate::events::SHARED_INFO.load(Ordering::SeqCst);
    if si.is_null() {
        return;
    }
    let field = |offset: usize| -> u32 {
        let p = si.cast::<u32>().wrapping_byte_add(offset);
        // SAFETY: `si` is the shared_info page the stand-in mapped (it stays mapped while the
        // pointer is published); Xen updates the wall clock under `wc_version`.
        unsafe { p.read_volatile() }
    };
    let (version, sec, nsec, sec_hi) = loop {
        let v1 = field(offset_of!(SharedInfo, wc_version));
        core::sync::atomic::fence(Ordering::SeqCst);
        let sec = field(offset_of!(SharedInfo, wc_sec));
        let nsec = field(offset_of!(SharedInfo, wc_nsec));
        let hi = field(offset_of!(SharedInfo, wc_sec_hi));
        core::sync::atomic::fence(Ordering::SeqCst);
        if v1 % 2 == 0 && field(offset_of!(SharedInfo, wc_version)) == v1 {
            break (v1, sec, nsec, hi);
        }
    };
    if version == 0 || (sec == 0 && sec_hi == 0) {
        return;
    }
    // Xen's wall clock is the time at Xen system time 0; its system time and interrupt time
    // both scale this TSC, so their difference is the TSC value at Xen's time 0.
    let wall = (u64::from(sec_hi) << 32 | u64::from(sec))
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(nsec) / 100)
        .saturating_add(UNIX_EPOCH);
    let xen_now = crate::events::now_ns() / 100;
    let offset = interrupt_time().saturating_sub(xen_now);
    EPOCH.store(wall.saturating_sub(offset), Ordering::SeqCst);
    EPOCH_FROM_XEN.store(true, Ordering::SeqCst);
}

/// Refreshes the shared data page's times.
pub fn update() {
    if PAGE.load(Ordering::Relaxed) == 0 {
        return;
    }
    let now = interrupt_time();
    write_system_time(INTERRUPT_TIME, now);
    write_system_time(SYSTEM_TIME, system_time());
    write_system_time(TICK_COUNT, now / TICK);
}

/// Busy-waits `microseconds`.
pub fn stall(microseconds: u64) {
    let end = now_ns().saturating_add(microseconds.saturating_mul(1000));
    while now_ns() < end {
        arch::pause();
    }
}
