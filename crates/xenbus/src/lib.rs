// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xenbus.sys: the bus driver on the Xen platform PCI device. It enumerates PV child devices from
//! xenstore and serves the versioned XENBUS interface tables to their drivers.
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

// Host builds produce a cdylib too; linking one needs std's panic handler and allocator. The
// portable code itself only ever names `core` and `alloc`. `xen_freestanding` is set for the
// whole crate graph when the PVH test kernel (crates/xen-pvh-test) links this crate: that
// kernel brings its own panic handler and allocator.
#[cfg(not(any(windows, xen_freestanding)))]
extern crate std;

extern crate alloc;

pub mod balloon;
pub mod cache;
mod callback_list;
pub mod console;
pub mod debug;
pub mod evtchn;
#[cfg(windows)]
mod glue;
pub mod gnttab;
pub mod hole;
pub mod interface;
pub mod mutex;
pub mod pdo_identity;
pub mod pnp;
pub mod range_set;
pub mod shared_info;
pub mod store;
pub mod subsystems;
pub mod suspend;
pub mod unplug;
