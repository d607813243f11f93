// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Windows kernel as the three driver images see it: the types, constants and routines they
//! use, with the WDK's spellings, and the runtime every image needs (pool allocator, panic
//! handler, the few symbols the precompiled `core` references).
//!
//! Layering: the bottom of the Windows glue (see the README's layout). The types and constants
//! are plain `repr(C)` data and build on every target, so the layout check
//! (`scripts/check-nt-abi`) can compare them with mingw-w64's DDK headers compiled for x64
//! Windows. The routines ([`routines`]) and the runtime ([`runtime`]) exist only when building
//! for Windows.
//!
//! # Backends
//!
//! By default kernel routines are imported with `raw-dylib` from `ntoskrnl.exe` and `HAL.dll`:
//! rustc writes the import table itself, so the images link on Linux with `rust-lld` and no
//! import library. With the `wdk` feature (a Windows host with the WDK) the same declarations
//! link through the WDK's import libraries and the allocator and panic handler come from
//! `wdk-alloc` and `wdk-panic`; everything else is shared. The difference is the
//! `runtime::backend` module and one `cfg_attr` per import block.

#![no_std]
#![allow(non_snake_case, non_camel_case_types, non_upper_case_globals)]
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

pub mod consts;
pub mod irql;
pub mod stack;
pub mod types;

#[cfg(windows)]
extern crate alloc;

#[cfg(all(windows, target_arch = "x86_64"))]
pub mod port;
#[cfg(windows)]
pub mod registry;
#[cfg(windows)]
pub mod routines;
#[cfg(windows)]
pub mod runtime;

pub use consts::*;
pub use ntstatus::*;
pub use types::*;
