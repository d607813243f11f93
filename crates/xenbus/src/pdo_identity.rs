// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Who a child PDO says it is, and which PDOs exist: sans-IO answers to `IRP_MN_QUERY_ID`,
//! `IRP_MN_QUERY_DEVICE_TEXT` and the class scan.
//!
//! Child INFs bind to these strings, and Windows keys a device's settings by its device
//! instance path (`XENBUS\VEN_XP&DEV_VIF\_`), so every byte matches the C package.
//!
//! Decisions on the C package's quirks:
//! - A class named both in xenstore `device/` and in `SyntheticClasses` would get two PDOs with
//!   the same instance path there; here a class yields one PDO (the first occurrence wins). Two
//!   identical device instances cannot coexist under Plug and Play, so nothing observable is
//!   lost.
//! - An empty candidate class name is a prefix of every supported entry under the C package's
//!   `strncmp` rule and would make a PDO with an empty name; here it is skipped.
//! - The C package asserts that the ID list stays under 1024 bytes; here a class whose IDs would
//!   not fit is refused with an error instead.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use xenbus_interface::revision::REVISIONS;

/// The largest ID or text buffer the C package builds (bytes, terminators included).
pub const MAX_ID_BYTES: usize = 1024;

/// The compatible class every PDO lists last.
pub const XENCLASS: &str = "XENCLASS";

/// The identity of the bus a PDO hangs off: the vendor prefix the package was built with and the
/// PCI device id of the active Xen platform device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bus {
    /// `VENDOR_PREFIX` (`XP` upstream, `XS` Citrix, `XN` XCP-ng).
    pub vendor_prefix: String,
    /// PCI device id of the platform device (0x0001, 0x0002 or a vendor device such as 0xC000).
    pub pci_device_id: u16,
}

impl Bus {
    /// `VendorName`: the prefix followed by four upper-case hex digits of the device id.
    #[must_use]
    pub fn vendor_name(&self) -> String {
        format!("{}{:04X}", self.vendor_prefix, self.pci_device_id)
    }

    /// The FDO's name, e.g. `XP0002 XENBUS`.
    #[must_use]
    pub fn fdo_name(&self) -> String {
        format!("{} XENBUS", self.vendor_name())
    }
}

/// `BUS_QUERY_ID_TYPE` values a PDO is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdType {
    /// `BusQueryDeviceID`.
    DeviceId,
    /// `BusQueryHardwareIDs`.
    HardwareIds,
    /// `BusQueryCompatibleIDs`.
    CompatibleIds,
    /// `BusQueryInstanceID`.
    InstanceId,
    /// Anything else (container id, serial number, ...).
    Other,
}

/// `DEVICE_TEXT_TYPE` values a PDO is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextType {
    /// `DeviceTextDescription`.
    Description,
    /// `DeviceTextLocationInformation`.
    LocationInformation,
    /// Anything else.
    Other,
}

/// An answer to `IRP_MN_QUERY_ID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// A single string (`REG_SZ`).
    Single(String),
    /// A list of strings (`REG_MULTI_SZ`).
    Multi(Vec<String>),
}

impl Id {
    /// Bytes the kernel buffer needs as UTF-16 with terminators (each string's NUL, plus the
    /// list's extra NUL for a multi-string).
    #[must_use]
    pub fn utf16_bytes(&self) -> usize {
        let units = match self {
            Self::Single(s) => s.encode_utf16().count().saturating_add(1),
            Self::Multi(list) => list
                .iter()
                .map(|s| s.encode_utf16().count().saturating_add(1))
                .fold(1_usize, usize::saturating_add),
        };
        units.saturating_mul(2)
    }

    /// The UTF-16 encoding with terminators, as the glue copies it into a pool buffer.
    #[must_use]
    pub fn to_utf16(&self) -> Vec<u16> {
        let mut out = Vec::new();
        match self {
            Self::Single(s) => {
                out.extend(s.encode_utf16());
                out.push(0);
            }
            Self::Multi(list) => {
                for s in list {
                    out.extend(s.encode_utf16());
                    out.push(0);
                }
                out.push(0);
            }
        }
        out
    }
}

/// Why a PDO does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// The request type is not served: the IRP completes with `STATUS_NOT_SUPPORTED`.
    NotSupported,
    /// The answer would exceed [`MAX_ID_BYTES`].
    TooLong,
}

/// The answer to `IRP_MN_QUERY_ID` for the PDO of `class` on `bus`.
///
/// # Errors
///
/// [`IdentityError::NotSupported`] for ID types the C package does not serve;
/// [`IdentityError::TooLong`] if the IDs would not fit the C package's buffer.
pub fn query_id(bus: &Bus, class: &str, id_type: IdType) -> Result<Id, IdentityError> {
    let id = match id_type {
        IdType::DeviceId => Id::Single(format!("XENBUS\\VEN_{}&DEV_{class}", bus.vendor_prefix)),
        IdType::InstanceId => Id::Single("_".to_owned()),
        IdType::HardwareIds | IdType::CompatibleIds => {
            let vendor = bus.vendor_name();
            let mut list: Vec<String> = REVISIONS
                .iter()
                .rev()
                .map(|r| {
                    let mut s = String::new();
                    let _ = write!(s, "XENBUS\\VEN_{vendor}&DEV_{class}&REV_{:08X}", r.number);
                    s
                })
                .collect();
            list.push(XENCLASS.to_owned());
            Id::Multi(list)
        }
        IdType::Other => return Err(IdentityError::NotSupported),
    };
    if id.utf16_bytes() > MAX_ID_BYTES {
        return Err(IdentityError::TooLong);
    }
    Ok(id)
}

/// The answer to `IRP_MN_QUERY_DEVICE_TEXT` for the PDO of `class` on `bus`.
///
/// # Errors
///
/// [`IdentityError::NotSupported`] for other text types; [`IdentityError::TooLong`] if the
/// text would not fit the C package's buffer.
pub fn device_text(bus: &Bus, class: &str, text_type: TextType) -> Result<String, IdentityError> {
    let text = match text_type {
        TextType::Description => format!("{} {class}", bus.fdo_name()),
        TextType::LocationInformation => class.to_owned(),
        TextType::Other => return Err(IdentityError::NotSupported),
    };
    if Id::Single(text.clone()).utf16_bytes() > MAX_ID_BYTES {
        return Err(IdentityError::TooLong);
    }
    Ok(text)
}

/// The classes that get a PDO on `bus`, in creation order.
///
/// `store_classes` is the xenstore `device/` listing (`None` when the directory could not be
/// read), `synthetic` the `SyntheticClasses` registry value and `supported` the
/// `SupportedClasses` value (`None` when it is missing, which means no PDOs at all).
///
/// Store names are upper-cased (ASCII); synthetic names are taken as written. A candidate is
/// kept when some supported entry starts with it (the C package's `strncmp` over the
/// candidate's length), so `CONS` is supported by `CONS` but `CONSOLE` is not.
#[must_use]
pub fn select_classes(
    bus: &Bus,
    store_classes: Option<&[&str]>,
    synthetic: &[&str],
    supported: Option<&[&str]>,
) -> Vec<String> {
    let Some(supported) = supported else {
        return Vec::new();
    };
    let store = store_classes
        .unwrap_or_default()
        .iter()
        .map(|name| name.to_ascii_uppercase());
    let synthetic = synthetic.iter().map(|name| (*name).to_owned());
    let mut classes: Vec<String> = Vec::new();
    for candidate in store.chain(synthetic) {
        let is_supported = !candidate.is_empty()
            && supported
                .iter()
                .any(|entry| entry.as_bytes().starts_with(candidate.as_bytes()));
        let fits = query_id(bus, &candidate, IdType::HardwareIds).is_ok();
        if is_supported && fits && !classes.contains(&candidate) {
            classes.push(candidate);
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn xp0002() -> Bus {
        Bus {
            vendor_prefix: "XP".into(),
            pci_device_id: 2,
        }
    }

    const SUPPORTED: &[&str] = &["VIF", "VBD", "VKBD", "IFACE", "CONS"];
    const SYNTHETIC: &[&str] = &["IFACE", "CONS"];

    #[test]
    fn device_id_has_prefix_and_class_but_no_device_or_revision() {
        assert_eq!(
            query_id(&xp0002(), "VIF", IdType::DeviceId),
            Ok(Id::Single("XENBUS\\VEN_XP&DEV_VIF".into()))
        );
    }

    #[test]
    fn instance_id_is_an_underscore() {
        assert_eq!(
            query_id(&xp0002(), "VBD", IdType::InstanceId),
            Ok(Id::Single("_".into()))
        );
    }

    #[test]
    fn hardware_ids_list_every_revision_newest_first_then_xenclass() {
        let expected = Id::Multi(vec![
            "XENBUS\\VEN_XP0002&DEV_VIF&REV_0900000C".into(),
            "XENBUS\\VEN_XP0002&DEV_VIF&REV_0900000B".into(),
            "XENBUS\\VEN_XP0002&DEV_VIF&REV_0900000A".into(),
            "XENBUS\\VEN_XP0002&DEV_VIF&REV_09000009".into(),
            "XENBUS\\VEN_XP0002&DEV_VIF&REV_09000008".into(),
            "XENCLASS".into(),
        ]);
        assert_eq!(
            query_id(&xp0002(), "VIF", IdType::HardwareIds),
            Ok(expected.clone())
        );
        assert_eq!(
            query_id(&xp0002(), "VIF", IdType::CompatibleIds),
            Ok(expected)
        );
    }

    #[test]
    fn vendor_device_ids_are_four_upper_case_hex_digits() {
        let bus = Bus {
            vendor_prefix: "XS".into(),
            pci_device_id: 0xC000,
        };
        assert_eq!(bus.vendor_name(), "XSC000");
        let Ok(Id::Multi(ids)) = query_id(&bus, "VBD", IdType::HardwareIds) else {
            panic!("hardware ids")
        };
        assert_eq!(ids[0], "XENBUS\\VEN_XSC000&DEV_VBD&REV_0900000C");
    }

    #[test]
    fn other_id_types_are_not_supported() {
        assert_eq!(
            query_id(&xp0002(), "VIF", IdType::Other),
            Err(IdentityError::NotSupported)
        );
        assert_eq!(
            device_text(&xp0002(), "VIF", TextType::Other),
            Err(IdentityError::NotSupported)
        );
    }

    #[test]
    fn device_text_names_the_fdo_and_the_class() {
        assert_eq!(
            device_text(&xp0002(), "VIF", TextType::Description).as_deref(),
            Ok("XP0002 XENBUS VIF")
        );
        assert_eq!(
            device_text(&xp0002(), "VIF", TextType::LocationInformation).as_deref(),
            Ok("VIF")
        );
    }

    #[test]
    fn multi_sz_encoding_has_a_nul_per_string_and_one_more() {
        let id = Id::Multi(vec!["AB".into(), "C".into()]);
        assert_eq!(id.to_utf16(), [65, 66, 0, 67, 0, 0]);
        assert_eq!(id.utf16_bytes(), 12);
        assert_eq!(Id::Single("A".into()).to_utf16(), [65, 0]);
    }

    #[test]
    fn store_classes_are_upper_cased_and_filtered_by_supported_prefix() {
        let store = ["vif", "vbd", "console", "9pfs"];
        assert_eq!(
            select_classes(&xp0002(), Some(&store), SYNTHETIC, Some(SUPPORTED)),
            ["VIF", "VBD", "IFACE", "CONS"]
        );
    }

    #[test]
    fn console_is_longer_than_cons_so_only_the_synthetic_cons_exists() {
        let classes = select_classes(&xp0002(), Some(&["console"]), SYNTHETIC, Some(SUPPORTED));
        assert!(!classes.contains(&"CONSOLE".into()));
        assert!(classes.contains(&"CONS".into()));
    }

    #[test]
    fn a_candidate_that_is_a_prefix_of_a_supported_entry_is_kept() {
        // `VK` is a prefix of `VKBD`: the C package's strncmp rule keeps it.
        assert_eq!(
            select_classes(&xp0002(), Some(&["vk"]), &[], Some(SUPPORTED)),
            ["VK"]
        );
    }

    #[test]
    fn a_class_in_both_lists_gets_one_pdo() {
        assert_eq!(
            select_classes(&xp0002(), Some(&["iface"]), SYNTHETIC, Some(SUPPORTED)),
            ["IFACE", "CONS"]
        );
    }

    #[test]
    fn missing_supported_classes_means_no_pdos() {
        assert!(select_classes(&xp0002(), Some(&["vif"]), SYNTHETIC, None).is_empty());
    }

    #[test]
    fn unreadable_store_still_yields_synthetic_classes() {
        assert_eq!(
            select_classes(&xp0002(), None, SYNTHETIC, Some(SUPPORTED)),
            ["IFACE", "CONS"]
        );
    }

    #[test]
    fn synthetic_names_are_not_upper_cased() {
        assert!(select_classes(&xp0002(), None, &["iface"], Some(SUPPORTED)).is_empty());
    }

    #[test]
    fn empty_and_oversized_names_make_no_pdo() {
        let long = "v".repeat(200);
        let supported_long = "V".repeat(200);
        assert!(select_classes(&xp0002(), Some(&[""]), &[], Some(SUPPORTED)).is_empty());
        assert!(
            select_classes(
                &xp0002(),
                Some(&[long.as_str()]),
                &[],
                Some(&[supported_long.as_str()])
            )
            .is_empty()
        );
        assert_eq!(
            query_id(&xp0002(), &"V".repeat(200), IdType::HardwareIds),
            Err(IdentityError::TooLong)
        );
    }
}
