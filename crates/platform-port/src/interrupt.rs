// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Interrupt objects the FDO hands to a subsystem.
//!
//! Upstream's FDO turns its translated resources into `XENBUS_INTERRUPT` objects
//! (`FdoAllocateInterrupt`): one latched per-CPU message-signalled interrupt per processor (the
//! Xen upcall vector of that vCPU) and one level-sensitive line interrupt (the platform PCI
//! device's `INTx`, Xen's "callback via"). A subsystem needs three things from such an object:
//! the vector (to program `HVMOP_set_evtchn_upcall_vector`), the line (for
//! `HVM_PARAM_CALLBACK_IRQ`) and a way to run code under the interrupt's spin lock at its
//! synchronize IRQL (`KeAcquireInterruptSpinLock`), so that code is serialized with the ISR.
//!
//! The ISR itself is not part of the object: the glue's interrupt service routine calls the
//! subsystem's own entry point (for EVTCHN, `Evtchn::interrupt(cpu)`) with the interrupt lock
//! held, as the kernel does.

/// How an interrupt is triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptMode {
    /// Edge-triggered message-signalled (`Latched`): the per-CPU upcall vectors.
    Latched,
    /// Level-triggered line (`LevelSensitive`): the platform device's `INTx`.
    LevelSensitive,
}

/// One connected interrupt.
pub trait Interrupt: Send + Sync {
    /// The IDT vector it is delivered on (`FdoGetInterruptVector`: a stored value). IRQL: any.
    fn vector(&self) -> u8;
    /// The line (GSI) it is wired to (`FdoGetInterruptLine`: a stored value). IRQL: any.
    fn line(&self) -> u32;
    /// Runs `f` with the interrupt's spin lock held at its synchronize IRQL
    /// (`FdoAcquireInterruptLock` / `FdoReleaseInterruptLock`, i.e.
    /// `KeAcquireInterruptSpinLock`), so `f` never runs concurrently with the ISR. `f` must not
    /// take this lock again.
    ///
    /// IRQL: `<= DIRQL`, the interrupt's synchronize IRQL (`KeAcquireInterruptSpinLock`,
    /// `KeSynchronizeExecution`); `f` runs at that DIRQL, where nothing may wait, allocate,
    /// map or take a `DISPATCH_LEVEL` lock.
    fn synchronize(&self, f: &mut dyn FnMut());
}

/// Allocates interrupt objects from the FDO's resources.
pub trait Interrupts: Send + Sync {
    /// The interrupt type.
    type Interrupt: Interrupt + 'static;
    /// An interrupt of `mode` targeted at processor index `cpu`, or `None` when the FDO has no
    /// such resource (`FdoAllocateInterrupt` returning NULL). Dropping it frees it
    /// (`FdoFreeInterrupt`).
    ///
    /// IRQL: `<= DISPATCH_LEVEL`, for both. Upstream connects every interrupt
    /// (`IoConnectInterruptEx`, `PASSIVE_LEVEL`) when the FDO starts; `FdoAllocateInterrupt` and
    /// `FdoFreeInterrupt` only pick one from that list and set or clear its callback under its
    /// interrupt lock (`KeAcquireInterruptSpinLock`: `<= DIRQL` of that interrupt), and EVTCHN
    /// calls them holding its own spin lock. The DIRQL is not known before the interrupt is
    /// chosen, and every DIRQL is above `DISPATCH_LEVEL`, so `DISPATCH_LEVEL` is the bound
    /// that holds for any interrupt (the stricter one).
    fn allocate_interrupt(&self, mode: InterruptMode, cpu: u32) -> Option<Self::Interrupt>;
}
