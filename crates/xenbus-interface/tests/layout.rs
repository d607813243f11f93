// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Layout of every served interface version on x64, from one table: GUID, version, size, and
//! each method's slot offset (32-byte header, then 8 bytes per method, in the C package's order).

use core::mem::offset_of;
use xenbus_interface::{
    InterfaceHeader, InterfaceVersion, balloon::*, cache::*, console::*, debug::*, emulated::*,
    evtchn::*, gnttab::*, range_set::*, shared_info::*, store::*, suspend::*, unplug::*,
};

/// What the C package defines for one table version.
struct Expected {
    c_name: &'static str,
    guid: &'static str,
    version: u16,
    size: usize,
    methods: &'static [&'static str],
    guid_of_table: String,
    version_of_table: u16,
    size_of_table: usize,
    header_size: u16,
    slots: &'static [(&'static str, usize)],
    c_name_of_table: &'static str,
}

fn row<T: InterfaceVersion>(
    guid: &'static str,
    version: u16,
    size: usize,
    methods: &'static [&'static str],
    slots: &'static [(&'static str, usize)],
) -> Expected {
    Expected {
        c_name: T::C_NAME,
        guid,
        version,
        size,
        methods,
        guid_of_table: T::GUID.to_string(),
        version_of_table: T::VERSION,
        size_of_table: size_of::<T>(),
        header_size: T::SIZE,
        slots,
        c_name_of_table: T::C_NAME,
    }
}

const SUSPEND: &str = "{0554F2AF-B510-4C71-AC03-1C503E394238}";
const SHARED_INFO: &str = "{7E73C34F-1640-4649-A8F3-263BC930A004}";
const EVTCHN: &str = "{BE2440AC-1098-4150-AF4D-452FADCEF923}";
const DEBUG: &str = "{0DF600AE-6B20-4227-BF94-03DA9A26A114}";
const STORE: &str = "{86824C3B-D34E-4753-B281-2F1E3AD214D7}";
const RANGE_SET: &str = "{EE7E78A2-6847-48C5-B123-BB012F0EABF4}";
const CACHE: &str = "{A98DFD78-416A-4949-92A5-E084F2F4B44E}";
const GNTTAB: &str = "{763679C5-E5C2-4A6D-8B88-6BB02EC42D8E}";
const UNPLUG: &str = "{73DB6517-3D06-4937-989F-199B7501E229}";
const CONSOLE: &str = "{04C4F738-034A-4268-BD20-A92AC90D4F82}";
const BALLOON: &str = "{D92AA810-BECB-4BD5-A3DA-BD03C135A297}";
const EMULATED: &str = "{959027A1-FCCE-4E78-BCF4-637384F499C5}";

const SHARED_INFO_V2: &[&str] = &[
    "SharedInfoAcquire",
    "SharedInfoRelease",
    "SharedInfoUpcallPending",
    "SharedInfoEvtchnPoll",
    "SharedInfoEvtchnAck",
    "SharedInfoEvtchnMask",
    "SharedInfoEvtchnUnmask",
    "SharedInfoGetTimeVersion2",
];
const SHARED_INFO_V3: &[&str] = &[
    "SharedInfoAcquire",
    "SharedInfoRelease",
    "SharedInfoUpcallPending",
    "SharedInfoEvtchnPoll",
    "SharedInfoEvtchnAck",
    "SharedInfoEvtchnMask",
    "SharedInfoEvtchnUnmask",
    "SharedInfoGetTime",
];
const SHARED_INFO_V4: &[&str] = &[
    "SharedInfoAcquire",
    "SharedInfoRelease",
    "SharedInfoUpcallSupported",
    "SharedInfoUpcallPending",
    "SharedInfoEvtchnPoll",
    "SharedInfoEvtchnAck",
    "SharedInfoEvtchnMask",
    "SharedInfoEvtchnUnmask",
    "SharedInfoGetTime",
];
const EVTCHN_V5: &[&str] = &[
    "EvtchnAcquire",
    "EvtchnRelease",
    "EvtchnOpen",
    "EvtchnBind",
    "EvtchnUnmaskVersion4",
    "EvtchnSendVersion1",
    "EvtchnTrigger",
    "EvtchnWaitVersion5",
    "EvtchnGetPort",
    "EvtchnClose",
];
const EVTCHN_V6: &[&str] = &[
    "EvtchnAcquire",
    "EvtchnRelease",
    "EvtchnOpen",
    "EvtchnBind",
    "EvtchnUnmaskVersion4",
    "EvtchnSend",
    "EvtchnTrigger",
    "EvtchnWaitVersion5",
    "EvtchnGetPort",
    "EvtchnClose",
];
const EVTCHN_V7: &[&str] = &[
    "EvtchnAcquire",
    "EvtchnRelease",
    "EvtchnOpen",
    "EvtchnBind",
    "EvtchnUnmaskVersion4",
    "EvtchnSend",
    "EvtchnTrigger",
    "EvtchnGetCount",
    "EvtchnWait",
    "EvtchnGetPort",
    "EvtchnClose",
];
const EVTCHN_V8: &[&str] = &[
    "EvtchnAcquire",
    "EvtchnRelease",
    "EvtchnOpen",
    "EvtchnBind",
    "EvtchnUnmask",
    "EvtchnSend",
    "EvtchnTrigger",
    "EvtchnGetCount",
    "EvtchnWait",
    "EvtchnGetPort",
    "EvtchnClose",
];
const GNTTAB_V2: &[&str] = &[
    "GnttabAcquire",
    "GnttabRelease",
    "GnttabCreateCacheVersion1",
    "GnttabPermitForeignAccess",
    "GnttabRevokeForeignAccess",
    "GnttabGetReference",
    "GnttabDestroyCache",
    "GnttabMapForeignPages",
    "GnttabUnmapForeignPages",
];
const GNTTAB_V3: &[&str] = &[
    "GnttabAcquire",
    "GnttabRelease",
    "GnttabCreateCacheVersion1",
    "GnttabPermitForeignAccess",
    "GnttabRevokeForeignAccess",
    "GnttabGetReference",
    "GnttabQueryReference",
    "GnttabDestroyCache",
    "GnttabMapForeignPages",
    "GnttabUnmapForeignPages",
];
const GNTTAB_V4: &[&str] = &[
    "GnttabAcquire",
    "GnttabRelease",
    "GnttabCreateCache",
    "GnttabPermitForeignAccess",
    "GnttabRevokeForeignAccess",
    "GnttabGetReference",
    "GnttabQueryReference",
    "GnttabDestroyCache",
    "GnttabMapForeignPages",
    "GnttabUnmapForeignPages",
];
const UNPLUG_V3: &[&str] = &[
    "UnplugAcquire",
    "UnplugRelease",
    "UnplugRequest",
    "UnplugIsRequested",
    "UnplugBootEmulated",
    "UnplugReboot",
];

#[allow(
    clippy::too_many_lines,
    reason = "one row per interface version: the table is the point"
)]
fn table() -> Vec<Expected> {
    vec![
        row::<XenbusSuspendInterfaceV1>(
            SUSPEND,
            1,
            80,
            &[
                "Acquire",
                "Release",
                "Register",
                "Deregister",
                "Trigger",
                "GetCount",
            ],
            XenbusSuspendInterfaceV1::SLOTS,
        ),
        row::<XenbusSharedInfoInterfaceV2>(
            SHARED_INFO,
            2,
            96,
            SHARED_INFO_V2,
            XenbusSharedInfoInterfaceV2::SLOTS,
        ),
        row::<XenbusSharedInfoInterfaceV3>(
            SHARED_INFO,
            3,
            96,
            SHARED_INFO_V3,
            XenbusSharedInfoInterfaceV3::SLOTS,
        ),
        row::<XenbusSharedInfoInterfaceV4>(
            SHARED_INFO,
            4,
            104,
            SHARED_INFO_V4,
            XenbusSharedInfoInterfaceV4::SLOTS,
        ),
        row::<XenbusEvtchnInterfaceV5>(EVTCHN, 5, 112, EVTCHN_V5, XenbusEvtchnInterfaceV5::SLOTS),
        row::<XenbusEvtchnInterfaceV6>(EVTCHN, 6, 112, EVTCHN_V6, XenbusEvtchnInterfaceV6::SLOTS),
        row::<XenbusEvtchnInterfaceV7>(EVTCHN, 7, 120, EVTCHN_V7, XenbusEvtchnInterfaceV7::SLOTS),
        row::<XenbusEvtchnInterfaceV8>(EVTCHN, 8, 120, EVTCHN_V8, XenbusEvtchnInterfaceV8::SLOTS),
        row::<XenbusEvtchnInterfaceV9>(EVTCHN, 9, 120, EVTCHN_V8, XenbusEvtchnInterfaceV9::SLOTS),
        row::<XenbusDebugInterfaceV1>(
            DEBUG,
            1,
            80,
            &[
                "DebugAcquire",
                "DebugRelease",
                "DebugRegister",
                "DebugPrintf",
                "DebugTrigger",
                "DebugDeregister",
            ],
            XenbusDebugInterfaceV1::SLOTS,
        ),
        row::<XenbusStoreInterfaceV2>(
            STORE,
            2,
            136,
            &[
                "StoreAcquire",
                "StoreRelease",
                "StoreFree",
                "StoreRead",
                "StorePrintf",
                "StorePermissionsSet",
                "StoreRemove",
                "StoreDirectory",
                "StoreTransactionStart",
                "StoreTransactionEnd",
                "StoreWatchAdd",
                "StoreWatchRemove",
                "StorePoll",
            ],
            XenbusStoreInterfaceV2::SLOTS,
        ),
        row::<XenbusRangeSetInterfaceV1>(
            RANGE_SET,
            1,
            88,
            &[
                "RangeSetAcquire",
                "RangeSetRelease",
                "RangeSetCreate",
                "RangeSetPut",
                "RangeSetPop",
                "RangeSetGet",
                "RangeSetDestroy",
            ],
            XenbusRangeSetInterfaceV1::SLOTS,
        ),
        row::<XenbusCacheInterfaceV1>(
            CACHE,
            1,
            80,
            &[
                "CacheAcquire",
                "CacheRelease",
                "CacheCreateVersion1",
                "CacheGet",
                "CachePut",
                "CacheDestroy",
            ],
            XenbusCacheInterfaceV1::SLOTS,
        ),
        row::<XenbusCacheInterfaceV2>(
            CACHE,
            2,
            80,
            &[
                "CacheAcquire",
                "CacheRelease",
                "CacheCreate",
                "CacheGet",
                "CachePut",
                "CacheDestroy",
            ],
            XenbusCacheInterfaceV2::SLOTS,
        ),
        row::<XenbusGnttabInterfaceV2>(GNTTAB, 2, 104, GNTTAB_V2, XenbusGnttabInterfaceV2::SLOTS),
        row::<XenbusGnttabInterfaceV3>(GNTTAB, 3, 112, GNTTAB_V3, XenbusGnttabInterfaceV3::SLOTS),
        row::<XenbusGnttabInterfaceV4>(GNTTAB, 4, 112, GNTTAB_V4, XenbusGnttabInterfaceV4::SLOTS),
        row::<XenbusUnplugInterfaceV1>(
            UNPLUG,
            1,
            56,
            &UNPLUG_V3[..3],
            XenbusUnplugInterfaceV1::SLOTS,
        ),
        row::<XenbusUnplugInterfaceV2>(
            UNPLUG,
            2,
            64,
            &UNPLUG_V3[..4],
            XenbusUnplugInterfaceV2::SLOTS,
        ),
        row::<XenbusUnplugInterfaceV3>(UNPLUG, 3, 80, UNPLUG_V3, XenbusUnplugInterfaceV3::SLOTS),
        row::<XenbusConsoleInterfaceV1>(
            CONSOLE,
            1,
            96,
            &[
                "ConsoleAcquire",
                "ConsoleRelease",
                "ConsoleCanRead",
                "ConsoleRead",
                "ConsoleCanWrite",
                "ConsoleWrite",
                "ConsoleWakeupAdd",
                "ConsoleWakeupRemove",
            ],
            XenbusConsoleInterfaceV1::SLOTS,
        ),
        row::<XenbusBalloonInterfaceV1>(
            BALLOON,
            1,
            64,
            &[
                "BalloonAcquire",
                "BalloonRelease",
                "BalloonAdjust",
                "BalloonGetSize",
            ],
            XenbusBalloonInterfaceV1::SLOTS,
        ),
        row::<XenfiltEmulatedInterfaceV1>(
            EMULATED,
            1,
            64,
            &[
                "EmulatedAcquire",
                "EmulatedRelease",
                "EmulatedIsDevicePresentVersion1",
                "EmulatedIsDiskPresentVersion1",
            ],
            XenfiltEmulatedInterfaceV1::SLOTS,
        ),
        row::<XenfiltEmulatedInterfaceV2>(
            EMULATED,
            2,
            64,
            &[
                "EmulatedAcquire",
                "EmulatedRelease",
                "EmulatedIsDevicePresentVersion1",
                "EmulatedIsDiskPresent",
            ],
            XenfiltEmulatedInterfaceV2::SLOTS,
        ),
        row::<XenfiltEmulatedInterfaceV3>(
            EMULATED,
            3,
            64,
            &[
                "EmulatedAcquire",
                "EmulatedRelease",
                "EmulatedIsDevicePresent",
                "EmulatedIsDiskPresent",
            ],
            XenfiltEmulatedInterfaceV3::SLOTS,
        ),
    ]
}

#[test]
fn interface_header_is_the_wdm_interface_layout() {
    assert_eq!(size_of::<InterfaceHeader>(), 32);
    assert_eq!(offset_of!(InterfaceHeader, size), 0);
    assert_eq!(offset_of!(InterfaceHeader, version), 2);
    assert_eq!(offset_of!(InterfaceHeader, context), 8);
    assert_eq!(offset_of!(InterfaceHeader, interface_reference), 16);
    assert_eq!(offset_of!(InterfaceHeader, interface_dereference), 24);
}

#[test]
fn every_version_has_the_c_guid_version_size_and_slot_order() {
    for e in table() {
        let name = e.c_name;
        assert_eq!(e.guid_of_table, e.guid, "{name}: GUID");
        assert_eq!(e.version_of_table, e.version, "{name}: version");
        assert!(
            e.c_name_of_table.ends_with(&format!("_V{}", e.version)),
            "{name}: name"
        );
        assert_eq!(e.size_of_table, e.size, "{name}: size");
        assert_eq!(usize::from(e.header_size), e.size, "{name}: Size field");
        assert_eq!(e.size, 32 + 8 * e.methods.len(), "{name}: method count");
        let slots: Vec<&str> = e.slots.iter().map(|(n, _)| *n).collect();
        assert_eq!(slots, e.methods, "{name}: slot order");
        for (i, (method, offset)) in e.slots.iter().enumerate() {
            assert_eq!(*offset, 32 + 8 * i, "{name}: {method} offset");
        }
    }
}

#[test]
fn every_version_between_min_and_max_is_in_the_table() {
    let table = table();
    let ranges = [
        (
            SUSPEND,
            XENBUS_SUSPEND_INTERFACE_VERSION_MIN,
            XENBUS_SUSPEND_INTERFACE_VERSION_MAX,
        ),
        (
            SHARED_INFO,
            XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN,
            XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX,
        ),
        (
            EVTCHN,
            XENBUS_EVTCHN_INTERFACE_VERSION_MIN,
            XENBUS_EVTCHN_INTERFACE_VERSION_MAX,
        ),
        (
            DEBUG,
            XENBUS_DEBUG_INTERFACE_VERSION_MIN,
            XENBUS_DEBUG_INTERFACE_VERSION_MAX,
        ),
        (
            STORE,
            XENBUS_STORE_INTERFACE_VERSION_MIN,
            XENBUS_STORE_INTERFACE_VERSION_MAX,
        ),
        (
            RANGE_SET,
            XENBUS_RANGE_SET_INTERFACE_VERSION_MIN,
            XENBUS_RANGE_SET_INTERFACE_VERSION_MAX,
        ),
        (
            CACHE,
            XENBUS_CACHE_INTERFACE_VERSION_MIN,
            XENBUS_CACHE_INTERFACE_VERSION_MAX,
        ),
        (
            GNTTAB,
            XENBUS_GNTTAB_INTERFACE_VERSION_MIN,
            XENBUS_GNTTAB_INTERFACE_VERSION_MAX,
        ),
        (
            UNPLUG,
            XENBUS_UNPLUG_INTERFACE_VERSION_MIN,
            XENBUS_UNPLUG_INTERFACE_VERSION_MAX,
        ),
        (
            CONSOLE,
            XENBUS_CONSOLE_INTERFACE_VERSION_MIN,
            XENBUS_CONSOLE_INTERFACE_VERSION_MAX,
        ),
        (
            BALLOON,
            XENBUS_BALLOON_INTERFACE_VERSION_MIN,
            XENBUS_BALLOON_INTERFACE_VERSION_MAX,
        ),
        (
            EMULATED,
            XENFILT_EMULATED_INTERFACE_VERSION_MIN,
            XENFILT_EMULATED_INTERFACE_VERSION_MAX,
        ),
    ];
    let mut expected = 0;
    for (guid, min, max) in ranges {
        for version in min..=max {
            expected += 1;
            assert!(
                table.iter().any(|e| e.guid == guid && e.version == version),
                "{guid} v{version} has no table"
            );
        }
    }
    assert_eq!(table.len(), expected, "a table outside MIN..MAX");
}

#[test]
fn revision_table_matches_the_c_package() {
    use xenbus_interface::revision::{REVISIONS, newest};
    let rows: Vec<(u32, [u16; 11])> = REVISIONS.iter().map(|r| (r.number, r.columns())).collect();
    assert_eq!(
        rows,
        [
            (0x0900_0008, [1, 3, 9, 1, 2, 1, 2, 4, 1, 1, 2]),
            (0x0900_0009, [1, 4, 9, 1, 2, 1, 2, 4, 1, 1, 2]),
            (0x0900_000A, [1, 4, 9, 1, 2, 1, 2, 4, 2, 1, 2]),
            (0x0900_000B, [1, 4, 9, 1, 2, 1, 2, 4, 3, 1, 2]),
            (0x0900_000C, [1, 4, 9, 1, 2, 1, 2, 4, 3, 1, 3]),
        ]
    );
    assert_eq!(newest().number, 0x0900_000C);
}
