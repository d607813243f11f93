// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `pdo_identity`: PDO class selection and IDs (`xenbus::pdo_identity`) from a xenstore
//! `device/` listing the toolstack (or a hostile backend) wrote.
//!
//! The listing arrives as the store returns it (NUL-separated names, as `StoreBuffer::entries`
//! splits them) and is turned into text as the composition does (lossy UTF-8). Invariants of
//! `select_classes`:
//! * every class is non-empty, a prefix of some supported entry, and either an upper-cased
//!   store name or a synthetic name as written; no class twice; creation order is store order
//!   then synthetic order;
//! * completeness: every candidate that qualifies (non-empty, supported, IDs fit) is there;
//! * every selected class answers every ID and text query the PDO serves within
//!   `MAX_ID_BYTES`, `utf16_bytes` is the length of `to_utf16` (with its terminators), and a
//!   multi-string ends with two NULs;
//! * no supported list means no PDO at all.

use xenbus::pdo_identity::{
    Bus, Id, IdType, IdentityError, MAX_ID_BYTES, TextType, device_text, query_id, select_classes,
};

use crate::input::{Reader, Writer};

fn names(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

fn check_id(id: &Id) {
    let units = id.to_utf16();
    assert_eq!(id.utf16_bytes(), units.len() * 2);
    assert!(id.utf16_bytes() <= MAX_ID_BYTES);
    match id {
        Id::Single(s) => {
            assert_eq!(units.last(), Some(&0));
            assert_eq!(units.len(), s.encode_utf16().count() + 1);
        }
        Id::Multi(list) => {
            assert!(
                list.iter().all(|s| !s.contains('\0')),
                "a NUL inside a multi-string"
            );
            if list.is_empty() {
                assert_eq!(units, [0]);
            } else {
                assert!(units.ends_with(&[0, 0]));
            }
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let bus = Bus {
        // The package's VENDOR_PREFIX: build-time text, never NUL.
        vendor_prefix: String::from_utf8_lossy(r.short_bytes(8)).replace('\0', ""),
        pci_device_id: r.u16(),
    };
    let store = if r.u8().is_multiple_of(8) {
        None
    } else {
        Some(names(r.long_bytes(2048)))
    };
    let synthetic = names(r.long_bytes(256));
    let supported = if r.u8().is_multiple_of(16) {
        None
    } else {
        Some(names(r.long_bytes(512)))
    };

    let store_refs: Option<Vec<&str>> = store
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let synthetic_refs: Vec<&str> = synthetic.iter().map(String::as_str).collect();
    let supported_refs: Option<Vec<&str>> = supported
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let classes = select_classes(
        &bus,
        store_refs.as_deref(),
        &synthetic_refs,
        supported_refs.as_deref(),
    );

    let Some(supported) = supported else {
        assert!(classes.is_empty(), "no SupportedClasses must mean no PDOs");
        return;
    };
    // The model.
    let candidates = store
        .iter()
        .flatten()
        .map(|n| n.to_ascii_uppercase())
        .chain(synthetic.iter().cloned());
    let mut expected: Vec<String> = Vec::new();
    for c in candidates {
        let ok = !c.is_empty()
            && supported
                .iter()
                .any(|s| s.as_bytes().starts_with(c.as_bytes()))
            && query_id(&bus, &c, IdType::HardwareIds).is_ok();
        if ok && !expected.contains(&c) {
            expected.push(c);
        }
    }
    assert_eq!(classes, expected);

    for class in &classes {
        for id_type in [
            IdType::DeviceId,
            IdType::HardwareIds,
            IdType::CompatibleIds,
            IdType::InstanceId,
        ] {
            let id = query_id(&bus, class, id_type)
                .unwrap_or_else(|e| panic!("{class:?} {id_type:?}: {e:?}"));
            check_id(&id);
        }
        assert_eq!(
            query_id(&bus, class, IdType::Other),
            Err(IdentityError::NotSupported)
        );
        for text_type in [TextType::Description, TextType::LocationInformation] {
            let text = device_text(&bus, class, text_type)
                .unwrap_or_else(|e| panic!("{class:?} {text_type:?}: {e:?}"));
            check_id(&Id::Single(text));
        }
        assert_eq!(
            device_text(&bus, class, TextType::Other),
            Err(IdentityError::NotSupported)
        );
    }
    // Any class name: answers are bounded or refused, never oversized.
    if let Some(name) = store.iter().flatten().next()
        && let Ok(id) = query_id(&bus, name, IdType::HardwareIds)
    {
        check_id(&id);
    }
}

/// Seeds: the unit tests' listings, a toolstack's `device/` of an HVM guest, and the listings
/// the real daemons returned (`peer-*`).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, store, synthetic, supported) in [
        (
            "hvm",
            &b"vif\0vbd\0vkbd\0console\0"[..],
            &b"IFACE\0CONS\0"[..],
            &b"VIF\0VBD\0VKBD\0IFACE\0CONS\0"[..],
        ),
        ("prefix", b"vk\0", b"", b"VIF\0VBD\0VKBD\0IFACE\0CONS\0"),
        (
            "duplicates",
            b"iface\0vif\0VIF\0",
            b"IFACE\0iface\0",
            b"VIF\0IFACE\0",
        ),
        ("long", &[b'v'; 200], b"", &[b'V'; 200]),
        (
            "odd-bytes",
            b"v\xffif\0\xc3\xa9\0\0vbd",
            b"",
            b"V\xef\xbf\xbdIF\0\xc3\x89\0VBD",
        ),
    ] {
        let mut w = Writer::new();
        w.short_bytes(b"XP")
            .u16(2)
            .u8(1)
            .long_bytes(store)
            .long_bytes(synthetic)
            .u8(1)
            .long_bytes(supported);
        out.push((name, w.finish()));
    }
    let mut vendor = Writer::new();
    vendor
        .short_bytes(b"XS")
        .u16(0xC000)
        .u8(1)
        .long_bytes(b"vbd\0")
        .long_bytes(b"")
        .u8(1)
        .long_bytes(b"VBD\0");
    out.push(("vendor-device", vendor.finish()));
    // The `device/` listings Debian's real xenstored and oxenstored put on the guest's ring
    // for the toolstack's vif, vbd and vkbd (`fuzz/peer/xenstored-replies.txt`): their NUL
    // layout and their order (creation order, sorted) as the daemons send them.
    for (name, daemon) in [
        ("peer-c-device", "xenstored-c"),
        ("peer-ocaml-device", "xenstored-ocaml"),
    ] {
        let (_, listing) = &super::store_ring::captured(daemon, "directory")[0];
        let mut w = Writer::new();
        w.short_bytes(b"XP")
            .u16(2)
            .u8(1)
            .long_bytes(listing)
            .long_bytes(b"IFACE\0CONS\0")
            .u8(1)
            .long_bytes(b"VIF\0VBD\0VKBD\0IFACE\0CONS\0");
        out.push((name, w.finish()));
    }
    out
}
