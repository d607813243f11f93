// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Former stand-in for xen-headers modules that were not yet filled in; they are now, and this
//! module only re-exports them so that existing `crate::abi::` paths keep compiling.
//!
//! TODO: remove once nothing names `crate::abi` (`export/grant_table.rs` still does); use
//! `xen_headers::` directly.

pub use xen_headers::{event_channel, features, grant_table, hvm, memory, sched, vcpu, version};
