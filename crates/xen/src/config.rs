// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Config: the active-device store and the reboot request behind the `Config*` exports.
//!
//! Pure functions over [`ConfigRegistry`], which the Windows glue implements over
//! `HKLM\SYSTEM\CurrentControlSet\Services\XENFILT\Parameters`, `...\Enum` and the caller's
//! `Parameters` key. (`ConfigQuerySystemStartOption` is decided in [`crate::options`].)
//!
//! # What upstream does (`src/xen/config.c`, `src/common/registry.c`)
//!
//! * `ConfigGetActive(Key)` reads `Active<Key>` (the name formatted into 128 bytes) from
//!   `XENFILT\Parameters` as a string (`REG_SZ`, or the first string of a `REG_MULTI_SZ`) and
//!   returns a pool copy.
//! * `ConfigSetActive` writes `ActiveDeviceID`, `ActiveInstanceID` and
//!   `ActiveLocationInformation` (`REG_SZ`), in that order; `ConfigUpdateActive` writes the last
//!   two only where `ConfigGetActive` fails for them, and never the device id. Both first apply
//!   the legacy-device veto: in a build with a vendor device id `XXXX`, a device id not starting
//!   with `PCI\VEN_5853&DEV_XXXX` (case-insensitive) is refused (`STATUS_UNSUCCESSFUL`) when
//!   `Enum\PCI\VEN_5853&DEV_XXXX&SUBSYS_XXXX5853&REV_01` exists.
//! * `ConfigClearActive` deletes `ActiveDeviceID`, then `ActiveInstanceID`, failing at the first
//!   failure; `ActiveLocationInformation` stays.
//! * `ConfigRequestReboot(ParametersKey, Module)` reads `RequestKey` (a string) from the
//!   caller's key, creates `\Registry\Machine\<RequestKey>` (every component, non-volatile),
//!   then the volatile subkey `<Module>`, and sets its DWORD `Reboot` to 1 (the monitor service
//!   watches the request key).
//!
//! # Where we differ
//!
//! * **Names that do not fit.** Upstream formats value and key names into 128-byte buffers and
//!   silently truncates (only asserting): a long `Key` reads another value, a long `RequestKey`
//!   creates a truncated path. Both are refused here ([`ConfigError::TooLong`]).
//! * **Module names** must be a single, non-empty key name: upstream creates nested keys for a
//!   name with backslashes, where the monitor never looks.
//! * **Validation before writing.** `ConfigSetActive` encodes all three strings before the
//!   first write, so an over-long one fails without leaving a half-written device; registry
//!   failures part-way through still leave the earlier values, as upstream.
//! * **Update.** A stored value is replaced by `ConfigUpdateActive` when it is missing or not a
//!   string (upstream's failed `ConfigGetActive`); any other read failure fails the update
//!   instead of overwriting.
//! * **Handles.** The request key's handle is closed (upstream leaks it); that is the glue's part.
//! * Text is Latin-1 both ways (see [`crate::registry`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;

use crate::registry::{
    REG_MULTI_SZ, REG_SZ, RegistryError, TextError, Value, decode_multi_sz, decode_sz, encode_sz,
};

/// `HKLM\SYSTEM\CurrentControlSet\Services\XENFILT\Parameters`: the canonical active-device
/// store.
pub const ACTIVE_PATH: &str =
    r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\XENFILT\Parameters";
/// `HKLM\SYSTEM\CurrentControlSet\Enum`.
pub const ENUM_PATH: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum";
/// The prefix every absolute machine key path has.
pub const MACHINE_PREFIX: &str = r"\Registry\Machine\";
/// `ActiveDeviceID`.
pub const ACTIVE_DEVICE_ID: &str = "ActiveDeviceID";
/// `ActiveInstanceID`.
pub const ACTIVE_INSTANCE_ID: &str = "ActiveInstanceID";
/// `ActiveLocationInformation`.
pub const ACTIVE_LOCATION_INFORMATION: &str = "ActiveLocationInformation";
/// The value of a caller's `Parameters` key naming the reboot-request key.
pub const REQUEST_KEY: &str = "RequestKey";
/// The DWORD a reboot request sets to 1.
pub const REBOOT_VALUE: &str = "Reboot";
/// The longest name upstream's 128-byte buffers hold (without the terminator).
pub const MAX_NAME_LENGTH: usize = 127;
/// The longest key name the registry accepts.
pub const MAX_KEY_NAME_LENGTH: usize = 255;

/// Why a `Config*` operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The registry failed (missing values are [`RegistryError::NotFound`]).
    Registry(RegistryError),
    /// An argument is unusable (`STATUS_INVALID_PARAMETER`).
    InvalidParameter,
    /// A name or value does not fit (`STATUS_BUFFER_OVERFLOW`).
    TooLong,
    /// The legacy-device veto (`STATUS_UNSUCCESSFUL`).
    Vetoed,
    /// A copy could not be allocated (`STATUS_NO_MEMORY`).
    NoMemory,
}

impl ConfigError {
    /// The NTSTATUS the exports return.
    #[must_use]
    pub const fn ntstatus(self) -> i32 {
        match self {
            Self::Registry(RegistryError::NotFound) => ntstatus::STATUS_OBJECT_NAME_NOT_FOUND,
            Self::Registry(RegistryError::WrongType) | Self::InvalidParameter => {
                ntstatus::STATUS_INVALID_PARAMETER
            }
            Self::Registry(RegistryError::Os(status)) => status,
            Self::TooLong => ntstatus::STATUS_BUFFER_OVERFLOW,
            Self::Vetoed => ntstatus::STATUS_UNSUCCESSFUL,
            Self::NoMemory => ntstatus::STATUS_NO_MEMORY,
        }
    }
}

impl From<TextError> for ConfigError {
    fn from(e: TextError) -> Self {
        match e {
            TextError::TooLarge => Self::TooLong,
            TextError::NoMemory => Self::NoMemory,
        }
    }
}

impl From<RegistryError> for ConfigError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(e)
    }
}

/// A vendor device id: four upper-case hex digits (the build's `VENDOR_DEVICE_ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorDeviceId([u8; 4]);

impl VendorDeviceId {
    /// Parses four upper-case hex digits (what the INF's `VENDOR_DEVICE_ID` is).
    #[must_use]
    pub const fn parse(text: &str) -> Option<Self> {
        const fn hex(b: u8) -> bool {
            matches!(b, b'0'..=b'9' | b'A'..=b'F')
        }
        match *text.as_bytes() {
            [a, b, c, d] if hex(a) && hex(b) && hex(c) && hex(d) => Some(Self([a, b, c, d])),
            _ => None,
        }
    }

    fn digits(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// `PCI\VEN_5853&DEV_XXXX`: the device ids that are the vendor device.
    #[must_use]
    pub fn device_prefix(&self) -> String {
        let mut s = String::from(r"PCI\VEN_5853&DEV_");
        s.push_str(self.digits());
        s
    }

    /// `PCI\VEN_5853&DEV_XXXX&SUBSYS_XXXX5853&REV_01`: its key under `Enum`, present once the
    /// device has ever been seen.
    #[must_use]
    pub fn enum_key(&self) -> String {
        let mut s = self.device_prefix();
        s.push_str("&SUBSYS_");
        s.push_str(self.digits());
        s.push_str("5853&REV_01");
        s
    }
}

/// This build's vendor device id: `VENDOR_DEVICE_ID` from the build environment when it is four
/// upper-case hex digits, as the INF generator takes it; none otherwise (no veto).
pub const VENDOR_DEVICE_ID: Option<VendorDeviceId> = match option_env!("VENDOR_DEVICE_ID") {
    Some(text) => VendorDeviceId::parse(text),
    None => None,
};

/// The registry the `Config*` exports use.
pub trait ConfigRegistry {
    /// Calls `visit` with value `name` of `XENFILT\Parameters`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn read_active(
        &self,
        name: &str,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError>;
    /// Writes `REG_SZ` value `name` of `XENFILT\Parameters` (`data` is the encoded string).
    ///
    /// # Errors
    /// As the registry reports it.
    fn write_active(&self, name: &str, data: &[u8]) -> Result<(), RegistryError>;
    /// Deletes value `name` of `XENFILT\Parameters`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn delete_active(&self, name: &str) -> Result<(), RegistryError>;
    /// Whether key `Enum\<path>` exists.
    ///
    /// # Errors
    /// As the registry reports it (other than a missing key, which is `Ok(false)`).
    fn enum_key_exists(&self, path: &str) -> Result<bool, RegistryError>;
    /// Calls `visit` with value [`REQUEST_KEY`] of the caller's open key `parameters_key`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn read_request_key(
        &self,
        parameters_key: *mut c_void,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError>;
    /// Creates the request: every component of `request.path` under `\Registry\Machine`
    /// (non-volatile), then `request.module` under it (volatile), then DWORD
    /// [`REBOOT_VALUE`] = 1 in that key.
    ///
    /// # Errors
    /// As the registry reports it.
    fn create_reboot_request(&self, request: &RebootRequest) -> Result<(), RegistryError>;
}

/// Single-byte text as a `&str`-able name (Latin-1).
fn latin1(text: &[u8]) -> Result<String, ConfigError> {
    let mut s = String::new();
    s.try_reserve(text.len().saturating_mul(2))
        .map_err(|_| ConfigError::NoMemory)?;
    s.extend(text.iter().map(|&b| char::from(b)));
    Ok(s)
}

/// `Active<Key>`.
///
/// # Errors
/// [`ConfigError::TooLong`] beyond [`MAX_NAME_LENGTH`] bytes, [`ConfigError::NoMemory`].
pub fn active_value_name(key: &[u8]) -> Result<String, ConfigError> {
    let key = key.split(|&b| b == 0).next().unwrap_or_default();
    if "Active".len().saturating_add(key.len()) > MAX_NAME_LENGTH {
        return Err(ConfigError::TooLong);
    }
    let mut name = String::from("Active");
    name.push_str(&latin1(key)?);
    Ok(name)
}

/// A stored string: `REG_SZ`, or the first string of a `REG_MULTI_SZ` (empty if none), as
/// upstream's `RegistryQuerySzValue` reads it.
///
/// # Errors
/// [`ConfigError::Registry`] with [`RegistryError::WrongType`] for other types,
/// [`ConfigError::TooLong`], [`ConfigError::NoMemory`].
pub fn decode_string(value: Value<'_>) -> Result<Vec<u8>, ConfigError> {
    match value.kind {
        REG_SZ => Ok(decode_sz(value.data)?),
        REG_MULTI_SZ => {
            let first = decode_multi_sz(value.data)?
                .into_iter()
                .next()
                .unwrap_or_default();
            let mut out = Vec::new();
            out.try_reserve_exact(first.len())
                .map_err(|_| ConfigError::NoMemory)?;
            out.extend(first.iter().map(|&u| u8::try_from(u).unwrap_or(b'?')));
            Ok(out)
        }
        _ => Err(ConfigError::Registry(RegistryError::WrongType)),
    }
}

/// `ConfigGetActive(Key)`: the string stored as `Active<Key>`.
///
/// # Errors
/// [`ConfigError`]: missing values are `Registry(NotFound)`.
pub fn get_active<R: ConfigRegistry + ?Sized>(
    registry: &R,
    key: &[u8],
) -> Result<Vec<u8>, ConfigError> {
    let name = active_value_name(key)?;
    let mut result = Err(ConfigError::Registry(RegistryError::NotFound));
    registry.read_active(&name, &mut |v| result = decode_string(v))?;
    result
}

/// Whether `text` starts with `prefix`, ignoring ASCII case (`_strnicmp`).
fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The legacy-device veto for `device_id` in a build with vendor device id `vendor`.
///
/// # Errors
/// [`ConfigError::Vetoed`] when `device_id` is not the vendor device and the vendor device has
/// been seen on this machine. A failure to look is taken as "not seen", as upstream.
pub fn legacy_veto<R: ConfigRegistry + ?Sized>(
    registry: &R,
    vendor: Option<VendorDeviceId>,
    device_id: &[u8],
) -> Result<(), ConfigError> {
    let Some(vendor) = vendor else {
        return Ok(());
    };
    let legacy = !starts_with_ignore_case(device_id, vendor.device_prefix().as_bytes());
    if legacy
        && registry
            .enum_key_exists(&vendor.enum_key())
            .unwrap_or(false)
    {
        return Err(ConfigError::Vetoed);
    }
    Ok(())
}

/// `ConfigSetActive`: the veto, then all three values in upstream's order.
///
/// # Errors
/// [`ConfigError`]; nothing is written when the veto or an encoding fails.
pub fn set_active<R: ConfigRegistry + ?Sized>(
    registry: &R,
    vendor: Option<VendorDeviceId>,
    device_id: &[u8],
    instance_id: &[u8],
    location: &[u8],
) -> Result<(), ConfigError> {
    legacy_veto(registry, vendor, device_id)?;
    let values = [
        (ACTIVE_DEVICE_ID, encode_sz(device_id)?),
        (ACTIVE_INSTANCE_ID, encode_sz(instance_id)?),
        (ACTIVE_LOCATION_INFORMATION, encode_sz(location)?),
    ];
    for (name, data) in &values {
        registry.write_active(name, data)?;
    }
    Ok(())
}

/// `ConfigUpdateActive`: the veto, then the instance id and location, each only where no
/// string is stored yet. The device id is never written.
///
/// # Errors
/// [`ConfigError`].
pub fn update_active<R: ConfigRegistry + ?Sized>(
    registry: &R,
    vendor: Option<VendorDeviceId>,
    device_id: &[u8],
    instance_id: &[u8],
    location: &[u8],
) -> Result<(), ConfigError> {
    legacy_veto(registry, vendor, device_id)?;
    let values = [
        (ACTIVE_INSTANCE_ID, encode_sz(instance_id)?),
        (ACTIVE_LOCATION_INFORMATION, encode_sz(location)?),
    ];
    for (name, data) in &values {
        let mut stored = Err(ConfigError::Registry(RegistryError::NotFound));
        let read = registry.read_active(name, &mut |v| stored = decode_string(v));
        let replace = match (read, stored) {
            (Ok(()), Ok(_)) => false,
            (Ok(()), Err(ConfigError::Registry(RegistryError::WrongType)))
            | (Err(RegistryError::NotFound), _) => true,
            (Ok(()), Err(e)) => return Err(e),
            (Err(e), _) => return Err(ConfigError::Registry(e)),
        };
        if replace {
            registry.write_active(name, data)?;
        }
    }
    Ok(())
}

/// `ConfigClearActive`: deletes the device id, then the instance id; the location stays.
///
/// # Errors
/// The first failed delete (a missing value included, as upstream); the second is not tried
/// after the first fails.
pub fn clear_active<R: ConfigRegistry + ?Sized>(registry: &R) -> Result<(), ConfigError> {
    registry.delete_active(ACTIVE_DEVICE_ID)?;
    registry.delete_active(ACTIVE_INSTANCE_ID)?;
    Ok(())
}

/// What `ConfigRequestReboot` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootRequest {
    /// The request key's components under `\Registry\Machine` (created non-volatile).
    pub path: Vec<String>,
    /// The module's key under it (created volatile), holding DWORD [`REBOOT_VALUE`] = 1.
    pub module: String,
}

impl RebootRequest {
    /// The request key's absolute path.
    #[must_use]
    pub fn absolute_path(&self) -> String {
        let mut s = String::from(MACHINE_PREFIX);
        s.push_str(&self.path.join("\\"));
        s
    }
}

/// The request for `module` given the caller's `RequestKey` value.
///
/// # Errors
/// [`ConfigError::InvalidParameter`] for an empty path, an empty module name or one with a
/// backslash, [`ConfigError::TooLong`] for a path longer than upstream's buffer holds or a
/// component or module name longer than a key name can be, decoding errors of the value.
pub fn reboot_request(request_key: Value<'_>, module: &[u8]) -> Result<RebootRequest, ConfigError> {
    let module = module.split(|&b| b == 0).next().unwrap_or_default();
    if module.is_empty() || module.contains(&b'\\') {
        return Err(ConfigError::InvalidParameter);
    }
    if module.len() > MAX_KEY_NAME_LENGTH {
        return Err(ConfigError::TooLong);
    }
    let path = decode_string(request_key)?;
    if MACHINE_PREFIX.len().saturating_add(path.len()) > MAX_NAME_LENGTH {
        return Err(ConfigError::TooLong);
    }
    let mut components = Vec::new();
    for component in path.split(|&b| b == b'\\').filter(|c| !c.is_empty()) {
        if component.len() > MAX_KEY_NAME_LENGTH {
            return Err(ConfigError::TooLong);
        }
        components
            .try_reserve(1)
            .map_err(|_| ConfigError::NoMemory)?;
        components.push(latin1(component)?);
    }
    if components.is_empty() {
        return Err(ConfigError::InvalidParameter);
    }
    Ok(RebootRequest {
        path: components,
        module: latin1(module)?,
    })
}

/// `ConfigRequestReboot`: reads `RequestKey` from the caller's key and creates the request.
///
/// # Errors
/// [`ConfigError`].
pub fn request_reboot<R: ConfigRegistry + ?Sized>(
    registry: &R,
    parameters_key: *mut c_void,
    module: &[u8],
) -> Result<RebootRequest, ConfigError> {
    let mut request = Err(ConfigError::Registry(RegistryError::NotFound));
    registry.read_request_key(parameters_key, &mut |v| request = reboot_request(v, module))?;
    let request = request?;
    registry.create_reboot_request(&request)?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{REG_BINARY, REG_DWORD};
    use core::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};
    use std::string::ToString;
    use std::vec;

    fn wide(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[derive(Default)]
    struct Registry {
        active: RefCell<BTreeMap<String, (u32, Vec<u8>)>>,
        enum_keys: BTreeSet<String>,
        enum_error: Option<RegistryError>,
        read_error: Option<RegistryError>,
        write_error: Option<(&'static str, RegistryError)>,
        request_key: Option<(u32, Vec<u8>)>,
        requests: RefCell<Vec<RebootRequest>>,
        log: RefCell<Vec<String>>,
    }

    impl ConfigRegistry for Registry {
        fn read_active(
            &self,
            name: &str,
            visit: &mut dyn FnMut(Value<'_>),
        ) -> Result<(), RegistryError> {
            if let Some(e) = self.read_error {
                return Err(e);
            }
            let active = self.active.borrow();
            let (kind, data) = active.get(name).ok_or(RegistryError::NotFound)?;
            visit(Value::new(*kind, data));
            Ok(())
        }
        fn write_active(&self, name: &str, data: &[u8]) -> Result<(), RegistryError> {
            if let Some((n, e)) = self.write_error
                && n == name
            {
                return Err(e);
            }
            self.log.borrow_mut().push(std::format!("write {name}"));
            self.active
                .borrow_mut()
                .insert(name.to_string(), (REG_SZ, data.to_vec()));
            Ok(())
        }
        fn delete_active(&self, name: &str) -> Result<(), RegistryError> {
            self.log.borrow_mut().push(std::format!("delete {name}"));
            self.active
                .borrow_mut()
                .remove(name)
                .map(|_| ())
                .ok_or(RegistryError::NotFound)
        }
        fn enum_key_exists(&self, path: &str) -> Result<bool, RegistryError> {
            if let Some(e) = self.enum_error {
                return Err(e);
            }
            Ok(self.enum_keys.contains(path))
        }
        fn read_request_key(
            &self,
            parameters_key: *mut c_void,
            visit: &mut dyn FnMut(Value<'_>),
        ) -> Result<(), RegistryError> {
            assert_eq!(parameters_key.addr(), 0x1234);
            let (kind, data) = self.request_key.as_ref().ok_or(RegistryError::NotFound)?;
            visit(Value::new(*kind, data));
            Ok(())
        }
        fn create_reboot_request(&self, request: &RebootRequest) -> Result<(), RegistryError> {
            self.requests.borrow_mut().push(request.clone());
            Ok(())
        }
    }

    fn stored(r: &Registry, name: &str) -> Option<Vec<u8>> {
        r.active
            .borrow()
            .get(name)
            .map(|(_, d)| decode_sz(d).unwrap())
    }

    #[test]
    fn errors_map_to_upstreams_statuses() {
        assert_eq!(
            ConfigError::Registry(RegistryError::NotFound).ntstatus(),
            ntstatus::STATUS_OBJECT_NAME_NOT_FOUND
        );
        assert_eq!(
            ConfigError::Vetoed.ntstatus(),
            ntstatus::STATUS_UNSUCCESSFUL
        );
        assert_eq!(
            ConfigError::InvalidParameter.ntstatus(),
            ntstatus::STATUS_INVALID_PARAMETER
        );
        assert_eq!(ConfigError::Registry(RegistryError::Os(-3)).ntstatus(), -3);
    }

    #[test]
    fn set_then_get_round_trips_every_byte() {
        let r = Registry::default();
        set_active(
            &r,
            None,
            b"PCI\\VEN_5853&DEV_0001",
            b"3&267a616a&0&18",
            b"PCI bus 0, Ger\xe4t 3",
        )
        .unwrap();
        assert_eq!(
            get_active(&r, b"DeviceID").unwrap(),
            b"PCI\\VEN_5853&DEV_0001"
        );
        assert_eq!(get_active(&r, b"InstanceID").unwrap(), b"3&267a616a&0&18");
        assert_eq!(
            get_active(&r, b"LocationInformation").unwrap(),
            b"PCI bus 0, Ger\xe4t 3"
        );
        assert_eq!(
            *r.log.borrow(),
            [
                "write ActiveDeviceID",
                "write ActiveInstanceID",
                "write ActiveLocationInformation"
            ]
        );
    }

    #[test]
    fn get_reads_strings_only() {
        let r = Registry::default();
        assert_eq!(
            get_active(&r, b"DeviceID"),
            Err(ConfigError::Registry(RegistryError::NotFound))
        );
        r.active.borrow_mut().insert(
            "ActiveDeviceID".into(),
            (REG_MULTI_SZ, wide("First\0Second\0\0")),
        );
        assert_eq!(get_active(&r, b"DeviceID").unwrap(), b"First");
        r.active
            .borrow_mut()
            .insert("ActiveDeviceID".into(), (REG_MULTI_SZ, wide("\0")));
        assert_eq!(get_active(&r, b"DeviceID").unwrap(), b"");
        // No terminator: the string ends with the data.
        r.active
            .borrow_mut()
            .insert("ActiveDeviceID".into(), (REG_SZ, wide("PCI\\X")));
        assert_eq!(get_active(&r, b"DeviceID").unwrap(), b"PCI\\X");
        for kind in [REG_DWORD, REG_BINARY, 2] {
            r.active
                .borrow_mut()
                .insert("ActiveDeviceID".into(), (kind, vec![1, 0, 0, 0]));
            assert_eq!(
                get_active(&r, b"DeviceID"),
                Err(ConfigError::Registry(RegistryError::WrongType))
            );
        }
        r.active.borrow_mut().insert(
            "ActiveDeviceID".into(),
            (REG_SZ, vec![0x41; crate::registry::MAX_VALUE_SIZE + 2]),
        );
        assert_eq!(get_active(&r, b"DeviceID"), Err(ConfigError::TooLong));
    }

    #[test]
    fn long_keys_are_refused_not_truncated() {
        assert_eq!(active_value_name(b"DeviceID").unwrap(), "ActiveDeviceID");
        assert_eq!(active_value_name(b"").unwrap(), "Active");
        assert_eq!(active_value_name(&[b'K'; 121]).unwrap().len(), 127);
        assert_eq!(active_value_name(&[b'K'; 122]), Err(ConfigError::TooLong));
        let r = Registry::default();
        assert_eq!(get_active(&r, &[b'K'; 1000]), Err(ConfigError::TooLong));
    }

    #[test]
    fn update_writes_only_what_is_missing_and_never_the_device_id() {
        let r = Registry::default();
        r.active
            .borrow_mut()
            .insert("ActiveInstanceID".into(), (REG_SZ, wide("kept\0")));
        update_active(&r, None, b"PCI\\VEN_5853&DEV_0002", b"new", b"loc").unwrap();
        assert_eq!(stored(&r, ACTIVE_INSTANCE_ID).unwrap(), b"kept");
        assert_eq!(stored(&r, ACTIVE_LOCATION_INFORMATION).unwrap(), b"loc");
        assert_eq!(stored(&r, ACTIVE_DEVICE_ID), None);
        // A stored value of the wrong type is replaced, as upstream's failed read does.
        r.active
            .borrow_mut()
            .insert("ActiveInstanceID".into(), (REG_DWORD, vec![1, 0, 0, 0]));
        update_active(&r, None, b"x", b"fresh", b"loc2").unwrap();
        assert_eq!(stored(&r, ACTIVE_INSTANCE_ID).unwrap(), b"fresh");
        assert_eq!(stored(&r, ACTIVE_LOCATION_INFORMATION).unwrap(), b"loc");
    }

    #[test]
    fn update_does_not_overwrite_after_a_read_failure() {
        let r = Registry {
            read_error: Some(RegistryError::Os(-5)),
            ..Registry::default()
        };
        assert_eq!(
            update_active(&r, None, b"x", b"i", b"l"),
            Err(ConfigError::Registry(RegistryError::Os(-5)))
        );
        assert!(r.log.borrow().is_empty());
    }

    #[test]
    fn clear_deletes_device_then_instance_and_keeps_location() {
        let r = Registry::default();
        set_active(&r, None, b"d", b"i", b"l").unwrap();
        r.log.borrow_mut().clear();
        assert_eq!(clear_active(&r), Ok(()));
        assert_eq!(
            *r.log.borrow(),
            ["delete ActiveDeviceID", "delete ActiveInstanceID"]
        );
        assert_eq!(stored(&r, ACTIVE_LOCATION_INFORMATION).unwrap(), b"l");
        r.log.borrow_mut().clear();
        assert_eq!(
            clear_active(&r),
            Err(ConfigError::Registry(RegistryError::NotFound))
        );
        assert_eq!(
            *r.log.borrow(),
            ["delete ActiveDeviceID"],
            "stops at the first failure"
        );
    }

    #[test]
    fn vendor_device_ids_parse_strictly() {
        let v = VendorDeviceId::parse("C000").unwrap();
        assert_eq!(v.device_prefix(), r"PCI\VEN_5853&DEV_C000");
        assert_eq!(
            v.enum_key(),
            r"PCI\VEN_5853&DEV_C000&SUBSYS_C0005853&REV_01"
        );
        for bad in ["", "c000", "C00", "C0000", "G000", "C0 0"] {
            assert_eq!(VendorDeviceId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn legacy_devices_are_vetoed_once_the_vendor_device_was_seen() {
        let vendor = VendorDeviceId::parse("C000");
        let mut r = Registry::default();
        // Not seen: no veto.
        assert_eq!(
            set_active(&r, vendor, b"PCI\\VEN_5853&DEV_0001", b"i", b"l"),
            Ok(())
        );
        r.enum_keys.insert(vendor.unwrap().enum_key());
        r.log.borrow_mut().clear();
        assert_eq!(
            set_active(&r, vendor, b"PCI\\VEN_5853&DEV_0001", b"i", b"l"),
            Err(ConfigError::Vetoed)
        );
        assert_eq!(
            update_active(&r, vendor, b"PCI\\VEN_5853&DEV_0002", b"i", b"l"),
            Err(ConfigError::Vetoed)
        );
        assert!(r.log.borrow().is_empty(), "nothing written when vetoed");
        // The vendor device itself, in any case.
        assert_eq!(
            set_active(
                &r,
                vendor,
                b"pci\\ven_5853&dev_c000&subsys_c0005853",
                b"i",
                b"l"
            ),
            Ok(())
        );
        // Without a vendor device id in the build, nothing is vetoed.
        assert_eq!(
            set_active(&r, None, b"PCI\\VEN_5853&DEV_0001", b"i", b"l"),
            Ok(())
        );
        // A failure to look counts as not seen.
        r.enum_error = Some(RegistryError::Os(-1));
        assert_eq!(set_active(&r, vendor, b"X", b"i", b"l"), Ok(()));
    }

    #[test]
    fn set_validates_every_string_before_writing() {
        let r = Registry::default();
        let huge = vec![b'x'; crate::registry::MAX_VALUE_SIZE];
        assert_eq!(
            set_active(&r, None, b"d", b"i", &huge),
            Err(ConfigError::TooLong)
        );
        assert!(r.log.borrow().is_empty());
        let r = Registry {
            write_error: Some((ACTIVE_INSTANCE_ID, RegistryError::Os(-2))),
            ..Registry::default()
        };
        assert_eq!(
            set_active(&r, None, b"d", b"i", b"l"),
            Err(ConfigError::Registry(RegistryError::Os(-2)))
        );
        assert_eq!(*r.log.borrow(), ["write ActiveDeviceID"]);
    }

    fn key() -> *mut c_void {
        core::ptr::without_provenance_mut(0x1234)
    }

    #[test]
    fn reboot_request_creates_the_module_key_under_the_request_key() {
        let r = Registry {
            request_key: Some((
                REG_SZ,
                wide("SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Request\0"),
            )),
            ..Registry::default()
        };
        let req = request_reboot(&r, key(), b"xenbus").unwrap();
        assert_eq!(
            req.path,
            [
                "SYSTEM",
                "CurrentControlSet",
                "Services",
                "xenbus_monitor",
                "Request"
            ]
        );
        assert_eq!(req.module, "xenbus");
        assert_eq!(
            req.absolute_path(),
            r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\xenbus_monitor\Request"
        );
        assert_eq!(*r.requests.borrow(), [req]);
    }

    #[test]
    fn reboot_request_paths_are_split_like_upstream() {
        let v = wide("\\\\SOFTWARE\\\\Vendor\\\0");
        let req = reboot_request(Value::new(REG_SZ, &v), b"xenvif").unwrap();
        assert_eq!(req.path, ["SOFTWARE", "Vendor"]);
        let v = wide("First\\Key\0Second\0\0");
        let req = reboot_request(Value::new(REG_MULTI_SZ, &v), b"m").unwrap();
        assert_eq!(req.path, ["First", "Key"]);
    }

    #[test]
    fn hostile_reboot_requests_are_refused() {
        let good = wide("SYSTEM\\Request\0");
        let ok = Value::new(REG_SZ, &good);
        assert_eq!(reboot_request(ok, b""), Err(ConfigError::InvalidParameter));
        assert_eq!(
            reboot_request(ok, b"a\\b"),
            Err(ConfigError::InvalidParameter)
        );
        assert_eq!(reboot_request(ok, &[b'm'; 256]), Err(ConfigError::TooLong));
        assert_eq!(reboot_request(ok, &[b'm'; 255]).unwrap().module.len(), 255);
        for empty in ["", "\\", "\\\\\\", "\0"] {
            let v = wide(empty);
            assert_eq!(
                reboot_request(Value::new(REG_SZ, &v), b"m"),
                Err(ConfigError::InvalidParameter),
                "{empty:?}"
            );
        }
        // Upstream's 128-byte buffer: "\Registry\Machine\" + 109 characters still fits.
        let fits = wide(&"K".repeat(MAX_NAME_LENGTH - MACHINE_PREFIX.len()));
        assert!(reboot_request(Value::new(REG_SZ, &fits), b"m").is_ok());
        let long = wide(&"K".repeat(MAX_NAME_LENGTH - MACHINE_PREFIX.len() + 1));
        assert_eq!(
            reboot_request(Value::new(REG_SZ, &long), b"m"),
            Err(ConfigError::TooLong)
        );
        assert_eq!(
            reboot_request(Value::new(REG_DWORD, &[1, 0, 0, 0]), b"m"),
            Err(ConfigError::Registry(RegistryError::WrongType))
        );
        let r = Registry::default();
        assert_eq!(
            request_reboot(&r, key(), b"m"),
            Err(ConfigError::Registry(RegistryError::NotFound))
        );
        assert!(r.requests.borrow().is_empty());
    }
}
