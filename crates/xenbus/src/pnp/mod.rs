// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Plug and Play and power for xenbus.sys, sans-IO.
//!
//! The glue decodes an IRP into a typed request, asks the state machine, and applies the typed
//! outcome. Nothing here touches a device object, so every decision of the C package's `fdo.c`
//! and `pdo.c` is testable on the host.
//!
//! - [`state`]: the Plug and Play and power states, and the dispatcher's rule for deleted
//!   devices.
//! - [`pdo`]: a child PDO's record and requests.
//! - [`fdo`]: the FDO and its bus of PDOs: scan results, bus relations, removal, every PnP IRP.
//! - [`power`]: the FDO's system and device power IRPs.
//! - [`core`]: the active FDO's threads and its D0 entry and exit over the subsystems.
//! - [`bus`]: a child PDO's `BUS_INTERFACE_STANDARD` (its DMA adapter's interface type).
//! - [`dma`]: the DMA adapter interception (`InterceptDmaAdapter`): when, which table version,
//!   the adapter table and the execution routines still owed a call.
//! - [`active`]: which platform device's FDO is the active one.
//! - [`distribution`]: the `drivers/<N>` entries a toolstack reads.
//! - [`toolstack`]: the FDO's xenstore protocol: the scan, `control/shutdown`, the feature flags
//!   and the `drivers/<N>` entry.
//! - [`log_mirror`]: log lines at `ConsoleLogLevel` copied to the PV console.
//! - [`watchdog`]: when the per-processor timer ticks pat the domain watchdog.
//! - [`resources`]: the resource lists of `FILTER_RESOURCE_REQUIREMENTS`, `START` and a PDO's
//!   requirements.

pub mod active;
pub mod bus;
pub mod core;
pub mod distribution;
pub mod dma;
pub mod fdo;
pub mod log_mirror;
pub mod pdo;
pub mod power;
pub mod resources;
pub mod state;
pub mod toolstack;
pub mod watchdog;

#[cfg(test)]
mod tests;
