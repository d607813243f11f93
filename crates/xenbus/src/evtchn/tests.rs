// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Unit tests of the pure pieces; the subsystem's behaviour is proven on the simulator in
//! `tests/evtchn.rs`.

use core::ptr::NonNull;
use std::sync::Arc;

use platform_port::std_impl::{StdInterrupts, StdPlatform};
use platform_port::{Deferred, Irql, RegValue};
use xen::services::Direct;
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_sim::{Sim, SimConfig, SimVcpu};

use crate::shared_info::{ProcessorVcpu, SharedInfo};

use super::*;

#[test]
fn counts_compare_as_serial_numbers_across_the_wrap() {
    assert!(count_reached(5, 5));
    assert!(count_reached(5, 6));
    assert!(!count_reached(6, 5));
    // Just after the wrap: waiting for 1 while the count is 0xFFFF_FFFF is not done...
    assert!(!count_reached(1, u32::MAX));
    // ...and a count that wrapped past the target is.
    assert!(count_reached(u32::MAX, 1));
    assert!(count_reached(u32::MAX.wrapping_add(1), 0));
    // Half the space apart: the target is behind (reached).
    assert!(count_reached(0, 1 << 31));
    assert!(!count_reached(0, (1 << 31) + 1));
}

#[test]
fn registry_switches_default_to_on_and_zero_turns_them_off() {
    let platform = StdPlatform::new(1);
    assert_eq!(
        EvtchnConfig::from_registry(&platform, PARAMETERS_KEY),
        EvtchnConfig::default()
    );
    platform
        .write_value(PARAMETERS_KEY, "UseEvtchnFifoAbi", RegValue::Dword(0))
        .unwrap();
    platform
        .write_value(PARAMETERS_KEY, "UseEvtchnUpcall", RegValue::Dword(7))
        .unwrap();
    assert_eq!(
        EvtchnConfig::from_registry(&platform, PARAMETERS_KEY),
        EvtchnConfig {
            use_fifo_abi: false,
            use_upcall: true
        }
    );
    // A value of another type is unreadable: the default applies.
    platform
        .write_value(PARAMETERS_KEY, "UseEvtchnUpcall", RegValue::Sz("0".into()))
        .unwrap();
    assert!(EvtchnConfig::from_registry(&platform, PARAMETERS_KEY).use_upcall);
}

#[test]
fn errors_map_to_upstream_statuses() {
    assert_eq!(EvtchnError::NoMemory.status(), STATUS_NO_MEMORY);
    assert_eq!(
        EvtchnError::InvalidParameter.status(),
        STATUS_INVALID_PARAMETER
    );
    assert_eq!(EvtchnError::NotSupported.status(), STATUS_NOT_SUPPORTED);
    assert_eq!(EvtchnError::Unsuccessful.status(), STATUS_UNSUCCESSFUL);
    assert_eq!(EvtchnError::Timeout.status(), STATUS_TIMEOUT);
    assert_eq!(EvtchnError::Xen(-5).status(), -5);
}

/// EVTCHN on the simulator.
type SimEvtchn = Evtchn<StdPlatform, Direct<SimVcpu>, StdInterrupts>;

/// An acquired 2-level context on the simulator with the store port open as a FIXED channel.
fn store_channel() -> (Arc<SimEvtchn>, Arc<Channel>, StdPlatform) {
    let sim = Sim::new(SimConfig::default());
    let (platform, _pages) = sim.platform(1);
    let gfn = sim.hole(1);
    // SAFETY: the frame is a hole reserved for this mapping.
    unsafe { xen::memory::add_to_physmap(&sim.vcpu(0), gfn, XENMAPSPACE_SHARED_INFO, 0) }.unwrap();
    let page = NonNull::new(sim.host_ptr(gfn).unwrap()).unwrap();
    let cpus = [ProcessorVcpu {
        vcpu_id: Some(0),
        registered: None,
    }];
    // SAFETY: the simulator keeps the frame mapped for its life; accessed atomically.
    let info = unsafe { SharedInfo::new(page, &cpus) }.unwrap();
    let evtchn = Evtchn::new(
        platform.clone(),
        Arc::new(Direct::new(sim.vcpu(0), 1)),
        StdInterrupts::new(platform.clone()),
        Arc::new(info),
        EvtchnConfig {
            use_fifo_abi: false,
            use_upcall: true,
        },
    )
    .unwrap();
    evtchn.acquire().unwrap();
    let (store, _) = sim.toolstack_ports();
    let channel = evtchn
        .open(
            OpenKind::Fixed {
                port: store,
                auto_mask: false,
            },
            Arc::new(|| false),
            0,
        )
        .unwrap();
    (evtchn, channel, platform)
}

#[test]
fn the_event_count_wraps_and_wait_compares_across_the_wrap() {
    let (evtchn, channel, platform) = store_channel();
    channel.count.store(u32::MAX - 1, Ordering::SeqCst);
    for expected in [u32::MAX, 0, 1] {
        evtchn.trigger(&channel);
        platform.flush_dpcs();
        assert_eq!(evtchn.get_count(&channel), expected);
    }
    // Count is 1, just past the wrap.
    assert_eq!(evtchn.wait(&channel, 1, Some(0)), Ok(()));
    assert_eq!(evtchn.wait(&channel, 0, Some(0)), Ok(()));
    assert_eq!(evtchn.wait(&channel, u32::MAX, Some(0)), Ok(()));
    assert_eq!(evtchn.wait(&channel, 2, Some(0)), Err(EvtchnError::Timeout));
    // Upstream's 64-bit difference would call a target of 1 reached by a count of
    // 0xFFFF_FFFF; here it is not.
    channel.count.store(u32::MAX, Ordering::SeqCst);
    assert_eq!(evtchn.wait(&channel, 1, Some(0)), Err(EvtchnError::Timeout));
    evtchn.close(channel);
    evtchn.release();
}

#[test]
fn high_level_callbacks_and_the_isr_never_lower_the_irql_or_take_dispatch_locks() {
    let (evtchn, channel, platform) = store_channel();
    // The enforcing platform panics on a broken rule. From a callback's level (DIRQL): no
    // raise "down" to DISPATCH_LEVEL.
    let old = platform.raise_irql(platform_port::std_impl::STD_DIRQL);
    assert!(!evtchn.unmask(&channel, true, false));
    evtchn.send_version1(&channel);
    assert_eq!(evtchn.abi_kind(), Some(AbiKind::TwoLevel));
    platform.lower_irql(old);
    // The DEBUG callback at HIGH_LEVEL: the count only, no DISPATCH_LEVEL lock.
    let old = platform.raise_irql(IrqlLevel::HIGH);
    let mut out = alloc::string::String::new();
    evtchn.debug_dump(&mut out, false).unwrap();
    assert_eq!(out, "EVENT CHANNELS: 1 (not listed above DISPATCH_LEVEL)\n");
    // SUSPEND EARLY at HIGH_LEVEL.
    evtchn.suspend_early();
    platform.lower_irql(old);
    assert!(!channel.is_active());
    assert!(channel.stale.load(Ordering::SeqCst));
    assert_eq!(evtchn.table.len(), 0);
    evtchn.close(channel);
    platform.flush_dpcs();
    assert_eq!(evtchn.channel_count(), 0);
    evtchn.release();
}
