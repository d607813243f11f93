// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The C headers in `include/` agree with the Rust tables: a C probe compiled against the headers
//! prints every structure size, method offset, GUID, version macro and enum value, and each must
//! equal the Rust value.

use std::path::Path;

use xen_abi_check::probe::{Prelude, evaluate_with};
use xen_abi_check::{Item, Value};
use xenbus_interface::{
    Guid, InterfaceHeader, InterfaceVersion, balloon::*, cache::*, console::*, debug::*,
    emulated::*, evtchn::*, gnttab::*, range_set::*, shared_info::*, store::*, suspend::*,
    unplug::*,
};

const HEADERS: &[&str] = &[
    "stdio.h",
    "stddef.h",
    "suspend_interface.h",
    "shared_info_interface.h",
    "evtchn_interface.h",
    "debug_interface.h",
    "store_interface.h",
    "range_set_interface.h",
    "cache_interface.h",
    "gnttab_interface.h",
    "unplug_interface.h",
    "console_interface.h",
    "balloon_interface.h",
    "emulated_interface.h",
];

#[derive(Default)]
struct Items(Vec<Item>);

impl Items {
    fn int(&mut self, c_expr: impl Into<String>, rust: impl Into<i128>) {
        self.0.push(Item {
            c_expr: c_expr.into(),
            rust: Value::Int(rust.into()),
        });
    }

    fn usize(&mut self, c_expr: impl Into<String>, rust: usize) {
        self.int(c_expr, i128::try_from(rust).unwrap());
    }

    fn table<T: InterfaceVersion>(&mut self, slots: &[(&str, usize)]) {
        let tag = format!("struct _{}", T::C_NAME);
        self.usize(format!("sizeof({tag})"), size_of::<T>());
        self.usize(format!("offsetof({tag}, Interface)"), 0);
        for (method, offset) in slots {
            self.usize(format!("offsetof({tag}, {method})"), *offset);
        }
    }

    fn guid(&mut self, c_name: &str, guid: &Guid) {
        self.int(format!("{c_name}.Data1"), guid.data1);
        self.int(format!("{c_name}.Data2"), guid.data2);
        self.int(format!("{c_name}.Data3"), guid.data3);
        for (i, byte) in guid.data4.iter().enumerate() {
            self.int(format!("{c_name}.Data4[{i}]"), *byte);
        }
    }
}

macro_rules! tables {
    ($items:expr; $($ty:ty),* $(,)?) => {
        $( $items.table::<$ty>(<$ty>::SLOTS); )*
    };
}

macro_rules! consts {
    ($items:expr; $($name:ident),* $(,)?) => {
        $( $items.int(stringify!($name), $name); )*
    };
}

#[allow(
    clippy::too_many_lines,
    reason = "one entry per C definition: the table is the point"
)]
fn items() -> Vec<Item> {
    let mut t = Items::default();
    t.usize("sizeof(INTERFACE)", size_of::<InterfaceHeader>());
    t.usize("offsetof(INTERFACE, Context)", 8);
    t.usize("offsetof(INTERFACE, InterfaceDereference)", 24);
    tables!(t;
        XenbusSuspendInterfaceV1,
        XenbusSharedInfoInterfaceV2, XenbusSharedInfoInterfaceV3, XenbusSharedInfoInterfaceV4,
        XenbusEvtchnInterfaceV5, XenbusEvtchnInterfaceV6, XenbusEvtchnInterfaceV7,
        XenbusEvtchnInterfaceV8, XenbusEvtchnInterfaceV9,
        XenbusDebugInterfaceV1, XenbusStoreInterfaceV2, XenbusRangeSetInterfaceV1,
        XenbusCacheInterfaceV1, XenbusCacheInterfaceV2,
        XenbusGnttabInterfaceV2, XenbusGnttabInterfaceV3, XenbusGnttabInterfaceV4,
        XenbusUnplugInterfaceV1, XenbusUnplugInterfaceV2, XenbusUnplugInterfaceV3,
        XenbusConsoleInterfaceV1, XenbusBalloonInterfaceV1,
        XenfiltEmulatedInterfaceV1, XenfiltEmulatedInterfaceV2, XenfiltEmulatedInterfaceV3,
    );
    // The unversioned names alias the newest version.
    t.usize(
        "sizeof(XENBUS_EVTCHN_INTERFACE)",
        size_of::<XenbusEvtchnInterfaceV9>(),
    );
    t.usize(
        "sizeof(XENBUS_SHARED_INFO_INTERFACE)",
        size_of::<XenbusSharedInfoInterfaceV4>(),
    );
    t.usize(
        "sizeof(XENBUS_GNTTAB_INTERFACE)",
        size_of::<XenbusGnttabInterfaceV4>(),
    );
    t.usize(
        "sizeof(XENBUS_UNPLUG_INTERFACE)",
        size_of::<XenbusUnplugInterfaceV3>(),
    );
    t.usize(
        "sizeof(XENBUS_CACHE_INTERFACE)",
        size_of::<XenbusCacheInterfaceV2>(),
    );
    t.usize(
        "sizeof(XENFILT_EMULATED_INTERFACE)",
        size_of::<XenfiltEmulatedInterfaceV3>(),
    );

    t.guid(
        "GUID_XENBUS_SUSPEND_INTERFACE",
        &GUID_XENBUS_SUSPEND_INTERFACE,
    );
    t.guid(
        "GUID_XENBUS_SHARED_INFO_INTERFACE",
        &GUID_XENBUS_SHARED_INFO_INTERFACE,
    );
    t.guid(
        "GUID_XENBUS_EVTCHN_INTERFACE",
        &GUID_XENBUS_EVTCHN_INTERFACE,
    );
    t.guid("GUID_XENBUS_DEBUG_INTERFACE", &GUID_XENBUS_DEBUG_INTERFACE);
    t.guid("GUID_XENBUS_STORE_INTERFACE", &GUID_XENBUS_STORE_INTERFACE);
    t.guid(
        "GUID_XENBUS_RANGE_SET_INTERFACE",
        &GUID_XENBUS_RANGE_SET_INTERFACE,
    );
    t.guid("GUID_XENBUS_CACHE_INTERFACE", &GUID_XENBUS_CACHE_INTERFACE);
    t.guid(
        "GUID_XENBUS_GNTTAB_INTERFACE",
        &GUID_XENBUS_GNTTAB_INTERFACE,
    );
    t.guid(
        "GUID_XENBUS_UNPLUG_INTERFACE",
        &GUID_XENBUS_UNPLUG_INTERFACE,
    );
    t.guid(
        "GUID_XENBUS_CONSOLE_INTERFACE",
        &GUID_XENBUS_CONSOLE_INTERFACE,
    );
    t.guid(
        "GUID_XENBUS_BALLOON_INTERFACE",
        &GUID_XENBUS_BALLOON_INTERFACE,
    );
    t.guid(
        "GUID_XENFILT_EMULATED_INTERFACE",
        &GUID_XENFILT_EMULATED_INTERFACE,
    );

    consts!(t;
        XENBUS_SUSPEND_INTERFACE_VERSION_MIN, XENBUS_SUSPEND_INTERFACE_VERSION_MAX,
        XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN, XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX,
        XENBUS_EVTCHN_INTERFACE_VERSION_MIN, XENBUS_EVTCHN_INTERFACE_VERSION_MAX,
        XENBUS_DEBUG_INTERFACE_VERSION_MIN, XENBUS_DEBUG_INTERFACE_VERSION_MAX,
        XENBUS_STORE_INTERFACE_VERSION_MIN, XENBUS_STORE_INTERFACE_VERSION_MAX,
        XENBUS_RANGE_SET_INTERFACE_VERSION_MIN, XENBUS_RANGE_SET_INTERFACE_VERSION_MAX,
        XENBUS_CACHE_INTERFACE_VERSION_MIN, XENBUS_CACHE_INTERFACE_VERSION_MAX,
        XENBUS_GNTTAB_INTERFACE_VERSION_MIN, XENBUS_GNTTAB_INTERFACE_VERSION_MAX,
        XENBUS_UNPLUG_INTERFACE_VERSION_MIN, XENBUS_UNPLUG_INTERFACE_VERSION_MAX,
        XENBUS_CONSOLE_INTERFACE_VERSION_MIN, XENBUS_CONSOLE_INTERFACE_VERSION_MAX,
        XENBUS_BALLOON_INTERFACE_VERSION_MIN, XENBUS_BALLOON_INTERFACE_VERSION_MAX,
        XENFILT_EMULATED_INTERFACE_VERSION_MIN, XENFILT_EMULATED_INTERFACE_VERSION_MAX,
        SUSPEND_CALLBACK_TYPE_INVALID, SUSPEND_CALLBACK_EARLY, SUSPEND_CALLBACK_LATE,
        XENBUS_EVTCHN_TYPE_INVALID, XENBUS_EVTCHN_TYPE_FIXED, XENBUS_EVTCHN_TYPE_UNBOUND,
        XENBUS_EVTCHN_TYPE_INTER_DOMAIN, XENBUS_EVTCHN_TYPE_VIRQ,
        XENBUS_STORE_PERM_NONE, XENBUS_STORE_PERM_READ, XENBUS_STORE_PERM_WRITE,
        XENBUS_GNTTAB_CONSOLE_REFERENCE, XENBUS_GNTTAB_STORE_REFERENCE,
        XENBUS_UNPLUG_DEVICE_TYPE_INVALID, XENBUS_UNPLUG_DEVICE_TYPE_NICS,
        XENBUS_UNPLUG_DEVICE_TYPE_DISKS,
        XENBUS_EMULATED_ACTIVATE_NEUTRAL, XENBUS_EMULATED_FORCE_ACTIVATED,
        XENBUS_EMULATED_FORCE_DEACTIVATED,
    );
    t.usize(
        "sizeof(XENBUS_STORE_PERMISSION)",
        size_of::<XenbusStorePermission>(),
    );
    t.usize(
        "offsetof(XENBUS_STORE_PERMISSION, Mask)",
        std::mem::offset_of!(XenbusStorePermission, mask),
    );
    t.usize("sizeof(XENBUS_EVTCHN_TYPE)", size_of::<XenbusEvtchnType>());
    // The call macros must compile with GCC/Clang too, with and without arguments after the
    // interface (the comma before an empty `__VA_ARGS__` is elided). `sizeof` keeps the calls
    // unevaluated: each is an NTSTATUS.
    t.usize(
        "sizeof(XENBUS_STORE(Acquire, (PXENBUS_STORE_INTERFACE)0))",
        size_of::<i32>(),
    );
    t.usize(
        "sizeof(XENBUS_STORE(Read, (PXENBUS_STORE_INTERFACE)0, NULL, NULL, \"x\", NULL))",
        size_of::<i32>(),
    );
    t.usize(
        "sizeof(XENBUS_EVTCHN(Acquire, (PXENBUS_EVTCHN_INTERFACE)0))",
        size_of::<i32>(),
    );
    t.0
}

#[test]
fn c_headers_agree_with_the_rust_tables() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let items = items();
    let prelude = Prelude {
        defines: &[],
        headers: HEADERS,
    };
    let values = evaluate_with(&prelude, &include, &items).expect("the probe builds and runs");
    let mismatches: Vec<String> = items
        .iter()
        .zip(&values)
        .filter(|(item, c)| item.rust != **c)
        .map(|(item, c)| format!("{}: C {c}, Rust {}", item.c_expr, item.rust))
        .collect();
    println!(
        "interface headers: {} checked, {} mismatches",
        items.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(items.len() > 300);
}
