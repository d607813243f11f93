// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Kernel constants with the WDK's names and values, checked against mingw-w64's DDK headers by
//! `scripts/check-nt-abi`.
//!
//! The few whose documentation says they come from Microsoft's documentation (mingw-w64's
//! headers predate them) are listed by the check as documented-only.
//!
//! Macros keep the type of the field or parameter they go in (`IRP_MJ_*` are `UCHAR`, `DO_*`
//! are `ULONG`, `MDL_*` are `CSHORT`); enumeration values have their enumeration's type.

mod debug;
mod io;
mod ke;
mod mm;
mod pnp;
mod registry;
mod resources;

pub use debug::*;
pub use io::*;
pub use ke::*;
pub use mm::*;
pub use pnp::*;
pub use registry::*;
pub use resources::*;
