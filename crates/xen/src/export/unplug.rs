// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Unplug*` exports and the load-time request decision behind them.

use super::{
    DRIVER_VERSION, DebugLevel, HighLock, NtStatus, Platform, STATUS_INVALID_PARAMETER,
    STATUS_NOT_SUPPORTED, STATUS_SUCCESS, UnplugKey, debug_message, log_line, platform,
    registry_status,
};
use crate::log::{Level, LogArg};
use crate::unplug::{
    self as logic, BuildVersion, CounterError, RegistryError, UnplugRegistry, UnplugState,
    UnplugType, Veto,
};

/// This boot's decisions (upstream's `UNPLUG_CONTEXT`, under its `HIGH_LOCK`).
static STATE: HighLock<UnplugState> = HighLock::new(UnplugState::new(false, false, false));

/// The platform's `XEN\Unplug`/`XEN\ForceUnplug`/`Enum\XENBUS` access as an [`UnplugRegistry`].
struct PlatformRegistry<'p>(&'p dyn Platform);

impl UnplugRegistry for PlatformRegistry<'_> {
    fn read_force_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
        self.0.read_dword(UnplugKey::ForceUnplug, name)
    }
    fn read_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
        self.0.read_dword(UnplugKey::Unplug, name)
    }
    fn write_unplug(&mut self, name: &str, value: u32) -> Result<(), RegistryError> {
        self.0.write_dword(UnplugKey::Unplug, name, value)
    }
    fn delete_unplug(&mut self, name: &str) -> Result<(), RegistryError> {
        self.0.delete_value(UnplugKey::Unplug, name)
    }
    fn enumerate_xenbus(&mut self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError> {
        self.0.enumerate_xenbus(visit)
    }
}

/// The build announced in the unplug handshake (major, minor, micro; upstream packs them in
/// one byte each).
#[must_use]
pub fn build_version() -> BuildVersion {
    let byte = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    BuildVersion {
        major: byte(DRIVER_VERSION.major),
        minor: byte(DRIVER_VERSION.minor),
        micro: byte(DRIVER_VERSION.micro),
    }
}

/// `UnplugInitialize`: decides both requests from the registry (consuming the one-shot
/// `Unplug` values) and `BootEmulated` from `XEN:BOOT_EMULATED=`, logging as upstream.
pub fn initialize(platform: &dyn Platform) -> UnplugState {
    let mut registry = PlatformRegistry(platform);
    let mut decisions = [None, None];
    for (slot, kind) in decisions.iter_mut().zip(UnplugType::ALL) {
        let d = logic::request_for(&mut registry, kind);
        match d.veto {
            Some(Veto::NoFrontend) => debug_message(
                DebugLevel::Info,
                "UnplugCheckEnumKey",
                b"VETO Unplug %s\n",
                &[LogArg::Str(Some(kind.frontend_name().as_bytes()))],
            ),
            Some(Veto::EnumUnavailable(e)) => debug_message(
                DebugLevel::Error,
                "UnplugCheckEnumKey",
                b"fail1 %08x\n",
                &[LogArg::Int(u64::from(registry_status(e).cast_unsigned()))],
            ),
            None => {}
        }
        if let Some(value) = d.logged_value {
            debug_message(
                DebugLevel::Info,
                "UnplugSetRequest",
                b"%s (%u)\n",
                &[
                    LogArg::Str(Some(kind.value_name().as_bytes())),
                    LogArg::Int(u64::from(value)),
                ],
            );
        }
        *slot = Some(d.request);
    }
    let boot_emulated = super::boolean_start_option(
        platform,
        "UnplugSetBootEmulated",
        crate::options::BOOT_EMULATED,
        crate::options::boot_emulated,
        false,
    );
    let [disks, nics] = decisions;
    let state = UnplugState::new(disks.unwrap_or(false), nics.unwrap_or(false), boot_emulated);
    STATE.with(|s| *s = state);
    state
}

/// Forgets this boot's decisions (`UnplugTeardown`).
pub fn teardown() {
    STATE.with(|s| *s = UnplugState::default());
}

/// `VOID UnplugDevices(VOID)`: the QEMU pre-amble and the requested mask writes, at
/// `HIGH_LEVEL`, logged at WARNING as upstream.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "UnplugDevices")]
pub extern "C" fn unplug_devices() {
    let Some(p) = platform() else {
        return;
    };
    let report = STATE.with(|state| logic::unplug_devices(p, state, build_version()));
    if let Some(message) = report.preamble.message() {
        log_line(Level::WARNING, message.as_bytes());
    }
    for write in report.writes.iter().flatten() {
        log_line(Level::WARNING, write.message().as_bytes());
    }
}

/// The NTSTATUS of a counter failure.
const fn counter_status(error: CounterError) -> NtStatus {
    match error {
        CounterError::Registry(e) => registry_status(e),
        CounterError::WouldGoNegative => STATUS_INVALID_PARAMETER,
    }
}

fn update_counter(
    raw_type: u32,
    function: &str,
    update: fn(&mut PlatformRegistry<'_>, UnplugType) -> Result<u32, CounterError>,
) -> NtStatus {
    let Some(kind) = UnplugType::from_raw(raw_type) else {
        return STATUS_INVALID_PARAMETER;
    };
    let Some(p) = platform() else {
        return STATUS_NOT_SUPPORTED;
    };
    match update(&mut PlatformRegistry(p), kind) {
        Ok(value) => {
            debug_message(
                DebugLevel::Info,
                function,
                b"%s %u\n",
                &[
                    LogArg::Str(Some(kind.value_name().as_bytes())),
                    LogArg::Int(u64::from(value)),
                ],
            );
            STATUS_SUCCESS
        }
        Err(e) => {
            let status = counter_status(e);
            debug_message(
                DebugLevel::Error,
                function,
                b"fail1 (%08x)\n",
                &[LogArg::Int(u64::from(status.cast_unsigned()))],
            );
            status
        }
    }
}

/// `NTSTATUS UnplugIncrementValue(UNPLUG_TYPE Type)`: `XEN\Unplug\<DISKS|NICS>` += 1.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "UnplugIncrementValue")]
#[must_use]
pub extern "C" fn unplug_increment_value(unplug_type: u32) -> NtStatus {
    update_counter(unplug_type, "UnplugIncrementValue", |r, k| {
        logic::increment_value(r, k)
    })
}

/// `NTSTATUS UnplugDecrementValue(UNPLUG_TYPE Type)`: `XEN\Unplug\<DISKS|NICS>` -= 1.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "UnplugDecrementValue")]
#[must_use]
pub extern "C" fn unplug_decrement_value(unplug_type: u32) -> NtStatus {
    update_counter(unplug_type, "UnplugDecrementValue", |r, k| {
        logic::decrement_value(r, k)
    })
}

/// `BOOLEAN UnplugGetRequest(UNPLUG_TYPE Type)`: whether the type is unplugged this boot;
/// unknown types are not.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "UnplugGetRequest")]
#[must_use]
pub extern "C" fn unplug_get_request(unplug_type: u32) -> u8 {
    u8::from(STATE.with(|state| state.request_raw(unplug_type)))
}
