// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys: the only component that talks to Xen directly. It detects the hypervisor, issues
//! hypercalls and exports the C ABI (HVM, memory, event channel, grant table, sched, version,
//! unplug, log, config) that xenbus.sys and xenfilt.sys import by name.
//!
//! Its other services are decided by portable modules too, each sans-IO over typed inputs:
//! [`acpi`] (the MADT), [`system`] (processors, `vcpu_info`, memory map, RTC), [`bug_check`],
//! [`filters`] (class `UpperFilters`), [`config`] (active device, reboot requests), [`module`]
//! (the loaded-module list) and [`process`] (the page-table hint); `docs/xen-services.md`
//! summarises them and how they differ from upstream.
//!
//! Layering: the portable core of this crate is `#![no_std]` + `alloc` and is tested on Linux;
//! the Windows entry points live in the `cfg(windows)` module `glue`, which holds no decisions
//! of its own.

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

// The library names only `core` and `alloc`; `std` is nameable in unit tests only.
#[cfg(test)]
extern crate std;
// Cargo builds the `cdylib` crate type (the .sys on Windows) on every target. On a Linux host
// that artifact is unused (C callers link crates/xen-host's library), but linking it still
// needs std's panic handler and allocator; std is linked anonymously, so no code can name it.
// `xen_freestanding` is set for the whole crate graph when the PVH test kernel
// (crates/xen-pvh-test) links this crate: that kernel brings its own panic handler and
// allocator.
#[cfg(not(any(test, windows, xen_freestanding)))]
extern crate std as _;

extern crate alloc;

#[cfg(windows)]
mod glue;

pub mod acpi;
pub mod bug_check;
pub mod config;
pub mod console;
pub mod event_channel;
pub mod export;
pub mod filters;
pub mod grant_table;
pub mod hvm;
pub mod hypercall;
pub mod log;
pub mod memory;
pub mod module;
pub use start_options as options;
pub mod process;
pub mod registry;
pub mod sched;
pub mod services;
pub mod status;
pub mod system;
pub mod unplug;
pub mod vcpu;
pub mod xen_version;
