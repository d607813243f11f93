// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The platform port ([`platform_port`]) over the Windows kernel: what xenbus.sys's subsystems
//! and xen.sys's exports get when they run on Windows.
//!
//! Layering: between the kernel bindings (`ntddk`, raw-dylib imports) and the portable crates.
//! Each service is the kernel routine its trait method names, nothing more; every decision
//! stays in the portable crates. The Windows half (`cfg(windows)`) builds only for the images'
//! target; what can be expressed without the kernel is portable and tested on the host:
//!
//! | module          | what                                                                  |
//! |-----------------|-----------------------------------------------------------------------|
//! | [`convert`]     | durations to kernel times, NTSTATUS to [`platform_port::PortError`], registry paths and values, log lines |
//! | [`resources`]   | interrupt resources to `IoConnectInterruptEx` parameters               |
//! | [`sync`]        | upstream's `sync.c` protocol: capture, interrupts off, early, on, late |
//!
//! With `cfg(windows)`: [`Kernel`] (IRQL, processors, port I/O, clock: the part xen.sys shares),
//! [`WindowsPlatform`] (every [`platform_port::Platform`] service plus
//! [`platform_port::Rendezvous`]) and [`WindowsInterrupts`] ([`platform_port::Interrupts`] over
//! the FDO's connected interrupts). Each method checks the IRQL its Windows routine documents and
//! stops the machine with `ntddk::runtime::fatal` when a caller breaks it, as Driver Verifier
//! would.

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
#[cfg(test)]
extern crate std;

pub mod convert;
pub mod resources;
pub mod sync;

#[cfg(windows)]
mod deferred;
#[cfg(windows)]
mod event;
#[cfg(windows)]
mod interrupt;
#[cfg(windows)]
mod kernel;
#[cfg(windows)]
pub mod memory;
#[cfg(windows)]
mod platform;
#[cfg(windows)]
mod registry;
#[cfg(windows)]
mod rendezvous;
#[cfg(windows)]
mod self_test;
#[cfg(windows)]
mod thread;

#[cfg(windows)]
pub use deferred::{WindowsDpc, WindowsTimer};
#[cfg(windows)]
pub use event::WindowsEvent;
#[cfg(windows)]
pub use interrupt::{InterruptService, WindowsInterrupt, WindowsInterrupts};
#[cfg(windows)]
pub use kernel::{Kernel, require_at_most, resolve_routines, system_routine};
#[cfg(windows)]
pub use platform::{LogSink, WindowsPlatform, debugger_sink};
#[cfg(windows)]
pub use self_test::self_test;
#[cfg(windows)]
pub use thread::WindowsThread;
