// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The leak audit a subsystem test reads after an injected failure.

/// A leak audit: what the guest still holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Guest ports in use, other than the toolstack's store and console ports.
    pub open_ports: Vec<u32>,
    /// The guest's store and console ports still open.
    pub toolstack_ports: Vec<u32>,
    /// Guest grant references beyond the reserved ones whose entry permits access.
    pub live_grants: Vec<u32>,
    /// Backend mappings of guest grants.
    pub dom0_mappings: usize,
    /// Guest mappings of grants (`GNTTABOP_map_grant_ref`).
    pub guest_grant_maps: usize,
    /// Frames the guest gave back and has not repopulated.
    pub unpopulated_gfns: usize,
    /// FIFO event-array pages.
    pub fifo_pages: usize,
    /// FIFO control blocks.
    pub fifo_control_blocks: usize,
    /// Watchdogs armed.
    pub watchdogs: usize,
}

impl Audit {
    /// Nothing held beyond the toolstack's channels.
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        self.open_ports.is_empty()
            && self.live_grants.is_empty()
            && self.dom0_mappings == 0
            && self.guest_grant_maps == 0
            && self.unpopulated_gfns == 0
            && self.fifo_pages == 0
            && self.fifo_control_blocks == 0
            && self.watchdogs == 0
    }
}
