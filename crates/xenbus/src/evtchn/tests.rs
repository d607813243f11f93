// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Unit tests of the pure pieces; the subsystem's behaviour is proven on the simulator in
//! `tests/evtchn.rs`.

use platform_port::RegValue;
use platform_port::std_impl::StdPlatform;

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
