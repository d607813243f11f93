// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Time: `KeQueryInterruptTime`, `KeQuerySystemTimePrecise`, `KeQueryPerformanceCounter`, and
//! HAL's `KeStallExecutionProcessor`.
//!
//! All read `nt::clock` (the TSC at Xen's frequency). The performance counter counts 100 ns
//! units (10 MHz, as on current Windows) and agrees with the interrupt time. Any IRQL; checked:
//! a NULL `CurrentTime`, and stalls of more than a second (Microsoft asks for at most 50 µs;
//! a second is a driver waiting in a busy loop where it should wait on an object).

use crate::nt::clock;
use crate::nt::verifier;

/// `KeQueryPerformanceCounter`'s frequency: 10 MHz.
const PERFORMANCE_FREQUENCY: i64 = 10_000_000;
/// The longest stall accepted (microseconds).
const MAX_STALL: u32 = 1_000_000;

/// `ULONGLONG KeQueryInterruptTime(VOID)`: 100 ns units since boot.
pub extern "win64" fn ke_query_interrupt_time() -> u64 {
    let _call = verifier::enter("KeQueryInterruptTime");
    clock::interrupt_time()
}

/// `VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)`: 100 ns units since 1601.
///
/// # Safety
/// `time` is writable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn ke_query_system_time_precise(time: *mut i64) {
    let call = verifier::enter("KeQuerySystemTimePrecise");
    call.require(!time.is_null(), format_args!("CurrentTime is NULL"));
    let now = i64::try_from(clock::system_time()).unwrap_or(i64::MAX);
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { time.write_unaligned(now) };
}

/// `LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)`: the counter;
/// its frequency in `PerformanceFrequency` unless NULL.
///
/// # Safety
/// `frequency` is NULL or writable (the routine's contract).
pub unsafe extern "win64" fn ke_query_performance_counter(frequency: *mut i64) -> i64 {
    let _call = verifier::enter("KeQueryPerformanceCounter");
    if !frequency.is_null() {
        // SAFETY: non-NULL; writable by the routine's contract.
        unsafe { frequency.write_unaligned(PERFORMANCE_FREQUENCY) };
    }
    i64::try_from(clock::interrupt_time()).unwrap_or(i64::MAX)
}

/// `VOID KeStallExecutionProcessor(ULONG MicroSeconds)` (HAL): busy-waits.
pub extern "win64" fn ke_stall_execution_processor(microseconds: u32) {
    let call = verifier::enter("KeStallExecutionProcessor");
    call.require(
        microseconds <= MAX_STALL,
        format_args!(
            "a {microseconds} µs stall: busy-waiting longer than a second (wait on an object \
             or KeDelayExecutionThread instead)"
        ),
    );
    clock::stall(u64::from(microseconds));
}
