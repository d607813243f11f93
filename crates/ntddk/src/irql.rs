// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Interrupt request levels.
//!
//! On x64 the IRQL is the `cr8` register: `KeGetCurrentIrql`,
//! `KeRaiseIrql` and `KeLowerIrql` are inline `cr8` accesses in the WDK's headers, not kernel
//! exports, so they are here rather than among the imported routines.

use crate::types::KIRQL;

/// `PASSIVE_LEVEL`.
pub const PASSIVE_LEVEL: KIRQL = 0;
/// `APC_LEVEL`.
pub const APC_LEVEL: KIRQL = 1;
/// `DISPATCH_LEVEL`.
pub const DISPATCH_LEVEL: KIRQL = 2;
/// `HIGH_LEVEL`.
pub const HIGH_LEVEL: KIRQL = 15;

/// `KeGetCurrentIrql`.
#[cfg(all(windows, target_arch = "x86_64"))]
#[must_use]
#[inline]
pub fn current() -> KIRQL {
    let cr8: u64;
    // SAFETY: reading cr8 has no side effect; kernel images run at CPL 0 where it is allowed.
    unsafe {
        core::arch::asm!("mov {}, cr8", out(reg) cr8, options(nomem, nostack, preserves_flags));
    }
    // The architectural IRQL is the low four bits.
    (cr8 & 0xf) as KIRQL
}

/// `KeRaiseIrql`: raises to `new` and returns the level to restore.
///
/// Raising to a lower level than the current one is a kernel rule broken (Driver Verifier's `IRQL_NOT_GREATER_OR_EQUAL`)
/// and stops the machine.
///
/// # Safety
/// The caller restores the returned level with [`lower`] on this processor, and does nothing at
/// the raised level that its contract forbids there.
#[cfg(all(windows, target_arch = "x86_64"))]
#[must_use]
#[inline]
pub unsafe fn raise(new: KIRQL) -> KIRQL {
    let old = current();
    if new < old {
        crate::runtime::fatal(c"KeRaiseIrql to a lower IRQL", usize::from(new));
    }
    let value = u64::from(new);
    // SAFETY: writing cr8 at CPL 0 sets the task priority; `new` is a valid IRQL not below the
    // current one, so no interrupt the caller relies on being masked is unmasked.
    unsafe {
        core::arch::asm!("mov cr8, {}", in(reg) value, options(nomem, nostack, preserves_flags));
    }
    old
}

/// `KeLowerIrql`: restores a level [`raise`] returned. Lowering to a higher level than the
/// current one stops the machine.
///
/// # Safety
/// `old` is the value a matching [`raise`] on this processor returned.
#[cfg(all(windows, target_arch = "x86_64"))]
#[inline]
pub unsafe fn lower(old: KIRQL) {
    if old > current() {
        crate::runtime::fatal(c"KeLowerIrql to a higher IRQL", usize::from(old));
    }
    let value = u64::from(old);
    // SAFETY: writing cr8 at CPL 0; `old` is the level this processor ran at before the
    // matching raise.
    unsafe {
        core::arch::asm!("mov cr8, {}", in(reg) value, options(nomem, nostack, preserves_flags));
    }
}
