// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DMA adapters: `DMA_ADAPTER`, its `DMA_OPERATIONS` table (the three versions the Windows 8
//! DDK defines, which is as far as a table's `Size` is understood here), the scatter/gather
//! list and the callbacks the adapter runs.
//!
//! mingw-w64's headers stop at version 2 (`BuildMdlFromScatterGatherList`); the version 3
//! members follow Microsoft's `wdm.h` order. A table's version is read from its `Size`:
//! [`DMA_OPERATIONS_SIZE1`], [`DMA_OPERATIONS_SIZE2`] or [`DMA_OPERATIONS_SIZE3`].

use core::mem::{offset_of, size_of};

use super::basic::{BOOLEAN, PHYSICAL_ADDRESS, PVOID, ULONG, ULONG_PTR, ULONGLONG, USHORT};
use super::io::{DEVICE_OBJECT, IRP};
use super::mm::MDL;
use crate::NTSTATUS;

/// `IO_ALLOCATION_ACTION`: what an adapter-control routine tells the adapter to do.
pub type IO_ALLOCATION_ACTION = i32;
/// `KeepObject`: keep the adapter channel and the map registers.
pub const KeepObject: IO_ALLOCATION_ACTION = 1;
/// `DeallocateObject`: free the adapter channel and the map registers.
pub const DeallocateObject: IO_ALLOCATION_ACTION = 2;
/// `DeallocateObjectKeepRegisters`: free the adapter channel, keep the map registers.
pub const DeallocateObjectKeepRegisters: IO_ALLOCATION_ACTION = 3;

/// `DMA_COMPLETION_STATUS`.
pub type DMA_COMPLETION_STATUS = i32;

/// `NODE_REQUIREMENT` (`AllocateCommonBufferEx`'s preferred NUMA node).
pub type NODE_REQUIREMENT = ULONG;

/// `DMA_ADAPTER`: the head of every adapter object.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DMA_ADAPTER {
    /// `Version`.
    pub Version: USHORT,
    /// `Size`: of this head (`sizeof (DMA_ADAPTER)`).
    pub Size: USHORT,
    /// `DmaOperations`.
    pub DmaOperations: *mut DMA_OPERATIONS,
}

/// `SCATTER_GATHER_ELEMENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SCATTER_GATHER_ELEMENT {
    /// `Address`: the logical (device) address.
    pub Address: PHYSICAL_ADDRESS,
    /// `Length` in bytes.
    pub Length: ULONG,
    /// `Reserved`.
    pub Reserved: ULONG_PTR,
}

/// `SCATTER_GATHER_LIST`: the head; `NumberOfElements` [`SCATTER_GATHER_ELEMENT`]s follow
/// (`Elements` is the first).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SCATTER_GATHER_LIST {
    /// `NumberOfElements`.
    pub NumberOfElements: ULONG,
    /// `Reserved`.
    pub Reserved: ULONG_PTR,
    /// `Elements[1]`: the first element.
    pub Elements: [SCATTER_GATHER_ELEMENT; 1],
}

/// `DMA_ADAPTER_INFO` (opaque: passed through).
#[repr(C)]
#[derive(Debug)]
pub struct DMA_ADAPTER_INFO {
    _opaque: [u8; 0],
}

/// `DMA_TRANSFER_INFO` (opaque: passed through).
#[repr(C)]
#[derive(Debug)]
pub struct DMA_TRANSFER_INFO {
    _opaque: [u8; 0],
}

/// `DRIVER_CONTROL`: an adapter-control (execution) routine.
pub type DRIVER_CONTROL = unsafe extern "system" fn(
    DeviceObject: *mut DEVICE_OBJECT,
    Irp: *mut IRP,
    MapRegisterBase: PVOID,
    Context: PVOID,
) -> IO_ALLOCATION_ACTION;
/// `DRIVER_LIST_CONTROL`: a scatter/gather execution routine.
pub type DRIVER_LIST_CONTROL = unsafe extern "system" fn(
    DeviceObject: *mut DEVICE_OBJECT,
    Irp: *mut IRP,
    ScatterGather: *mut SCATTER_GATHER_LIST,
    Context: PVOID,
);
/// `DMA_COMPLETION_ROUTINE`.
pub type DMA_COMPLETION_ROUTINE = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    CompletionContext: PVOID,
    Status: DMA_COMPLETION_STATUS,
);

/// `PUT_DMA_ADAPTER`.
pub type PUT_DMA_ADAPTER = unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER);
/// `ALLOCATE_COMMON_BUFFER`.
pub type ALLOCATE_COMMON_BUFFER = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Length: ULONG,
    LogicalAddress: *mut PHYSICAL_ADDRESS,
    CacheEnabled: BOOLEAN,
) -> PVOID;
/// `FREE_COMMON_BUFFER`.
pub type FREE_COMMON_BUFFER = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Length: ULONG,
    LogicalAddress: PHYSICAL_ADDRESS,
    VirtualAddress: PVOID,
    CacheEnabled: BOOLEAN,
);
/// `ALLOCATE_ADAPTER_CHANNEL`.
pub type ALLOCATE_ADAPTER_CHANNEL = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    NumberOfMapRegisters: ULONG,
    ExecutionRoutine: Option<DRIVER_CONTROL>,
    Context: PVOID,
) -> NTSTATUS;
/// `FLUSH_ADAPTER_BUFFERS`.
pub type FLUSH_ADAPTER_BUFFERS = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    MapRegisterBase: PVOID,
    CurrentVa: PVOID,
    Length: ULONG,
    WriteToDevice: BOOLEAN,
) -> BOOLEAN;
/// `FREE_ADAPTER_CHANNEL`.
pub type FREE_ADAPTER_CHANNEL = unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER);
/// `FREE_MAP_REGISTERS`.
pub type FREE_MAP_REGISTERS = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    MapRegisterBase: PVOID,
    NumberOfMapRegisters: ULONG,
);
/// `MAP_TRANSFER`.
pub type MAP_TRANSFER = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    MapRegisterBase: PVOID,
    CurrentVa: PVOID,
    Length: *mut ULONG,
    WriteToDevice: BOOLEAN,
) -> PHYSICAL_ADDRESS;
/// `GET_DMA_ALIGNMENT`.
pub type GET_DMA_ALIGNMENT = unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER) -> ULONG;
/// `READ_DMA_COUNTER`.
pub type READ_DMA_COUNTER = unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER) -> ULONG;
/// `GET_SCATTER_GATHER_LIST`.
pub type GET_SCATTER_GATHER_LIST = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    Mdl: *mut MDL,
    CurrentVa: PVOID,
    Length: ULONG,
    ExecutionRoutine: Option<DRIVER_LIST_CONTROL>,
    Context: PVOID,
    WriteToDevice: BOOLEAN,
) -> NTSTATUS;
/// `PUT_SCATTER_GATHER_LIST`.
pub type PUT_SCATTER_GATHER_LIST = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    ScatterGather: *mut SCATTER_GATHER_LIST,
    WriteToDevice: BOOLEAN,
);
/// `CALCULATE_SCATTER_GATHER_LIST_SIZE`.
pub type CALCULATE_SCATTER_GATHER_LIST_SIZE = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    CurrentVa: PVOID,
    Length: ULONG,
    ScatterGatherListSize: *mut ULONG,
    NumberOfMapRegisters: *mut ULONG,
) -> NTSTATUS;
/// `BUILD_SCATTER_GATHER_LIST`.
pub type BUILD_SCATTER_GATHER_LIST = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    Mdl: *mut MDL,
    CurrentVa: PVOID,
    Length: ULONG,
    ExecutionRoutine: Option<DRIVER_LIST_CONTROL>,
    Context: PVOID,
    WriteToDevice: BOOLEAN,
    ScatterGatherBuffer: PVOID,
    ScatterGatherLength: ULONG,
) -> NTSTATUS;
/// `BUILD_MDL_FROM_SCATTER_GATHER_LIST`.
pub type BUILD_MDL_FROM_SCATTER_GATHER_LIST = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    ScatterGather: *mut SCATTER_GATHER_LIST,
    OriginalMdl: *mut MDL,
    TargetMdl: *mut *mut MDL,
) -> NTSTATUS;
/// `GET_DMA_ADAPTER_INFO`.
pub type GET_DMA_ADAPTER_INFO = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    AdapterInfo: *mut DMA_ADAPTER_INFO,
) -> NTSTATUS;
/// `GET_DMA_TRANSFER_INFO`.
pub type GET_DMA_TRANSFER_INFO = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    Offset: ULONGLONG,
    Length: ULONG,
    WriteOnly: BOOLEAN,
    TransferInfo: *mut DMA_TRANSFER_INFO,
) -> NTSTATUS;
/// `INITIALIZE_DMA_TRANSFER_CONTEXT`.
pub type INITIALIZE_DMA_TRANSFER_CONTEXT =
    unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER, DmaTransferContext: PVOID) -> NTSTATUS;
/// `ALLOCATE_COMMON_BUFFER_EX`.
pub type ALLOCATE_COMMON_BUFFER_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    MaximumAddress: *mut PHYSICAL_ADDRESS,
    Length: ULONG,
    LogicalAddress: *mut PHYSICAL_ADDRESS,
    CacheEnabled: BOOLEAN,
    PreferredNode: NODE_REQUIREMENT,
) -> PVOID;
/// `ALLOCATE_ADAPTER_CHANNEL_EX`.
pub type ALLOCATE_ADAPTER_CHANNEL_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    DmaTransferContext: PVOID,
    NumberOfMapRegisters: ULONG,
    Flags: ULONG,
    ExecutionRoutine: Option<DRIVER_CONTROL>,
    ExecutionContext: PVOID,
    MapRegisterBase: *mut PVOID,
) -> NTSTATUS;
/// `CONFIGURE_ADAPTER_CHANNEL`.
pub type CONFIGURE_ADAPTER_CHANNEL = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    FunctionNumber: ULONG,
    Context: PVOID,
) -> NTSTATUS;
/// `CANCEL_ADAPTER_CHANNEL`.
pub type CANCEL_ADAPTER_CHANNEL = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    DmaTransferContext: PVOID,
) -> BOOLEAN;
/// `MAP_TRANSFER_EX`.
pub type MAP_TRANSFER_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    MapRegisterBase: PVOID,
    Offset: ULONGLONG,
    DeviceOffset: ULONG,
    Length: *mut ULONG,
    WriteToDevice: BOOLEAN,
    ScatterGatherBuffer: *mut SCATTER_GATHER_LIST,
    ScatterGatherBufferLength: ULONG,
    DmaCompletionRoutine: Option<DMA_COMPLETION_ROUTINE>,
    CompletionContext: PVOID,
) -> NTSTATUS;
/// `GET_SCATTER_GATHER_LIST_EX`.
pub type GET_SCATTER_GATHER_LIST_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    DmaTransferContext: PVOID,
    Mdl: *mut MDL,
    Offset: ULONGLONG,
    Length: ULONG,
    Flags: ULONG,
    ExecutionRoutine: Option<DRIVER_LIST_CONTROL>,
    Context: PVOID,
    WriteToDevice: BOOLEAN,
    DmaCompletionRoutine: Option<DMA_COMPLETION_ROUTINE>,
    CompletionContext: PVOID,
    ScatterGatherList: *mut *mut SCATTER_GATHER_LIST,
) -> NTSTATUS;
/// `BUILD_SCATTER_GATHER_LIST_EX`.
pub type BUILD_SCATTER_GATHER_LIST_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    DeviceObject: *mut DEVICE_OBJECT,
    DmaTransferContext: PVOID,
    Mdl: *mut MDL,
    Offset: ULONGLONG,
    Length: ULONG,
    Flags: ULONG,
    ExecutionRoutine: Option<DRIVER_LIST_CONTROL>,
    Context: PVOID,
    WriteToDevice: BOOLEAN,
    ScatterGatherBuffer: PVOID,
    ScatterGatherLength: ULONG,
    DmaCompletionRoutine: Option<DMA_COMPLETION_ROUTINE>,
    CompletionContext: PVOID,
    ScatterGatherList: *mut *mut SCATTER_GATHER_LIST,
) -> NTSTATUS;
/// `FLUSH_ADAPTER_BUFFERS_EX`.
pub type FLUSH_ADAPTER_BUFFERS_EX = unsafe extern "system" fn(
    DmaAdapter: *mut DMA_ADAPTER,
    Mdl: *mut MDL,
    MapRegisterBase: PVOID,
    Offset: ULONGLONG,
    Length: ULONG,
    WriteToDevice: BOOLEAN,
) -> NTSTATUS;
/// `FREE_ADAPTER_OBJECT`.
pub type FREE_ADAPTER_OBJECT =
    unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER, AllocationAction: IO_ALLOCATION_ACTION);
/// `CANCEL_MAPPED_TRANSFER`.
pub type CANCEL_MAPPED_TRANSFER =
    unsafe extern "system" fn(DmaAdapter: *mut DMA_ADAPTER, DmaTransferContext: PVOID) -> NTSTATUS;

/// `DMA_OPERATIONS` up to version 3. A table of an older version is shorter: its `Size` says
/// where it ends, and the members past it do not exist.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DMA_OPERATIONS {
    /// `Size`: the bytes of the table, this member included.
    pub Size: ULONG,
    /// `PutDmaAdapter` (version 1).
    pub PutDmaAdapter: Option<PUT_DMA_ADAPTER>,
    /// `AllocateCommonBuffer`.
    pub AllocateCommonBuffer: Option<ALLOCATE_COMMON_BUFFER>,
    /// `FreeCommonBuffer`.
    pub FreeCommonBuffer: Option<FREE_COMMON_BUFFER>,
    /// `AllocateAdapterChannel`.
    pub AllocateAdapterChannel: Option<ALLOCATE_ADAPTER_CHANNEL>,
    /// `FlushAdapterBuffers`.
    pub FlushAdapterBuffers: Option<FLUSH_ADAPTER_BUFFERS>,
    /// `FreeAdapterChannel`.
    pub FreeAdapterChannel: Option<FREE_ADAPTER_CHANNEL>,
    /// `FreeMapRegisters`.
    pub FreeMapRegisters: Option<FREE_MAP_REGISTERS>,
    /// `MapTransfer`.
    pub MapTransfer: Option<MAP_TRANSFER>,
    /// `GetDmaAlignment`.
    pub GetDmaAlignment: Option<GET_DMA_ALIGNMENT>,
    /// `ReadDmaCounter`.
    pub ReadDmaCounter: Option<READ_DMA_COUNTER>,
    /// `GetScatterGatherList`.
    pub GetScatterGatherList: Option<GET_SCATTER_GATHER_LIST>,
    /// `PutScatterGatherList`.
    pub PutScatterGatherList: Option<PUT_SCATTER_GATHER_LIST>,
    /// `CalculateScatterGatherList` (version 2).
    pub CalculateScatterGatherList: Option<CALCULATE_SCATTER_GATHER_LIST_SIZE>,
    /// `BuildScatterGatherList`.
    pub BuildScatterGatherList: Option<BUILD_SCATTER_GATHER_LIST>,
    /// `BuildMdlFromScatterGatherList`.
    pub BuildMdlFromScatterGatherList: Option<BUILD_MDL_FROM_SCATTER_GATHER_LIST>,
    /// `GetDmaAdapterInfo` (version 3).
    pub GetDmaAdapterInfo: Option<GET_DMA_ADAPTER_INFO>,
    /// `GetDmaTransferInfo`.
    pub GetDmaTransferInfo: Option<GET_DMA_TRANSFER_INFO>,
    /// `InitializeDmaTransferContext`.
    pub InitializeDmaTransferContext: Option<INITIALIZE_DMA_TRANSFER_CONTEXT>,
    /// `AllocateCommonBufferEx`.
    pub AllocateCommonBufferEx: Option<ALLOCATE_COMMON_BUFFER_EX>,
    /// `AllocateAdapterChannelEx`.
    pub AllocateAdapterChannelEx: Option<ALLOCATE_ADAPTER_CHANNEL_EX>,
    /// `ConfigureAdapterChannel`.
    pub ConfigureAdapterChannel: Option<CONFIGURE_ADAPTER_CHANNEL>,
    /// `CancelAdapterChannel`.
    pub CancelAdapterChannel: Option<CANCEL_ADAPTER_CHANNEL>,
    /// `MapTransferEx`.
    pub MapTransferEx: Option<MAP_TRANSFER_EX>,
    /// `GetScatterGatherListEx`.
    pub GetScatterGatherListEx: Option<GET_SCATTER_GATHER_LIST_EX>,
    /// `BuildScatterGatherListEx`.
    pub BuildScatterGatherListEx: Option<BUILD_SCATTER_GATHER_LIST_EX>,
    /// `FlushAdapterBuffersEx`.
    pub FlushAdapterBuffersEx: Option<FLUSH_ADAPTER_BUFFERS_EX>,
    /// `FreeAdapterObject`.
    pub FreeAdapterObject: Option<FREE_ADAPTER_OBJECT>,
    /// `CancelMappedTransfer`.
    pub CancelMappedTransfer: Option<CANCEL_MAPPED_TRANSFER>,
}

/// `Size` of a version 1 table: up to `PutScatterGatherList` (104 on x64).
#[expect(
    clippy::cast_possible_truncation,
    reason = "a table is far smaller than 4 GiB (the sizes are asserted below)"
)]
pub const DMA_OPERATIONS_SIZE1: ULONG =
    offset_of!(DMA_OPERATIONS, CalculateScatterGatherList) as ULONG;
/// `Size` of a version 2 table: up to `BuildMdlFromScatterGatherList` (128 on x64).
#[expect(
    clippy::cast_possible_truncation,
    reason = "a table is far smaller than 4 GiB (the sizes are asserted below)"
)]
pub const DMA_OPERATIONS_SIZE2: ULONG = offset_of!(DMA_OPERATIONS, GetDmaAdapterInfo) as ULONG;
/// `Size` of a version 3 table: all of [`DMA_OPERATIONS`] (232 on x64).
#[expect(
    clippy::cast_possible_truncation,
    reason = "a table is far smaller than 4 GiB (the sizes are asserted below)"
)]
pub const DMA_OPERATIONS_SIZE3: ULONG = size_of::<DMA_OPERATIONS>() as ULONG;

const _: () = assert!(DMA_OPERATIONS_SIZE1 == 104);
const _: () = assert!(DMA_OPERATIONS_SIZE2 == 128);
const _: () = assert!(DMA_OPERATIONS_SIZE3 == 232);
const _: () = assert!(size_of::<DMA_ADAPTER>() == 16);
const _: () = assert!(size_of::<SCATTER_GATHER_ELEMENT>() == 24);
const _: () = assert!(offset_of!(SCATTER_GATHER_LIST, Elements) == 16);
