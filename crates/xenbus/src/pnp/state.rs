// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Plug and Play and power states of the FDO and its PDOs, and the dispatcher's first rule
//! (the Plug and Play state itself is `pnp-state`'s, shared with xenfilt.sys).

pub use pnp_state::{DevicePnpState, PnpState, deleted_device_answer};

/// A device power state, as the drivers track them (D1 and D2 are never used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePower {
    /// Working.
    D0,
    /// Off.
    D3,
}

/// A system power state (`SYSTEM_POWER_STATE`, S0 = `PowerSystemWorking` = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SystemPower(u32);

impl SystemPower {
    /// S0, working.
    pub const WORKING: Self = Self(1);
    /// S3, sleeping.
    pub const SLEEPING3: Self = Self(4);
    /// S4, hibernate.
    pub const HIBERNATE: Self = Self(5);
    /// S5, shutdown.
    pub const SHUTDOWN: Self = Self(6);

    /// Decodes `SYSTEM_POWER_STATE`; `None` for `PowerSystemUnspecified`, `PowerSystemMaximum`
    /// and anything outside the enumeration.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Option<Self> {
        if raw >= 1 && raw <= 6 {
            Some(Self(raw))
        } else {
            None
        }
    }

    /// The raw `SYSTEM_POWER_STATE` value.
    #[must_use]
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Hibernate or deeper: the device model is rebuilt when the guest comes back.
    #[must_use]
    pub const fn is_hibernate_or_deeper(self) -> bool {
        self.0 >= Self::HIBERNATE.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_power_decoding_refuses_unspecified_and_maximum() {
        assert_eq!(SystemPower::from_raw(0), None);
        assert_eq!(SystemPower::from_raw(7), None);
        assert_eq!(SystemPower::from_raw(u32::MAX), None);
        assert_eq!(SystemPower::from_raw(5), Some(SystemPower::HIBERNATE));
        assert!(SystemPower::SHUTDOWN.is_hibernate_or_deeper());
        assert!(!SystemPower::SLEEPING3.is_hibernate_or_deeper());
    }
}
