// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `EvtchnReset`: `EVTCHNOP_reset` without losing xenstore and the console.
//!
//! The reset closes every port of the domain, including the two inter-domain channels the
//! toolstack bound at build time. So their peers are queried first, and after the reset both
//! are bound again and the new local ports written back to `HVM_PARAM_STORE_EVTCHN` /
//! `HVM_PARAM_CONSOLE_EVTCHN` (STORE and CONSOLE re-read them in their LATE callbacks).
//!
//! Upstream only `ASSERT`s the queries, re-binds and parameter writes. Here each failure is
//! logged at ERROR and that channel is left alone (a peer that cannot be queried is not
//! re-bound; a failed re-bind leaves the parameter unchanged); the other channel and the reset
//! itself go ahead.

use platform_port::{Log, plog};
use xen_headers::hvm::params::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN};
use xen_services::{DomId, XenServices};

/// The two toolstack channels, by HVM parameter and log name.
const TOOLSTACK_CHANNELS: [(u32, &str); 2] = [
    (HVM_PARAM_STORE_EVTCHN, "STORE"),
    (HVM_PARAM_CONSOLE_EVTCHN, "CONSOLE"),
];

/// Resets the event-channel ABI to 2-level with every port closed, then re-binds the store and
/// console channels and publishes their new local ports.
pub fn reset<P: Log + ?Sized, S: XenServices + ?Sized>(platform: &P, services: &S) {
    let mut peers: [Option<(DomId, u32)>; 2] = [None, None];
    for ((param, name), peer) in TOOLSTACK_CHANNELS.iter().zip(peers.iter_mut()) {
        let port = services
            .hvm_get_param(*param)
            .ok()
            .and_then(|value| u32::try_from(value).ok())
            .filter(|&port| port != 0);
        let Some(port) = port else { continue };
        match services.evtchn_query_inter_domain(port) {
            Ok((domain, remote)) => {
                plog!(
                    *platform,
                    Info,
                    "EVTCHN_RESET: {name} ({port}) -> ({domain}:{remote})"
                );
                *peer = Some((domain, remote));
            }
            Err(status) => {
                plog!(
                    *platform,
                    Error,
                    "EVTCHN_RESET: {name} ({port}) query failed ({status:08x})"
                );
            }
        }
    }

    if let Err(status) = services.evtchn_reset() {
        plog!(
            *platform,
            Error,
            "EVTCHN_RESET: reset failed ({status:08x})"
        );
    }
    plog!(*platform, Info, "EVTCHN_RESET: RESET");

    for ((param, name), peer) in TOOLSTACK_CHANNELS.iter().zip(peers) {
        let Some((domain, remote)) = peer else {
            continue;
        };
        match services.evtchn_bind_inter_domain(domain, remote) {
            Ok(port) => {
                if let Err(status) = services.hvm_set_param(*param, u64::from(port)) {
                    plog!(
                        *platform,
                        Error,
                        "EVTCHN_RESET: {name} parameter write failed ({status:08x})"
                    );
                }
                plog!(
                    *platform,
                    Info,
                    "EVTCHN_RESET: {name} ({domain}:{remote}) -> {port}"
                );
            }
            Err(status) => {
                plog!(
                    *platform,
                    Error,
                    "EVTCHN_RESET: {name} ({domain}:{remote}) re-bind failed ({status:08x})"
                );
            }
        }
    }
}
