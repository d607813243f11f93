// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! UNPLUG: children ask that the emulated twins of their PV devices be unplugged at the next
//! boot, learn whether that happened at this boot, and ask for a reboot.
//!
//! Upstream (`unplug.c` + xen.sys's `unplug.c`/`config.c`, spec §5.8 and §1.9):
//! - `Request(type, make)` counts a request up or down in xen.sys's registry value
//!   `XEN\Unplug\{NICS|DISKS}` (`UnplugIncrementValue`/`UnplugDecrementValue`) under a mutex.
//! - `IsRequested(type)` (v2) returns xen.sys's cached boot-time decision (`UnplugGetRequest`).
//! - `BootEmulated()` (v3) is true only for the start option `XEN:BOOT_EMULATED=TRUE`; any value
//!   other than `TRUE`/`FALSE` is logged and counts as false.
//! - `Reboot(module)` (v3) reads `RequestKey` (`REG_SZ`, a path below `HKLM`) from xenbus's
//!   `Parameters` key, creates that key (non-volatile) and a **volatile** sub-key named after the
//!   module holding the `DWORD` `Reboot = 1`; the monitor service watches it and prompts.
//!
//! Decisions: failures of the registry work are logged (upstream ignores them; the interface
//! methods return nothing). A module name that is empty, not text, or contains a `\` (which
//! would name a deeper key) is refused with a log line.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER};
use platform_port::{Events, IrqlLock, Platform, RegValue, plog};
use xen_services::XenServices;

use crate::mutex::EventMutex;

/// The `Parameters` key of the xenbus service (`DriverGetParametersKey`), below `HKLM`.
pub const PARAMETERS_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\xenbus\\Parameters";

/// The start option `BootEmulated` parses.
pub const BOOT_EMULATED_OPTION: &[u8] = b"XEN:BOOT_EMULATED=";

/// xen.sys's `UNPLUG_DISKS`.
const XEN_UNPLUG_DISKS: u32 = 0;
/// xen.sys's `UNPLUG_NICS`.
const XEN_UNPLUG_NICS: u32 = 1;

/// `XENBUS_UNPLUG_DEVICE_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnplugDeviceType {
    /// `XENBUS_UNPLUG_DEVICE_TYPE_NICS`.
    Nics = 1,
    /// `XENBUS_UNPLUG_DEVICE_TYPE_DISKS`.
    Disks = 2,
}

impl UnplugDeviceType {
    /// The type for a C value; `None` for `INVALID` and unknown values.
    #[must_use]
    pub const fn from_raw(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Nics),
            2 => Some(Self::Disks),
            _ => None,
        }
    }

    /// xen.sys's `UNPLUG_TYPE` for it.
    const fn xen_type(self) -> u32 {
        match self {
            Self::Nics => XEN_UNPLUG_NICS,
            Self::Disks => XEN_UNPLUG_DISKS,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Nics => "NICS",
            Self::Disks => "DISKS",
        }
    }
}

/// The xen.sys services UNPLUG needs besides [`XenServices`].
pub trait UnplugSystem: Send + Sync {
    /// `UnplugGetRequest`: whether xen.sys unplugged devices of `xen_type` (0 disks, 1 NICs)
    /// at this boot.
    fn get_request(&self, xen_type: u32) -> bool;
    /// `ConfigQuerySystemStartOption`: calls `found` with the text following `key` in the
    /// system start options and returns true, or returns false when the option is absent.
    fn start_option(&self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> bool;
}

/// An UNPLUG failure (only [`Unplug::reboot`] reports one; the interface method is `VOID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnplugError {
    /// The module name cannot name a registry key.
    InvalidModule,
    /// `RequestKey` is missing or not a string.
    NoRequestKey,
    /// The registry refused an operation.
    Registry(NtStatus),
}

impl UnplugError {
    /// The status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::InvalidModule => STATUS_INVALID_PARAMETER,
            Self::NoRequestKey => ntstatus::STATUS_OBJECT_NAME_NOT_FOUND,
            Self::Registry(status) => status,
        }
    }
}

impl fmt::Display for UnplugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidModule => f.write_str("invalid module name"),
            Self::NoRequestKey => f.write_str("no RequestKey"),
            Self::Registry(status) => write!(f, "registry failure {status:08x}"),
        }
    }
}

/// The UNPLUG context.
pub struct Unplug<P: Platform, S: XenServices> {
    platform: P,
    xen: Arc<S>,
    system: Arc<dyn UnplugSystem>,
    parameters_key: String,
    references: IrqlLock<P, u32>,
    mutex: EventMutex<<P as Events>::Event>,
}

impl<P: Platform, S: XenServices> Unplug<P, S> {
    /// A context; `parameters_key` is xenbus's `Parameters` key (normally [`PARAMETERS_KEY`]).
    pub fn new(
        platform: P,
        xen: Arc<S>,
        system: Arc<dyn UnplugSystem>,
        parameters_key: &str,
    ) -> Self {
        Self {
            references: IrqlLock::dispatch(platform.clone(), 0),
            mutex: EventMutex::new(&platform),
            parameters_key: String::from(parameters_key),
            platform,
            xen,
            system,
        }
    }

    /// `UnplugAcquire` (a counter only).
    ///
    /// # Errors
    /// None; the signature matches every subsystem's.
    pub fn acquire(&self) -> Result<(), UnplugError> {
        let mut references = self.references.lock();
        *references = references.saturating_add(1);
        Ok(())
    }

    /// `UnplugRelease` (a counter only).
    pub fn release(&self) {
        let mut references = self.references.lock();
        *references = references.saturating_sub(1);
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        *self.references.lock()
    }

    /// `UnplugRequest` (PASSIVE): one more (`make`) or one fewer request to unplug `device`
    /// at the next boot.
    pub fn request(&self, device: UnplugDeviceType, make: bool) {
        let _held = self.mutex.lock();
        plog!(
            self.platform,
            Info,
            "UNPLUG: {} ({})",
            device.name(),
            if make { "MAKE" } else { "REVOKE" }
        );
        let result = if make {
            self.xen.unplug_increment_value(device.xen_type())
        } else {
            self.xen.unplug_decrement_value(device.xen_type())
        };
        if let Err(status) = result {
            plog!(
                self.platform,
                Warning,
                "UNPLUG: {} request not recorded ({status:08x})",
                device.name()
            );
        }
    }

    /// `UnplugIsRequested` (v2, PASSIVE): whether xen.sys unplugged `device` at this boot.
    pub fn is_requested(&self, device: UnplugDeviceType) -> bool {
        let _held = self.mutex.lock();
        self.system.get_request(device.xen_type())
    }

    /// `UnplugBootEmulated` (v3, PASSIVE).
    pub fn boot_emulated(&self) -> bool {
        let _held = self.mutex.lock();
        let mut value = false;
        let platform = &self.platform;
        self.system
            .start_option(BOOT_EMULATED_OPTION, &mut |text| match text {
                b"TRUE" => value = true,
                b"FALSE" => {}
                other => plog!(
                    *platform,
                    Warning,
                    "UNPLUG: UNRECOGNIZED VALUE OF XEN:BOOT_EMULATED=: {}",
                    crate::debug::Text(other)
                ),
            });
        value
    }

    /// `UnplugReboot` (v3, PASSIVE): records the reboot request of `module` for the monitor
    /// service. The C method returns nothing; failures are logged and returned here.
    ///
    /// # Errors
    /// [`UnplugError::InvalidModule`], [`UnplugError::NoRequestKey`], or the registry's failure.
    pub fn reboot(&self, module: &[u8]) -> Result<(), UnplugError> {
        let _held = self.mutex.lock();
        let result = self.request_reboot(module);
        if let Err(error) = result {
            plog!(
                self.platform,
                Error,
                "UNPLUG: reboot request for '{}' failed: {error}",
                crate::debug::Text(module)
            );
        }
        result
    }

    fn request_reboot(&self, module: &[u8]) -> Result<(), UnplugError> {
        let module = core::str::from_utf8(module).map_err(|_| UnplugError::InvalidModule)?;
        if module.is_empty() || module.contains('\\') {
            return Err(UnplugError::InvalidModule);
        }
        let request_key = match self.platform.read_value(&self.parameters_key, "RequestKey") {
            Ok(RegValue::Sz(key)) if !key.is_empty() => key,
            _ => return Err(UnplugError::NoRequestKey),
        };
        let registry = |e: platform_port::PortError| UnplugError::Registry(e.status());
        self.platform
            .create_key(&request_key, false)
            .map_err(registry)?;
        let mut sub_key = String::new();
        sub_key
            .try_reserve(
                request_key
                    .len()
                    .saturating_add(module.len())
                    .saturating_add(1),
            )
            .map_err(|_| UnplugError::Registry(ntstatus::STATUS_NO_MEMORY))?;
        sub_key.push_str(&request_key);
        sub_key.push('\\');
        sub_key.push_str(module);
        self.platform.create_key(&sub_key, true).map_err(registry)?;
        self.platform
            .write_value(&sub_key, "Reboot", RegValue::Dword(1))
            .map_err(registry)?;
        plog!(self.platform, Info, "UNPLUG: reboot requested by {module}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_port::std_impl::StdPlatform;
    use platform_port::{LogLevel, Registry};
    use std::sync::Mutex;
    use std::vec::Vec;
    use xen_fake::FakeXen;

    #[derive(Default)]
    struct System {
        requests: [bool; 2],
        option: Option<Vec<u8>>,
        asked: Mutex<Vec<u32>>,
    }

    impl UnplugSystem for System {
        fn get_request(&self, xen_type: u32) -> bool {
            self.asked.lock().unwrap().push(xen_type);
            self.requests[xen_type as usize]
        }
        fn start_option(&self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> bool {
            assert_eq!(key, BOOT_EMULATED_OPTION);
            self.option.as_deref().is_some_and(|v| {
                found(v);
                true
            })
        }
    }

    fn unplug(system: System) -> (StdPlatform, Arc<FakeXen>, Unplug<StdPlatform, FakeXen>) {
        let p = StdPlatform::new(1);
        let xen = Arc::new(FakeXen::default());
        let u = Unplug::new(
            p.clone(),
            Arc::clone(&xen),
            Arc::new(system),
            PARAMETERS_KEY,
        );
        (p, xen, u)
    }

    #[test]
    fn requests_count_up_and_down_per_xen_type() {
        let (_p, xen, u) = unplug(System::default());
        u.request(UnplugDeviceType::Nics, true);
        u.request(UnplugDeviceType::Nics, true);
        u.request(UnplugDeviceType::Disks, true);
        u.request(UnplugDeviceType::Nics, false);
        let counts = xen.unplug.lock().unwrap().clone();
        assert_eq!(counts.get(&XEN_UNPLUG_NICS), Some(&1));
        assert_eq!(counts.get(&XEN_UNPLUG_DISKS), Some(&1));
    }

    #[test]
    fn is_requested_maps_the_interface_type_to_xen_type() {
        let (_p, _xen, u) = unplug(System {
            requests: [true, false],
            ..System::default()
        });
        assert!(u.is_requested(UnplugDeviceType::Disks));
        assert!(!u.is_requested(UnplugDeviceType::Nics));
        assert_eq!(UnplugDeviceType::from_raw(0), None);
        assert_eq!(UnplugDeviceType::from_raw(3), None);
        assert_eq!(UnplugDeviceType::from_raw(1), Some(UnplugDeviceType::Nics));
    }

    #[test]
    fn boot_emulated_is_true_only_for_exact_true() {
        for (option, expected, warned) in [
            (None, false, false),
            (Some(&b"TRUE"[..]), true, false),
            (Some(b"FALSE"), false, false),
            (Some(b"true"), false, true),
            (Some(b"1"), false, true),
        ] {
            let (p, _xen, u) = unplug(System {
                option: option.map(<[u8]>::to_vec),
                ..System::default()
            });
            assert_eq!(u.boot_emulated(), expected, "{option:?}");
            let warning = p
                .log_lines()
                .iter()
                .any(|(l, t)| *l == LogLevel::Warning && t.contains("UNRECOGNIZED"));
            assert_eq!(warning, warned, "{option:?}");
        }
    }

    #[test]
    fn reboot_creates_a_volatile_module_key_with_reboot_1() {
        let (p, _xen, u) = unplug(System::default());
        let request = "SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Request";
        p.write_value(PARAMETERS_KEY, "RequestKey", RegValue::Sz(request.into()))
            .unwrap();
        u.reboot(b"xenvif").unwrap();
        let sub = alloc::format!("{request}\\xenvif");
        assert_eq!(p.read_dword(&sub, "Reboot"), Ok(1));
        assert_eq!(p.registry().is_volatile(&sub), Some(true));
        assert_eq!(p.registry().is_volatile(request), Some(false));
    }

    #[test]
    fn reboot_without_request_key_or_with_a_bad_module_changes_nothing() {
        let (p, _xen, u) = unplug(System::default());
        assert_eq!(u.reboot(b"xenvif"), Err(UnplugError::NoRequestKey));
        p.write_value(PARAMETERS_KEY, "RequestKey", RegValue::Sz("R".into()))
            .unwrap();
        for bad in [&b""[..], b"a\\b", b"\xff"] {
            assert_eq!(u.reboot(bad), Err(UnplugError::InvalidModule));
        }
        assert_eq!(p.subkeys("R"), Err(platform_port::PortError::NotFound));
        assert!(
            p.log_lines()
                .iter()
                .any(|(l, t)| *l == LogLevel::Error && t.contains("reboot request"))
        );
    }

    #[test]
    fn acquire_and_release_only_count() {
        let (_p, _xen, u) = unplug(System::default());
        u.acquire().unwrap();
        u.acquire().unwrap();
        u.release();
        assert_eq!(u.references(), 1);
    }
}
