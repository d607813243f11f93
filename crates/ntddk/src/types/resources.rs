// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Hardware resources: the assigned lists a bus driver is started with (`CM_*`), the
//! requirement lists it reports and filters (`IO_RESOURCE_*`), and the interrupt connection
//! parameters (`IoConnectInterruptEx`).
//!
//! `CM_PARTIAL_RESOURCE_DESCRIPTOR` is declared under `#pragma pack(4)` in `wdm.h`: it is 20
//! bytes with its union at offset 4, and so are the structures of the union's members (12-byte
//! `Port`, `Memory`, `Generic`). The Rust types are `packed(4)` to match; copy their fields out
//! rather than borrowing them.
//!
//! The variable-length lists (`List[1]`, `PartialDescriptors[1]`, `Descriptors[1]`) run on for
//! their `Count`; walk them through pointers.

use super::basic::{
    INTERFACE_TYPE, IRQ_DEVICE_POLICY, IRQ_PRIORITY, KAFFINITY, KINTERRUPT, KINTERRUPT_MODE,
    KINTERRUPT_POLARITY, KIRQL, KSPIN_LOCK, PHYSICAL_ADDRESS, PVOID, UCHAR, ULONG, USHORT,
};
use super::io::DEVICE_OBJECT;
use super::ke::{KMESSAGE_SERVICE_ROUTINE, KSERVICE_ROUTINE};

/// `Generic`, `Port` and `Memory` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`]: a range.
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_RANGE {
    /// `Start` (bus-relative for the raw list, CPU-relative for the translated one).
    pub Start: PHYSICAL_ADDRESS,
    /// `Length` in bytes.
    pub Length: ULONG,
}

/// `Interrupt` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`], and `MessageInterrupt.Translated`.
///
/// This is the processor-group-aware layout (`NT_PROCESSOR_GROUPS`): `Level` is a `USHORT`
/// followed by `Group`; without it `Level` is a `ULONG` over both.
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_INTERRUPT {
    /// `Level`.
    pub Level: USHORT,
    /// `Group`.
    pub Group: USHORT,
    /// `Vector`.
    pub Vector: ULONG,
    /// `Affinity`.
    pub Affinity: KAFFINITY,
}

/// `MessageInterrupt.Raw` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`].
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT_RAW {
    /// `Group` (`Reserved` without `NT_PROCESSOR_GROUPS`).
    pub Group: USHORT,
    /// `MessageCount`.
    pub MessageCount: USHORT,
    /// `Vector`.
    pub Vector: ULONG,
    /// `Affinity`.
    pub Affinity: KAFFINITY,
}

/// `MessageInterrupt` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`] (an anonymous union in C).
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub union CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT {
    /// `Raw`: in the raw resource list.
    pub Raw: CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT_RAW,
    /// `Translated`: in the translated resource list.
    pub Translated: CM_PARTIAL_RESOURCE_INTERRUPT,
}

/// `Dma` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`].
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_DMA {
    /// `Channel`.
    pub Channel: ULONG,
    /// `Port`.
    pub Port: ULONG,
    /// `Reserved1`.
    pub Reserved1: ULONG,
}

/// `DevicePrivate` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`].
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_DEVICE_PRIVATE {
    /// `Data`.
    pub Data: [ULONG; 3],
}

/// `BusNumber` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`].
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_BUS_NUMBER {
    /// `Start`.
    pub Start: ULONG,
    /// `Length`.
    pub Length: ULONG,
    /// `Reserved`.
    pub Reserved: ULONG,
}

/// `DeviceSpecificData` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`].
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_DEVICE_SPECIFIC_DATA {
    /// `DataSize`: bytes of data following the descriptor.
    pub DataSize: ULONG,
    /// `Reserved1`.
    pub Reserved1: ULONG,
    /// `Reserved2`.
    pub Reserved2: ULONG,
}

/// `Memory40` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`] (`CM_RESOURCE_MEMORY_LARGE_40`: the
/// length is `Length40 << 8`).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_MEMORY40 {
    /// `Start`.
    pub Start: PHYSICAL_ADDRESS,
    /// `Length40`.
    pub Length40: ULONG,
}

/// `Memory48` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`] (the length is `Length48 << 16`).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_MEMORY48 {
    /// `Start`.
    pub Start: PHYSICAL_ADDRESS,
    /// `Length48`.
    pub Length48: ULONG,
}

/// `Memory64` of [`CM_PARTIAL_RESOURCE_DESCRIPTOR_u`] (the length is `Length64 << 32`).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_MEMORY64 {
    /// `Start`.
    pub Start: PHYSICAL_ADDRESS,
    /// `Length64`.
    pub Length64: ULONG,
}

/// `CM_PARTIAL_RESOURCE_DESCRIPTOR.u`: which member is valid follows `Type`
/// (`CmResourceType*`).
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub union CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
    /// `Generic`.
    pub Generic: CM_PARTIAL_RESOURCE_RANGE,
    /// `Port` (`CmResourceTypePort`).
    pub Port: CM_PARTIAL_RESOURCE_RANGE,
    /// `Interrupt` (`CmResourceTypeInterrupt` without `CM_RESOURCE_INTERRUPT_MESSAGE`).
    pub Interrupt: CM_PARTIAL_RESOURCE_INTERRUPT,
    /// `MessageInterrupt` (`CmResourceTypeInterrupt` with `CM_RESOURCE_INTERRUPT_MESSAGE`).
    pub MessageInterrupt: CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT,
    /// `Memory` (`CmResourceTypeMemory`).
    pub Memory: CM_PARTIAL_RESOURCE_RANGE,
    /// `Dma` (`CmResourceTypeDma`).
    pub Dma: CM_PARTIAL_RESOURCE_DMA,
    /// `DevicePrivate` (`CmResourceTypeDevicePrivate`).
    pub DevicePrivate: CM_PARTIAL_RESOURCE_DEVICE_PRIVATE,
    /// `BusNumber` (`CmResourceTypeBusNumber`).
    pub BusNumber: CM_PARTIAL_RESOURCE_BUS_NUMBER,
    /// `DeviceSpecificData` (`CmResourceTypeDeviceSpecific`).
    pub DeviceSpecificData: CM_PARTIAL_RESOURCE_DEVICE_SPECIFIC_DATA,
    /// `Memory40` (`CmResourceTypeMemoryLarge` with `CM_RESOURCE_MEMORY_LARGE_40`).
    pub Memory40: CM_PARTIAL_RESOURCE_MEMORY40,
    /// `Memory48` (`CmResourceTypeMemoryLarge` with `CM_RESOURCE_MEMORY_LARGE_48`).
    pub Memory48: CM_PARTIAL_RESOURCE_MEMORY48,
    /// `Memory64` (`CmResourceTypeMemoryLarge` with `CM_RESOURCE_MEMORY_LARGE_64`).
    pub Memory64: CM_PARTIAL_RESOURCE_MEMORY64,
}

/// `CM_PARTIAL_RESOURCE_DESCRIPTOR`: one assigned resource.
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_DESCRIPTOR {
    /// `Type` (`CmResourceType*`).
    pub Type: UCHAR,
    /// `ShareDisposition` (`CmResourceShare*`).
    pub ShareDisposition: UCHAR,
    /// `Flags` (`CM_RESOURCE_*`, by type).
    pub Flags: USHORT,
    /// `u`.
    pub u: CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
}

/// `CM_PARTIAL_RESOURCE_LIST`: `Count` descriptors from `PartialDescriptors`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CM_PARTIAL_RESOURCE_LIST {
    /// `Version`.
    pub Version: USHORT,
    /// `Revision`.
    pub Revision: USHORT,
    /// `Count`.
    pub Count: ULONG,
    /// `PartialDescriptors` (the first of `Count`).
    pub PartialDescriptors: [CM_PARTIAL_RESOURCE_DESCRIPTOR; 1],
}

/// `CM_FULL_RESOURCE_DESCRIPTOR`: the resources on one bus.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CM_FULL_RESOURCE_DESCRIPTOR {
    /// `InterfaceType`.
    pub InterfaceType: INTERFACE_TYPE,
    /// `BusNumber`.
    pub BusNumber: ULONG,
    /// `PartialResourceList`.
    pub PartialResourceList: CM_PARTIAL_RESOURCE_LIST,
}

/// `CM_RESOURCE_LIST`: what `IRP_MN_START_DEVICE` hands over (`AllocatedResources`,
/// `AllocatedResourcesTranslated`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CM_RESOURCE_LIST {
    /// `Count`.
    pub Count: ULONG,
    /// `List` (the first of `Count`).
    pub List: [CM_FULL_RESOURCE_DESCRIPTOR; 1],
}

/// `Port`, `Memory` and `Generic` of [`IO_RESOURCE_DESCRIPTOR_u`]: a range requirement.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_RANGE {
    /// `Length`.
    pub Length: ULONG,
    /// `Alignment`.
    pub Alignment: ULONG,
    /// `MinimumAddress`.
    pub MinimumAddress: PHYSICAL_ADDRESS,
    /// `MaximumAddress`.
    pub MaximumAddress: PHYSICAL_ADDRESS,
}

/// `Interrupt` of [`IO_RESOURCE_DESCRIPTOR_u`], as Microsoft documents it today.
///
/// That is the Windows 7 and later, processor-group-aware layout. mingw-w64's `wdm.h` stops
/// after `MaximumVector`, so `AffinityPolicy`, `Group`, `PriorityPolicy` and
/// `TargetedProcessors` are checked against Microsoft's documented layout instead
/// (`scripts/check-nt-abi` lists them).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_INTERRUPT {
    /// `MinimumVector`.
    pub MinimumVector: ULONG,
    /// `MaximumVector`.
    pub MaximumVector: ULONG,
    /// `AffinityPolicy` (`IrqPolicy*`).
    pub AffinityPolicy: IRQ_DEVICE_POLICY,
    /// `Group`.
    pub Group: USHORT,
    /// `PriorityPolicy` (`IrqPriority*`).
    pub PriorityPolicy: IRQ_PRIORITY,
    /// `TargetedProcessors`.
    pub TargetedProcessors: KAFFINITY,
}

/// `Dma` of [`IO_RESOURCE_DESCRIPTOR_u`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_DMA {
    /// `MinimumChannel`.
    pub MinimumChannel: ULONG,
    /// `MaximumChannel`.
    pub MaximumChannel: ULONG,
}

/// `DevicePrivate` of [`IO_RESOURCE_DESCRIPTOR_u`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_DEVICE_PRIVATE {
    /// `Data`.
    pub Data: [ULONG; 3],
}

/// `BusNumber` of [`IO_RESOURCE_DESCRIPTOR_u`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_BUS_NUMBER {
    /// `Length`.
    pub Length: ULONG,
    /// `MinBusNumber`.
    pub MinBusNumber: ULONG,
    /// `MaxBusNumber`.
    pub MaxBusNumber: ULONG,
    /// `Reserved`.
    pub Reserved: ULONG,
}

/// `ConfigData` of [`IO_RESOURCE_DESCRIPTOR_u`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_RESOURCE_CONFIG_DATA {
    /// `Priority`.
    pub Priority: ULONG,
    /// `Reserved1`.
    pub Reserved1: ULONG,
    /// `Reserved2`.
    pub Reserved2: ULONG,
}

/// `IO_RESOURCE_DESCRIPTOR.u`: which member is valid follows `Type` (`CmResourceType*`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_RESOURCE_DESCRIPTOR_u {
    /// `Port`.
    pub Port: IO_RESOURCE_RANGE,
    /// `Memory`.
    pub Memory: IO_RESOURCE_RANGE,
    /// `Interrupt`.
    pub Interrupt: IO_RESOURCE_INTERRUPT,
    /// `Dma`.
    pub Dma: IO_RESOURCE_DMA,
    /// `Generic`.
    pub Generic: IO_RESOURCE_RANGE,
    /// `DevicePrivate`.
    pub DevicePrivate: IO_RESOURCE_DEVICE_PRIVATE,
    /// `BusNumber`.
    pub BusNumber: IO_RESOURCE_BUS_NUMBER,
    /// `ConfigData`.
    pub ConfigData: IO_RESOURCE_CONFIG_DATA,
}

/// `IO_RESOURCE_DESCRIPTOR`: one resource requirement.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_RESOURCE_DESCRIPTOR {
    /// `Option` (`IO_RESOURCE_PREFERRED`, `IO_RESOURCE_ALTERNATIVE`, ...).
    pub Option: UCHAR,
    /// `Type` (`CmResourceType*`).
    pub Type: UCHAR,
    /// `ShareDisposition` (`CmResourceShare*`).
    pub ShareDisposition: UCHAR,
    /// `Spare1`.
    pub Spare1: UCHAR,
    /// `Flags` (`CM_RESOURCE_*`, by type).
    pub Flags: USHORT,
    /// `Spare2`.
    pub Spare2: USHORT,
    /// `u`.
    pub u: IO_RESOURCE_DESCRIPTOR_u,
}

/// `IO_RESOURCE_LIST`: one alternative, `Count` descriptors from `Descriptors`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_RESOURCE_LIST {
    /// `Version`.
    pub Version: USHORT,
    /// `Revision`.
    pub Revision: USHORT,
    /// `Count`.
    pub Count: ULONG,
    /// `Descriptors` (the first of `Count`).
    pub Descriptors: [IO_RESOURCE_DESCRIPTOR; 1],
}

/// `IO_RESOURCE_REQUIREMENTS_LIST` (`IRP_MN_FILTER_RESOURCE_REQUIREMENTS`,
/// `IRP_MN_QUERY_RESOURCE_REQUIREMENTS`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_RESOURCE_REQUIREMENTS_LIST {
    /// `ListSize`: bytes of the whole list.
    pub ListSize: ULONG,
    /// `InterfaceType`.
    pub InterfaceType: INTERFACE_TYPE,
    /// `BusNumber`.
    pub BusNumber: ULONG,
    /// `SlotNumber`.
    pub SlotNumber: ULONG,
    /// `Reserved`.
    pub Reserved: [ULONG; 3],
    /// `AlternativeLists`.
    pub AlternativeLists: ULONG,
    /// `List` (the first of `AlternativeLists`).
    pub List: [IO_RESOURCE_LIST; 1],
}

/// `IO_INTERRUPT_MESSAGE_INFO_ENTRY`: one connected message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_INTERRUPT_MESSAGE_INFO_ENTRY {
    /// `MessageAddress`.
    pub MessageAddress: PHYSICAL_ADDRESS,
    /// `TargetProcessorSet`.
    pub TargetProcessorSet: KAFFINITY,
    /// `InterruptObject`.
    pub InterruptObject: *mut KINTERRUPT,
    /// `MessageData`.
    pub MessageData: ULONG,
    /// `Vector`.
    pub Vector: ULONG,
    /// `Irql`.
    pub Irql: KIRQL,
    /// `Mode`.
    pub Mode: KINTERRUPT_MODE,
    /// `Polarity`.
    pub Polarity: KINTERRUPT_POLARITY,
}

/// `IO_INTERRUPT_MESSAGE_INFO`: the table `IoConnectInterruptEx` returns for
/// `CONNECT_MESSAGE_BASED`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_INTERRUPT_MESSAGE_INFO {
    /// `UnifiedIrql`.
    pub UnifiedIrql: KIRQL,
    /// `MessageCount`.
    pub MessageCount: ULONG,
    /// `MessageInfo` (the first of `MessageCount`).
    pub MessageInfo: [IO_INTERRUPT_MESSAGE_INFO_ENTRY; 1],
}

/// `IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
    /// `PhysicalDeviceObject`.
    pub PhysicalDeviceObject: *mut DEVICE_OBJECT,
    /// `InterruptObject`: where the interrupt object is returned.
    pub InterruptObject: *mut *mut KINTERRUPT,
    /// `ServiceRoutine`.
    pub ServiceRoutine: Option<KSERVICE_ROUTINE>,
    /// `ServiceContext`.
    pub ServiceContext: PVOID,
    /// `SpinLock`, or NULL.
    pub SpinLock: *mut KSPIN_LOCK,
    /// `SynchronizeIrql`.
    pub SynchronizeIrql: KIRQL,
    /// `FloatingSave`.
    pub FloatingSave: UCHAR,
    /// `ShareVector`.
    pub ShareVector: UCHAR,
    /// `Vector`.
    pub Vector: ULONG,
    /// `Irql`.
    pub Irql: KIRQL,
    /// `InterruptMode`.
    pub InterruptMode: KINTERRUPT_MODE,
    /// `ProcessorEnableMask`.
    pub ProcessorEnableMask: KAFFINITY,
    /// `Group`.
    pub Group: USHORT,
}

/// `IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS {
    /// `PhysicalDeviceObject`.
    pub PhysicalDeviceObject: *mut DEVICE_OBJECT,
    /// `InterruptObject`: where the interrupt object is returned.
    pub InterruptObject: *mut *mut KINTERRUPT,
    /// `ServiceRoutine`.
    pub ServiceRoutine: Option<KSERVICE_ROUTINE>,
    /// `ServiceContext`.
    pub ServiceContext: PVOID,
    /// `SpinLock`, or NULL.
    pub SpinLock: *mut KSPIN_LOCK,
    /// `SynchronizeIrql`.
    pub SynchronizeIrql: KIRQL,
    /// `FloatingSave`.
    pub FloatingSave: UCHAR,
}

/// `ConnectionContext` of [`IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS`]: where the
/// connection is returned.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_CONNECT_INTERRUPT_MESSAGE_BASED_CONTEXT {
    /// `Generic`.
    pub Generic: *mut PVOID,
    /// `InterruptMessageTable`.
    pub InterruptMessageTable: *mut *mut IO_INTERRUPT_MESSAGE_INFO,
    /// `InterruptObject`.
    pub InterruptObject: *mut *mut KINTERRUPT,
}

/// `IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS {
    /// `PhysicalDeviceObject`.
    pub PhysicalDeviceObject: *mut DEVICE_OBJECT,
    /// `ConnectionContext`.
    pub ConnectionContext: IO_CONNECT_INTERRUPT_MESSAGE_BASED_CONTEXT,
    /// `MessageServiceRoutine`.
    pub MessageServiceRoutine: Option<KMESSAGE_SERVICE_ROUTINE>,
    /// `ServiceContext`.
    pub ServiceContext: PVOID,
    /// `SpinLock`, or NULL.
    pub SpinLock: *mut KSPIN_LOCK,
    /// `SynchronizeIrql`.
    pub SynchronizeIrql: KIRQL,
    /// `FloatingSave`.
    pub FloatingSave: UCHAR,
    /// `FallBackServiceRoutine`: the line-based routine when messages are unavailable.
    pub FallBackServiceRoutine: Option<KSERVICE_ROUTINE>,
}

/// The anonymous union of [`IO_CONNECT_INTERRUPT_PARAMETERS`], chosen by `Version`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_CONNECT_INTERRUPT_PARAMETERS_u {
    /// `FullySpecified` (`CONNECT_FULLY_SPECIFIED`, `CONNECT_FULLY_SPECIFIED_GROUP`).
    pub FullySpecified: IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    /// `LineBased` (`CONNECT_LINE_BASED`).
    pub LineBased: IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS,
    /// `MessageBased` (`CONNECT_MESSAGE_BASED`).
    pub MessageBased: IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS,
}

/// `IO_CONNECT_INTERRUPT_PARAMETERS` (`IoConnectInterruptEx`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_CONNECT_INTERRUPT_PARAMETERS {
    /// `Version` (`CONNECT_*`); on return, the version the kernel used.
    pub Version: ULONG,
    /// `FullySpecified`, `LineBased` or `MessageBased` (an anonymous union in C).
    pub u: IO_CONNECT_INTERRUPT_PARAMETERS_u,
}

/// `ConnectionContext` of [`IO_DISCONNECT_INTERRUPT_PARAMETERS`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_DISCONNECT_INTERRUPT_CONTEXT {
    /// `Generic`.
    pub Generic: PVOID,
    /// `InterruptObject`.
    pub InterruptObject: *mut KINTERRUPT,
    /// `InterruptMessageTable`.
    pub InterruptMessageTable: *mut IO_INTERRUPT_MESSAGE_INFO,
}

/// `IO_DISCONNECT_INTERRUPT_PARAMETERS` (`IoDisconnectInterruptEx`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_DISCONNECT_INTERRUPT_PARAMETERS {
    /// `Version`: the one the connection returned.
    pub Version: ULONG,
    /// `ConnectionContext`.
    pub ConnectionContext: IO_DISCONNECT_INTERRUPT_CONTEXT,
}
