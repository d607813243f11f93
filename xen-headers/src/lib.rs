// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Xen public ABI in Rust, as the three drivers use it: hypercall numbers, `repr(C)`
//! structures and constants, one module per Xen public header.
//!
//! This is the bottom of the layering: no dependencies, `no_std`, nothing but data. It follows
//! Xen 4.17 (`__XEN_LATEST_INTERFACE_VERSION__` 0x00040e00) for the x86_64 ABI, which is the ABI
//! of an x64 Windows guest once `unsigned long` is read as 64-bit (`xen_ulong_t` and `xen_pfn_t`
//! are 64-bit there, as Xen expects).
//!
//! Naming: a C type `struct evtchn_bind_virq` becomes [`event_channel::EvtchnBindVirq`]; fields
//! keep their C names (`ref` is spelled `ref_`); constants keep their C spelling in upper case
//! (`EVTCHNOP_send` becomes [`event_channel::EVTCHNOP_SEND`], `__HYPERVISOR_memory_op` becomes
//! [`xen::HYPERVISOR_MEMORY_OP`]).
//!
//! Every size, field offset and constant here is checked against Xen's own C headers by the
//! `xen-abi-check` crate (`scripts/check-xen-abi`), from one table.

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

pub mod errno;
pub mod event_channel;
pub mod features;
pub mod grant_table;
pub mod hvm;
pub mod io;
pub mod memory;
pub mod sched;
pub mod vcpu;
pub mod version;
pub mod xen;
