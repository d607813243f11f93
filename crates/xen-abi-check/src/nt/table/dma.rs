// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::dma`: the DMA adapter, its operations table and scatter/gather lists.
//!
//! mingw-w64's `DMA_OPERATIONS` ends at version 2; the version 3 members and their routine
//! types are checked against Microsoft's `wdm.h` (Windows 8 and later) instead.

use core::mem::{offset_of, size_of};

use super::{NtTable, consts, fields, fn_pointers, layout};

/// Where the version 3 part of `DMA_OPERATIONS` is documented.
const VERSION3: &str = "Microsoft's wdm.h (Windows 8 and later): DMA_OPERATIONS version 3, \
                        GetDmaAdapterInfo to CancelMappedTransfer, one pointer each";

pub fn items(t: &mut NtTable) {
    consts!(
        t,
        [KeepObject, DeallocateObject, DeallocateObjectKeepRegisters]
    );
    fn_pointers!(
        t,
        [
            PDRIVER_CONTROL => DRIVER_CONTROL,
            PDRIVER_LIST_CONTROL => DRIVER_LIST_CONTROL,
            PPUT_DMA_ADAPTER => PUT_DMA_ADAPTER,
            PALLOCATE_COMMON_BUFFER => ALLOCATE_COMMON_BUFFER,
            PFREE_COMMON_BUFFER => FREE_COMMON_BUFFER,
            PALLOCATE_ADAPTER_CHANNEL => ALLOCATE_ADAPTER_CHANNEL,
            PFLUSH_ADAPTER_BUFFERS => FLUSH_ADAPTER_BUFFERS,
            PFREE_ADAPTER_CHANNEL => FREE_ADAPTER_CHANNEL,
            PFREE_MAP_REGISTERS => FREE_MAP_REGISTERS,
            PMAP_TRANSFER => MAP_TRANSFER,
            PGET_DMA_ALIGNMENT => GET_DMA_ALIGNMENT,
            PREAD_DMA_COUNTER => READ_DMA_COUNTER,
            PGET_SCATTER_GATHER_LIST => GET_SCATTER_GATHER_LIST,
            PPUT_SCATTER_GATHER_LIST => PUT_SCATTER_GATHER_LIST,
            PCALCULATE_SCATTER_GATHER_LIST_SIZE => CALCULATE_SCATTER_GATHER_LIST_SIZE,
            PBUILD_SCATTER_GATHER_LIST => BUILD_SCATTER_GATHER_LIST,
            PBUILD_MDL_FROM_SCATTER_GATHER_LIST => BUILD_MDL_FROM_SCATTER_GATHER_LIST,
        ]
    );
    for (name, size) in [
        (
            "DMA_COMPLETION_ROUTINE",
            size_of::<Option<ntddk::DMA_COMPLETION_ROUTINE>>(),
        ),
        (
            "GET_DMA_ADAPTER_INFO",
            size_of::<Option<ntddk::GET_DMA_ADAPTER_INFO>>(),
        ),
        (
            "GET_DMA_TRANSFER_INFO",
            size_of::<Option<ntddk::GET_DMA_TRANSFER_INFO>>(),
        ),
        (
            "INITIALIZE_DMA_TRANSFER_CONTEXT",
            size_of::<Option<ntddk::INITIALIZE_DMA_TRANSFER_CONTEXT>>(),
        ),
        (
            "ALLOCATE_COMMON_BUFFER_EX",
            size_of::<Option<ntddk::ALLOCATE_COMMON_BUFFER_EX>>(),
        ),
        (
            "ALLOCATE_ADAPTER_CHANNEL_EX",
            size_of::<Option<ntddk::ALLOCATE_ADAPTER_CHANNEL_EX>>(),
        ),
        (
            "CONFIGURE_ADAPTER_CHANNEL",
            size_of::<Option<ntddk::CONFIGURE_ADAPTER_CHANNEL>>(),
        ),
        (
            "CANCEL_ADAPTER_CHANNEL",
            size_of::<Option<ntddk::CANCEL_ADAPTER_CHANNEL>>(),
        ),
        (
            "MAP_TRANSFER_EX",
            size_of::<Option<ntddk::MAP_TRANSFER_EX>>(),
        ),
        (
            "GET_SCATTER_GATHER_LIST_EX",
            size_of::<Option<ntddk::GET_SCATTER_GATHER_LIST_EX>>(),
        ),
        (
            "BUILD_SCATTER_GATHER_LIST_EX",
            size_of::<Option<ntddk::BUILD_SCATTER_GATHER_LIST_EX>>(),
        ),
        (
            "FLUSH_ADAPTER_BUFFERS_EX",
            size_of::<Option<ntddk::FLUSH_ADAPTER_BUFFERS_EX>>(),
        ),
        (
            "FREE_ADAPTER_OBJECT",
            size_of::<Option<ntddk::FREE_ADAPTER_OBJECT>>(),
        ),
        (
            "CANCEL_MAPPED_TRANSFER",
            size_of::<Option<ntddk::CANCEL_MAPPED_TRANSFER>>(),
        ),
        ("DMA_ADAPTER_INFO", 0),
        ("DMA_TRANSFER_INFO", 0),
        (
            "DMA_COMPLETION_STATUS",
            size_of::<ntddk::DMA_COMPLETION_STATUS>(),
        ),
        ("NODE_REQUIREMENT", size_of::<ntddk::NODE_REQUIREMENT>()),
        (
            "IO_ALLOCATION_ACTION",
            size_of::<ntddk::IO_ALLOCATION_ACTION>(),
        ),
    ] {
        let what = if size == 0 {
            "opaque (passed through by pointer)".to_owned()
        } else {
            format!("{size} bytes")
        };
        t.documented(name, what, VERSION3);
    }
    layout!(
        t,
        DMA_ADAPTER {
            Version,
            Size,
            DmaOperations
        }
    );
    layout!(
        t,
        SCATTER_GATHER_ELEMENT {
            Address,
            Length,
            Reserved
        }
    );
    layout!(
        t,
        SCATTER_GATHER_LIST {
            NumberOfElements,
            Reserved,
            Elements
        }
    );
    // DMA_OPERATIONS: versions 1 and 2 against the headers, the table's size (version 3)
    // against Microsoft's.
    t.covers("DMA_OPERATIONS");
    let scope = super::Scope::root("DMA_OPERATIONS");
    fields!(
        t,
        &scope,
        ntddk::DMA_OPERATIONS {
            Size,
            PutDmaAdapter,
            AllocateCommonBuffer,
            FreeCommonBuffer,
            AllocateAdapterChannel,
            FlushAdapterBuffers,
            FreeAdapterChannel,
            FreeMapRegisters,
            MapTransfer,
            GetDmaAlignment,
            ReadDmaCounter,
            GetScatterGatherList,
            PutScatterGatherList,
            CalculateScatterGatherList,
            BuildScatterGatherList,
            BuildMdlFromScatterGatherList,
        }
    );
    t.exempt(
        "sizeof(DMA_OPERATIONS)",
        size_of::<ntddk::DMA_OPERATIONS>(),
        offset_of!(ntddk::DMA_OPERATIONS, GetDmaAdapterInfo) + 13 * size_of::<usize>(),
        VERSION3,
    );
    t.int(
        "offsetof(DMA_OPERATIONS, BuildMdlFromScatterGatherList) + sizeof(void *)",
        super::wide(ntddk::DMA_OPERATIONS_SIZE2),
    );
    t.int(
        "offsetof(DMA_OPERATIONS, CalculateScatterGatherList)",
        super::wide(ntddk::DMA_OPERATIONS_SIZE1),
    );
    t.covers("DMA_OPERATIONS_SIZE1");
    t.covers("DMA_OPERATIONS_SIZE2");
    t.documented(
        "DMA_OPERATIONS_SIZE3",
        format!("{} bytes", ntddk::DMA_OPERATIONS_SIZE3),
        VERSION3,
    );
}
