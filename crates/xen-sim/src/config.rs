// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What the simulated platform looks like at creation.

use std::time::Duration;
use xen_headers::xen::DomId;

/// Creation parameters.
#[derive(Clone, Debug)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches of the simulated platform, not a state machine"
)]
pub struct SimConfig {
    /// vCPUs of the guest.
    pub vcpus: u32,
    /// Grant frames the guest may have (`xl`'s `max_grant_frames`, 64 by default in 4.17).
    pub max_grant_frames: u32,
    /// The guest's domain id.
    pub domid: DomId,
    /// The backend domain (the toolstack, xenstored, xenconsoled and [`Peer`](crate::Peer)).
    pub backend_domid: DomId,
    /// Highest event-channel port (`xl`'s `max_event_channels` - 1: 1023 by default).
    pub max_evtchn_port: u32,
    /// Pages the guest may hold (`XENMEM_maximum_reservation`).
    pub max_pages: u64,
    /// A PVH guest (no emulated interrupt controllers: the callback vector cannot be turned
    /// off), else HVM.
    pub pvh: bool,
    /// After the k-th suspend the toolstack binds the store and console channels at ports
    /// 1 + k * shift and 2 + k * shift (0: lowest free ports, as after creation).
    pub resume_port_shift: u32,
    /// `XENVER_extraversion`.
    pub extra_version: String,
    /// `XENVER_get_features` submap 0.
    pub features: u32,
    /// Whether a domU may use `CONSOLEIO_write` (a debug build of Xen allows it).
    pub guest_console_io: bool,
    /// Whether vCPUs other than 0 start initialised and up, as in a booted guest OS (true), or
    /// down and never initialised until `VCPUOP_initialise` and `VCPUOP_up`, as at domain
    /// creation (false: what a PVH kernel sees).
    pub secondary_vcpus_up: bool,
    /// Whether the toolstack sets up the store and console (rings, channels, HVM parameters,
    /// grant entries 0 and 1), as for a domU; the hardware domain has none.
    pub toolstack: bool,
    /// Longest a `SCHEDOP_block`/`SCHEDOP_poll` without a deadline waits before returning
    /// (Xen allows spurious wake-ups; a test never hangs).
    pub wait_limit: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            vcpus: 1,
            max_grant_frames: 64,
            domid: 1,
            backend_domid: 0,
            max_evtchn_port: 1023,
            max_pages: 262_144,
            pvh: false,
            resume_port_shift: 2,
            extra_version: ".0".to_owned(),
            // hvm_callback_vector, hvm_safe_pvclock, hvm_pirqs.
            features: (1 << 8) | (1 << 9) | (1 << 10),
            guest_console_io: false,
            toolstack: true,
            secondary_vcpus_up: true,
            wait_limit: Duration::from_secs(5),
        }
    }
}
