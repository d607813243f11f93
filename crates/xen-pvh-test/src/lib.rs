// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The parts of the test kernel that are plain data handling, with no machine under them: they
//! compile (and are unit-tested) on the host as well as in the freestanding kernel, which uses
//! them through this library.
//!
//! * [`pci`]: PCI configuration-space enumeration over a [`pci::ConfigSpace`] (the kernel's is
//!   ports `0xCF8`/`0xCFC`), BAR sizing by the write-ones probe, and the PDO-like record a
//!   Windows PnP manager would build per function: its `PCI\VEN_...` IDs and its raw
//!   resources as a `CM_RESOURCE_LIST`; the translated resources the HAL would give it, its
//!   `IO_RESOURCE_REQUIREMENTS_LIST`, and the configuration-space image its record implies
//!   (what the stand-in's PCI bus driver answers with).
//! * [`multiboot`]: the multiboot v1 information an HVM guest's boot sector hands the kernel.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod multiboot;
pub mod pci;
