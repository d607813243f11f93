// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Kernel data types with the WDK's names and x64 layouts.
//!
//! x64 is LLP64: `ULONG` is 32 bits, pointers and `ULONG_PTR` 64. Field names keep the WDK
//! spelling so a reader can hold them against `wdm.h`; every size, alignment and field offset is
//! checked against mingw-w64's DDK headers by `scripts/check-nt-abi`, except the few places
//! listed there where those headers are older than Microsoft's current layout (the Rust side
//! follows Microsoft's).
//!
//! Conventions:
//! - C unions are Rust `union`s with the WDK member names; the anonymous structures of a
//!   union's members get a name of the form `OUTER_MEMBER` (`IO_STACK_LOCATION_QUERY_INTERFACE`
//!   is the type of `Parameters.QueryInterface`). Where the C union is anonymous, the Rust field
//!   is named after the WDK's `DUMMYUNIONNAME` position (`u`) and documented.
//! - Bit-field words are one integer field with associated mask constants named after the WDK
//!   bit fields (`DEVICE_CAPABILITIES::Removable`).
//! - Padding the WDK gets from `POINTER_ALIGNMENT` (8-byte-aligned members) is an explicit
//!   `PaddingN` field, so offsets stay those of the C structure.
//! - `PFOO` function-pointer typedefs are `Option<FOO>` in structure fields (a NULL pointer is
//!   `None`).
//! - Kernel objects the drivers only hand to kernel routines (`KEVENT`, `KDPC`, `KTIMER`, ...)
//!   are spelled out so the drivers can embed them in their own structures; their fields are
//!   for the kernel.
//! - Objects the drivers only see through pointers and never embed are opaque
//!   ([`FILE_OBJECT`], [`KINTERRUPT`], [`ETHREAD`], ...).

mod basic;
mod dma;
mod io;
mod ke;
mod mm;
mod pnp;
mod ps;
mod registry;
mod resources;

pub use basic::*;
pub use dma::*;
pub use io::*;
pub use ke::*;
pub use mm::*;
pub use pnp::*;
pub use ps::*;
pub use registry::*;
pub use resources::*;
