// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types` basics: scalar and enumeration typedefs, strings, GUIDs, small structures.

use super::{NtTable, integers, layout, typedefs};

pub fn items(t: &mut NtTable) {
    integers!(
        t,
        [
            UCHAR,
            CHAR,
            BOOLEAN,
            CCHAR,
            CSHORT,
            SHORT,
            USHORT,
            WCHAR,
            ULONG,
            LONG,
            ULONGLONG,
            ULONG64,
            LONGLONG,
            LONG64,
            ULONG_PTR,
            LONG_PTR,
            SIZE_T,
            KIRQL,
            KPROCESSOR_MODE,
            KPRIORITY,
            KSPIN_LOCK,
            KAFFINITY,
            ACCESS_MASK,
            LCID,
            PFN_NUMBER,
            NTSTATUS,
            DEVICE_TYPE,
            PNP_DEVICE_STATE,
            IRQ_DEVICE_POLICY,
        ]
    );
    // Pointers, LARGE_INTEGER unions and enumerations: size and alignment (GCC makes an
    // enumeration without negative values unsigned, MSVC always int; both are 4 bytes).
    typedefs!(
        t,
        [
            HANDLE,
            PVOID,
            PHYSICAL_ADDRESS,
            LARGE_INTEGER,
            ULARGE_INTEGER,
            POOL_TYPE,
            KEY_VALUE_INFORMATION_CLASS,
            KEY_INFORMATION_CLASS,
            EVENT_TYPE,
            TIMER_TYPE,
            KWAIT_REASON,
            MODE,
            MEMORY_CACHING_TYPE,
            MM_PAGE_PRIORITY,
            LOCK_OPERATION,
            INTERFACE_TYPE,
            KDPC_IMPORTANCE,
            KINTERRUPT_MODE,
            KINTERRUPT_POLARITY,
            SYSTEM_POWER_STATE,
            DEVICE_POWER_STATE,
            POWER_STATE_TYPE,
            POWER_ACTION,
            DEVICE_RELATION_TYPE,
            WORK_QUEUE_TYPE,
            BUS_QUERY_ID_TYPE,
            DEVICE_TEXT_TYPE,
            DEVICE_USAGE_NOTIFICATION_TYPE,
            KBUGCHECK_CALLBACK_REASON,
            KBUGCHECK_BUFFER_DUMP_STATE,
            KE_PROCESSOR_CHANGE_NOTIFY_STATE,
            CM_SHARE_DISPOSITION,
            IRQ_PRIORITY,
            IO_NOTIFICATION_EVENT_CATEGORY,
        ]
    );
    t.documented(
        "POOL_FLAGS",
        format!("ULONG64 ({} bytes)", size_of::<ntddk::POOL_FLAGS>()),
        "Microsoft's documentation of ExAllocatePool2 (Windows 10 2004 and later)",
    );
    // Opaque objects: pointed at, never embedded or looked into.
    for name in [
        "FILE_OBJECT",
        "KINTERRUPT",
        "ETHREAD",
        "EPROCESS",
        "IO_TIMER",
        "VPB",
        "DEVOBJ_EXTENSION",
        "IO_WORKITEM",
        "SECURITY_DESCRIPTOR",
        "FAST_IO_DISPATCH",
        "OBJECT_TYPE",
    ] {
        t.covers(name);
    }

    layout!(t, LIST_ENTRY { Flink, Blink });
    layout!(t, SINGLE_LIST_ENTRY { Next });
    layout!(
        t,
        UNICODE_STRING {
            Length,
            MaximumLength,
            Buffer
        }
    );
    layout!(
        t,
        ANSI_STRING {
            Length,
            MaximumLength,
            Buffer
        }
    );
    layout!(
        t,
        GUID {
            Data1,
            Data2,
            Data3,
            Data4
        }
    );
    layout!(
        t,
        OBJECT_ATTRIBUTES {
            Length,
            RootDirectory,
            ObjectName,
            Attributes,
            SecurityDescriptor,
            SecurityQualityOfService,
        }
    );
    // Rust's Status is the whole Status/Pointer slot: check it as C's Pointer, and Status's
    // own offset.
    let iosb = layout!(
        t,
        IO_STATUS_BLOCK {
            Status as "Pointer",
            Information
        }
    );
    t.int(
        format!("offsetof({}, Status)", iosb.c_type),
        super::wide(core::mem::offset_of!(ntddk::IO_STATUS_BLOCK, Status)),
    );
    layout!(
        t,
        TIME_FIELDS {
            Year,
            Month,
            Day,
            Hour,
            Minute,
            Second,
            Milliseconds,
            Weekday,
        }
    );
    layout!(
        t,
        PROCESSOR_NUMBER {
            Group,
            Number,
            Reserved
        }
    );
    layout!(
        t,
        CLIENT_ID {
            UniqueProcess,
            UniqueThread
        }
    );
    layout!(
        t,
        GROUP_AFFINITY {
            Mask,
            Group,
            Reserved
        }
    );
}
