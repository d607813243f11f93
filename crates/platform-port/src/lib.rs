// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The platform port: the OS services the portable XenBus subsystems need, and nothing more.
//!
//! Layering (see the README's layout): `crates/xenbus` and `crates/xenfilt` hold every decision and are
//! `no_std` + `alloc`; they reach the operating system only through the small traits here:
//!
//! | trait          | Windows kernel primitive it stands for                                  |
//! |----------------|-------------------------------------------------------------------------|
//! | [`Irql`]       | `KeGetCurrentIrql`, `KeRaiseIrql`, `KeLowerIrql`                         |
//! | [`Processors`] | `KeGetCurrentProcessorNumberEx`, `KeQueryMaximumProcessorCountEx`        |
//! | [`Events`]     | `KEVENT` (notification and synchronization), `KeWaitForSingleObject`     |
//! | [`Deferred`]   | `KDPC` targeted at a processor (`KeSetTargetProcessorDpcEx`)             |
//! | [`Timers`]     | `KTIMER` + `KDPC` (`KeSetTimerEx`, `KeCancelTimer`)                      |
//! | [`Threads`]    | `PsCreateSystemThread` + wait on the thread object                       |
//! | [`Memory`]     | `MmAllocateContiguousMemory`, `MmGetPhysicalAddress`, `MmMapIoSpace`     |
//! | [`PortIo`]     | `READ_PORT_UCHAR` / `WRITE_PORT_USHORT` / ...                            |
//! | [`Registry`]   | `ZwOpenKey`/`ZwQueryValueKey`/`ZwSetValueKey`/`ZwDeleteValueKey`/...      |
//! | [`Log`]        | xen.sys's leveled log (`LogPrintf`)                                      |
//! | [`Clock`]      | `KeQuerySystemTime`, `KeStallExecutionProcessor`                         |
//! | [`Rendezvous`] | upstream's `sync.c`: every processor captured by DPCs, then `HIGH_LEVEL` |
//!
//! [`Platform`] bundles them. Each method maps onto one or two kernel calls, so the Windows
//! implementation (in the glue) is mechanical. The `std` feature adds [`std_impl::StdPlatform`]
//! for host tests, where threads stand in for processors and the IRQL is tracked per thread.
//!
//! Every method states its IRQL contract: the documented requirement of the Windows routine it
//! stands for (see [`IrqlLevel`]). `StdPlatform` enforces each one as Driver Verifier would,
//! panicking with `IRQL rule broken: ...` and the caller's location, and counts the checks
//! ([`std_impl::irql_contracts_checked`], [`std_impl::irql_violations`]).
//!
//! On top of the traits this crate builds the portable pieces every subsystem shares:
//! [`IrqlLock`] (upstream's spin locks taken at `DISPATCH_LEVEL` or `HIGH_LEVEL`) and
//! [`worker::Worker`] (upstream's `XENBUS_THREAD`: a thread with a wake event and an alert flag).

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod interrupt;
mod lock;
pub mod rendezvous;
mod traits;
pub mod worker;

#[cfg(feature = "std")]
pub mod std_impl;

pub use interrupt::{Interrupt, InterruptMode, Interrupts};
pub use lock::{IrqlGuard, IrqlLock, LevelLock, RaisedIrql};
pub use rendezvous::{Rendezvous, RendezvousPlan};
pub use traits::*;
