// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The differential check between the real Xen hypervisor and the simulator (`crates/xen-sim`):
//! every hypercall the PVH test kernel makes on real Xen (recorded by
//! `crates/xen-pvh-test/src/record.rs` in the `xen_transcript` format) is replayed against the
//! simulator, and return codes, argument structures, pending/mask bits, `vcpu_info`, FIFO
//! words, grant entries and page contents must match. A divergence is a simulator bug.
//!
//! Layering: a host-only test tool above `xen-sim`, `xen` and `xen-transcript`. The golden
//! transcript from Xen 4.17 is replayed by `cargo test`; scripts/xen-qemu-test replays the
//! fresh one with the `sim-vs-xen` binary. What is normalized rather than compared is listed,
//! with the reason for each item, in [`normalize`]; docs/sim-vs-xen.md records the findings.

pub mod known;
pub mod names;
pub mod normalize;
pub mod replay;
pub mod transcript;

#[cfg(test)]
mod golden;

pub use replay::{Divergence, Report, replay};
pub use transcript::Transcript;
