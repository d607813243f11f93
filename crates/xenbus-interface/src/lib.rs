// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The XENBUS interface contract: what a child driver gets back from `IRP_MN_QUERY_INTERFACE` on
//! a xenbus PDO.
//!
//! Every served version of every interface is a `repr(C)` table here: the WDM `INTERFACE` header
//! ([`InterfaceHeader`]) followed by `extern "C"` method pointers in the C package's exact slot
//! order, with its GUID and version ([`InterfaceVersion`]). The PDO revision table
//! ([`revision::REVISIONS`]) says which version of each interface a revision promises.
//!
//! Layering: `no_std`, no dependencies, no Windows types. It is the contract the provider
//! (xenbus.sys), xenfilt.sys and Rust child drivers compile against; C child drivers use the
//! matching headers. Method pointers are `extern "C"`, which on x64 Windows is the Microsoft x64
//! convention every C child uses, and on Linux hosts the System V one the host tests use.
//!
//! Naming: a C table `XENBUS_EVTCHN_INTERFACE_V9` is [`evtchn::XenbusEvtchnInterfaceV9`]; a method
//! `EvtchnOpen` is the field `evtchn_open`; constants keep their C names.

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

pub mod balloon;
pub mod cache;
pub mod console;
pub mod debug;
pub mod emulated;
pub mod evtchn;
pub mod gnttab;
pub mod range_set;
pub mod revision;
pub mod shared_info;
pub mod store;
pub mod suspend;
mod types;
pub mod unplug;

pub(crate) use types::{interface_table, interface_version};

pub use types::*;
