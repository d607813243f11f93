// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The I/O manager's objects: driver and device objects, IRPs and their stack locations.
//!
//! `DEVICE_OBJECT` and `IRP` are `DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT)` (16 bytes on
//! x64) in Microsoft's `wdm.h`, which makes `DEVICE_OBJECT` 336 bytes; mingw-w64's `wdm.h`
//! lacks the attribute (328 bytes, 8-byte alignment). The Rust types follow Microsoft's; the
//! difference is only tail padding and alignment, and `scripts/check-nt-abi` lists it.

use super::basic::{
    BOOLEAN, BUS_QUERY_ID_TYPE, CCHAR, CSHORT, DEVICE_RELATION_TYPE, DEVICE_TEXT_TYPE, DEVICE_TYPE,
    DEVICE_USAGE_NOTIFICATION_TYPE, DEVOBJ_EXTENSION, ETHREAD, FAST_IO_DISPATCH, FILE_OBJECT, GUID,
    IO_STATUS_BLOCK, IO_TIMER, KIRQL, KPROCESSOR_MODE, LARGE_INTEGER, LCID, LIST_ENTRY, LONG,
    NTSTATUS, POWER_ACTION, POWER_STATE_TYPE, PVOID, SYSTEM_POWER_STATE, UCHAR, ULONG,
    UNICODE_STRING, USHORT, VPB,
};
use super::ke::{KAPC, KDEVICE_QUEUE, KDPC, KEVENT, WAIT_CONTEXT_BLOCK};
use super::mm::MDL;
use super::pnp::{DEVICE_CAPABILITIES, INTERFACE, POWER_STATE};
use super::resources::{CM_RESOURCE_LIST, IO_RESOURCE_REQUIREMENTS_LIST};

/// `PDRIVER_ADD_DEVICE`.
pub type DRIVER_ADD_DEVICE =
    unsafe extern "system" fn(*mut DRIVER_OBJECT, *mut DEVICE_OBJECT) -> NTSTATUS;
/// `PDRIVER_UNLOAD`.
pub type DRIVER_UNLOAD = unsafe extern "system" fn(*mut DRIVER_OBJECT);
/// `PDRIVER_DISPATCH`.
pub type DRIVER_DISPATCH = unsafe extern "system" fn(*mut DEVICE_OBJECT, *mut IRP) -> NTSTATUS;
/// `PDRIVER_INITIALIZE` (`DriverEntry`).
pub type DRIVER_INITIALIZE =
    unsafe extern "system" fn(*mut DRIVER_OBJECT, *mut UNICODE_STRING) -> NTSTATUS;
/// `PDRIVER_STARTIO`.
pub type DRIVER_STARTIO = unsafe extern "system" fn(*mut DEVICE_OBJECT, *mut IRP);
/// `PDRIVER_CANCEL`.
pub type DRIVER_CANCEL = unsafe extern "system" fn(*mut DEVICE_OBJECT, *mut IRP);
/// `PIO_COMPLETION_ROUTINE`: returns `STATUS_MORE_PROCESSING_REQUIRED` to keep the IRP.
pub type IO_COMPLETION_ROUTINE =
    unsafe extern "system" fn(*mut DEVICE_OBJECT, *mut IRP, PVOID) -> NTSTATUS;
/// `PIO_WORKITEM_ROUTINE` (`IoQueueWorkItem`).
pub type IO_WORKITEM_ROUTINE = unsafe extern "system" fn(*mut DEVICE_OBJECT, PVOID);
/// `PREQUEST_POWER_COMPLETE` (`PoRequestPowerIrp`).
pub type REQUEST_POWER_COMPLETE = unsafe extern "system" fn(
    DeviceObject: *mut DEVICE_OBJECT,
    MinorFunction: UCHAR,
    PowerState: POWER_STATE,
    Context: PVOID,
    IoStatus: *mut IO_STATUS_BLOCK,
);

/// `DRIVER_EXTENSION`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DRIVER_EXTENSION {
    /// Back pointer.
    pub DriverObject: *mut DRIVER_OBJECT,
    /// The `PnP` `AddDevice` routine.
    pub AddDevice: Option<DRIVER_ADD_DEVICE>,
    /// `Count`.
    pub Count: ULONG,
    /// The service key's name.
    pub ServiceKeyName: UNICODE_STRING,
}

/// `IRP_MJ_MAXIMUM_FUNCTION + 1`.
pub const IRP_MJ_COUNT: usize = 28;

/// `DRIVER_OBJECT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DRIVER_OBJECT {
    /// `IO_TYPE_DRIVER` (4).
    pub Type: CSHORT,
    /// `sizeof(DRIVER_OBJECT)`.
    pub Size: CSHORT,
    /// The driver's first device object.
    pub DeviceObject: *mut DEVICE_OBJECT,
    /// `DRVO_*` flags.
    pub Flags: ULONG,
    /// Image base.
    pub DriverStart: PVOID,
    /// Image size.
    pub DriverSize: ULONG,
    /// Loader data.
    pub DriverSection: PVOID,
    /// The extension holding `AddDevice`.
    pub DriverExtension: *mut DRIVER_EXTENSION,
    /// `\Driver\<name>`.
    pub DriverName: UNICODE_STRING,
    /// `HardwareDatabase`.
    pub HardwareDatabase: *mut UNICODE_STRING,
    /// `FastIoDispatch`.
    pub FastIoDispatch: *mut FAST_IO_DISPATCH,
    /// The entry point.
    pub DriverInit: Option<DRIVER_INITIALIZE>,
    /// `DriverStartIo`.
    pub DriverStartIo: Option<DRIVER_STARTIO>,
    /// The unload routine.
    pub DriverUnload: Option<DRIVER_UNLOAD>,
    /// One dispatch routine per `IRP_MJ_*`.
    pub MajorFunction: [Option<DRIVER_DISPATCH>; IRP_MJ_COUNT],
}

/// `DEVICE_OBJECT.Queue`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union DEVICE_OBJECT_QUEUE {
    /// `ListEntry`.
    pub ListEntry: LIST_ENTRY,
    /// `Wcb`.
    pub Wcb: WAIT_CONTEXT_BLOCK,
}

/// `DEVICE_OBJECT` (created by `IoCreateDevice`; the drivers read `DeviceExtension`, `Flags`,
/// `StackSize`, `DeviceType`, `Characteristics`, `AlignmentRequirement` and `NextDevice`).
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct DEVICE_OBJECT {
    /// `IO_TYPE_DEVICE` (3).
    pub Type: CSHORT,
    /// `sizeof(DEVICE_OBJECT)`.
    pub Size: USHORT,
    /// `ReferenceCount`.
    pub ReferenceCount: LONG,
    /// The owning driver.
    pub DriverObject: *mut DRIVER_OBJECT,
    /// Next device object of the same driver.
    pub NextDevice: *mut Self,
    /// The device attached on top, if any.
    pub AttachedDevice: *mut Self,
    /// `CurrentIrp`.
    pub CurrentIrp: *mut IRP,
    /// `Timer`.
    pub Timer: *mut IO_TIMER,
    /// `DO_*` flags.
    pub Flags: ULONG,
    /// `FILE_*` characteristics.
    pub Characteristics: ULONG,
    /// `Vpb`.
    pub Vpb: *mut VPB,
    /// The driver's device extension.
    pub DeviceExtension: PVOID,
    /// `FILE_DEVICE_*`.
    pub DeviceType: DEVICE_TYPE,
    /// I/O stack locations an IRP for this device needs.
    pub StackSize: CCHAR,
    /// `Queue`.
    pub Queue: DEVICE_OBJECT_QUEUE,
    /// `AlignmentRequirement` (`FILE_*_ALIGNMENT`).
    pub AlignmentRequirement: ULONG,
    /// `DeviceQueue`.
    pub DeviceQueue: KDEVICE_QUEUE,
    /// `Dpc`.
    pub Dpc: KDPC,
    /// `ActiveThreadCount`.
    pub ActiveThreadCount: ULONG,
    /// `SecurityDescriptor`.
    pub SecurityDescriptor: PVOID,
    /// `DeviceLock`.
    pub DeviceLock: KEVENT,
    /// `SectorSize`.
    pub SectorSize: USHORT,
    /// `Spare1`.
    pub Spare1: USHORT,
    /// `DeviceObjectExtension`.
    pub DeviceObjectExtension: *mut DEVOBJ_EXTENSION,
    /// `Reserved`.
    pub Reserved: PVOID,
}

/// `IRP.AssociatedIrp`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IRP_ASSOCIATED_IRP {
    /// `MasterIrp`: for an associated IRP, its master.
    pub MasterIrp: *mut IRP,
    /// `IrpCount`: for a master IRP, its associated IRPs outstanding.
    pub IrpCount: LONG,
    /// `SystemBuffer`: the buffer of buffered I/O.
    pub SystemBuffer: PVOID,
}

/// `IRP.Overlay.AsynchronousParameters`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IRP_ASYNCHRONOUS_PARAMETERS {
    /// `UserApcRoutine` (a union with `IssuingProcess`).
    pub UserApcRoutine: PVOID,
    /// `UserApcContext`.
    pub UserApcContext: PVOID,
}

/// `IRP.Overlay`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IRP_OVERLAY {
    /// `AsynchronousParameters`.
    pub AsynchronousParameters: IRP_ASYNCHRONOUS_PARAMETERS,
    /// `AllocationSize`.
    pub AllocationSize: LARGE_INTEGER,
}

/// `IRP.Tail.Overlay`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IRP_TAIL_OVERLAY {
    /// `DriverContext[4]`: the owning driver's while it holds the IRP (a union with
    /// `DeviceQueueEntry`).
    pub DriverContext: [PVOID; 4],
    /// `Thread`.
    pub Thread: *mut ETHREAD,
    /// `AuxiliaryBuffer`.
    pub AuxiliaryBuffer: *mut u8,
    /// `ListEntry`.
    pub ListEntry: LIST_ENTRY,
    /// `CurrentStackLocation` (a union with `PacketType`): `IoGetCurrentIrpStackLocation`.
    pub CurrentStackLocation: *mut IO_STACK_LOCATION,
    /// `OriginalFileObject`.
    pub OriginalFileObject: *mut FILE_OBJECT,
}

/// `IRP.Tail`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IRP_TAIL {
    /// `Overlay`.
    pub Overlay: IRP_TAIL_OVERLAY,
    /// `Apc`.
    pub Apc: KAPC,
    /// `CompletionKey`.
    pub CompletionKey: PVOID,
}

/// `IRP`: the fixed part; `StackCount` [`IO_STACK_LOCATION`]s follow it.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct IRP {
    /// `IO_TYPE_IRP` (6).
    pub Type: CSHORT,
    /// Bytes allocated.
    pub Size: USHORT,
    /// `MdlAddress`.
    pub MdlAddress: *mut MDL,
    /// `IRP_*` flags.
    pub Flags: ULONG,
    /// `AssociatedIrp`.
    pub AssociatedIrp: IRP_ASSOCIATED_IRP,
    /// `ThreadListEntry`.
    pub ThreadListEntry: LIST_ENTRY,
    /// `IoStatus`.
    pub IoStatus: IO_STATUS_BLOCK,
    /// `RequestorMode`.
    pub RequestorMode: KPROCESSOR_MODE,
    /// `PendingReturned`.
    pub PendingReturned: BOOLEAN,
    /// `StackCount`.
    pub StackCount: CCHAR,
    /// `CurrentLocation`.
    pub CurrentLocation: CCHAR,
    /// `Cancel`.
    pub Cancel: BOOLEAN,
    /// `CancelIrql`.
    pub CancelIrql: KIRQL,
    /// `ApcEnvironment`.
    pub ApcEnvironment: CCHAR,
    /// `AllocationFlags`.
    pub AllocationFlags: UCHAR,
    /// `UserIosb`.
    pub UserIosb: *mut IO_STATUS_BLOCK,
    /// `UserEvent`.
    pub UserEvent: *mut KEVENT,
    /// `Overlay`.
    pub Overlay: IRP_OVERLAY,
    /// `CancelRoutine` (`IoSetCancelRoutine` exchanges it atomically).
    pub CancelRoutine: Option<DRIVER_CANCEL>,
    /// `UserBuffer`.
    pub UserBuffer: PVOID,
    /// `Tail`.
    pub Tail: IRP_TAIL,
}

/// `Parameters.QueryDeviceRelations` (`IRP_MN_QUERY_DEVICE_RELATIONS`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS {
    /// `Type`.
    pub Type: DEVICE_RELATION_TYPE,
}

/// `Parameters.QueryInterface` (`IRP_MN_QUERY_INTERFACE`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_QUERY_INTERFACE {
    /// `InterfaceType`.
    pub InterfaceType: *const GUID,
    /// `Size`: bytes the caller allocated at `Interface`.
    pub Size: USHORT,
    /// `Version`.
    pub Version: USHORT,
    /// `Interface`: the caller's buffer.
    pub Interface: *mut INTERFACE,
    /// `InterfaceSpecificData`.
    pub InterfaceSpecificData: PVOID,
}

/// `Parameters.DeviceCapabilities` (`IRP_MN_QUERY_CAPABILITIES`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_DEVICE_CAPABILITIES {
    /// `Capabilities`.
    pub Capabilities: *mut DEVICE_CAPABILITIES,
}

/// `Parameters.FilterResourceRequirements` (`IRP_MN_FILTER_RESOURCE_REQUIREMENTS`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_FILTER_RESOURCE_REQUIREMENTS {
    /// `IoResourceRequirementList`.
    pub IoResourceRequirementList: *mut IO_RESOURCE_REQUIREMENTS_LIST,
}

/// `Parameters.ReadWriteConfig` (`IRP_MN_READ_CONFIG`, `IRP_MN_WRITE_CONFIG`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_READ_WRITE_CONFIG {
    /// `WhichSpace` (`PCI_WHICHSPACE_CONFIG`, ...).
    pub WhichSpace: ULONG,
    /// `Buffer`.
    pub Buffer: PVOID,
    /// `Offset`.
    pub Offset: ULONG,
    /// Padding before the `POINTER_ALIGNMENT` `Length`.
    pub Padding0: ULONG,
    /// `Length`.
    pub Length: ULONG,
}

/// `Parameters.SetLock` (`IRP_MN_SET_LOCK`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_SET_LOCK {
    /// `Lock`.
    pub Lock: BOOLEAN,
}

/// `Parameters.QueryId` (`IRP_MN_QUERY_ID`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_QUERY_ID {
    /// `IdType` (`BusQuery*`).
    pub IdType: BUS_QUERY_ID_TYPE,
}

/// `Parameters.QueryDeviceText` (`IRP_MN_QUERY_DEVICE_TEXT`).
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_QUERY_DEVICE_TEXT {
    /// `DeviceTextType` (`DeviceText*`).
    pub DeviceTextType: DEVICE_TEXT_TYPE,
    /// Padding before the `POINTER_ALIGNMENT` `LocaleId`.
    pub Padding0: ULONG,
    /// `LocaleId`.
    pub LocaleId: LCID,
}

/// `Parameters.UsageNotification` (`IRP_MN_DEVICE_USAGE_NOTIFICATION`).
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_USAGE_NOTIFICATION {
    /// `InPath`.
    pub InPath: BOOLEAN,
    /// `Reserved`.
    pub Reserved: [BOOLEAN; 3],
    /// Padding before the `POINTER_ALIGNMENT` `Type`.
    pub Padding0: ULONG,
    /// `Type` (`DeviceUsageType*`).
    pub Type: DEVICE_USAGE_NOTIFICATION_TYPE,
}

/// `Parameters.WaitWake` (`IRP_MN_WAIT_WAKE`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_WAIT_WAKE {
    /// `PowerState`.
    pub PowerState: SYSTEM_POWER_STATE,
}

/// `Parameters.Power` (`IRP_MN_SET_POWER`, `IRP_MN_QUERY_POWER`).
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct IO_STACK_LOCATION_POWER {
    /// `SystemContext` (a union with `SystemPowerStateContext`, see
    /// [`super::pnp::SYSTEM_POWER_STATE_CONTEXT`]).
    pub SystemContext: ULONG,
    /// Padding before the `POINTER_ALIGNMENT` `Type`.
    pub Padding0: ULONG,
    /// `Type`.
    pub Type: POWER_STATE_TYPE,
    /// Padding before the `POINTER_ALIGNMENT` `State`.
    pub Padding1: ULONG,
    /// `State`.
    pub State: POWER_STATE,
    /// Padding before the `POINTER_ALIGNMENT` `ShutdownType`.
    pub Padding2: ULONG,
    /// `ShutdownType`.
    pub ShutdownType: POWER_ACTION,
}

/// `Parameters.StartDevice` (`IRP_MN_START_DEVICE`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_STACK_LOCATION_START_DEVICE {
    /// `AllocatedResources`: the raw list.
    pub AllocatedResources: *mut CM_RESOURCE_LIST,
    /// `AllocatedResourcesTranslated`: the translated list.
    pub AllocatedResourcesTranslated: *mut CM_RESOURCE_LIST,
}

/// `Parameters.DeviceIoControl` (`IRP_MJ_DEVICE_CONTROL`, `IRP_MJ_INTERNAL_DEVICE_CONTROL`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_DEVICE_IO_CONTROL {
    /// `OutputBufferLength`.
    pub OutputBufferLength: ULONG,
    /// Padding before the `POINTER_ALIGNMENT` `InputBufferLength`.
    pub Padding0: ULONG,
    /// `InputBufferLength`.
    pub InputBufferLength: ULONG,
    /// Padding before the `POINTER_ALIGNMENT` `IoControlCode`.
    pub Padding1: ULONG,
    /// `IoControlCode`.
    pub IoControlCode: ULONG,
    /// `Type3InputBuffer`.
    pub Type3InputBuffer: PVOID,
}

/// `Parameters.Others`: the four pointer-sized arguments.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STACK_LOCATION_OTHERS {
    /// `Argument1`.
    pub Argument1: PVOID,
    /// `Argument2`.
    pub Argument2: PVOID,
    /// `Argument3`.
    pub Argument3: PVOID,
    /// `Argument4`.
    pub Argument4: PVOID,
}

/// `IO_STACK_LOCATION.Parameters`: the members a `PnP` bus driver, a filter and `xen.sys`
/// read,
/// chosen by the location's `MajorFunction` and `MinorFunction`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_STACK_LOCATION_PARAMETERS {
    /// `DeviceIoControl`.
    pub DeviceIoControl: IO_STACK_LOCATION_DEVICE_IO_CONTROL,
    /// `QueryDeviceRelations`.
    pub QueryDeviceRelations: IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS,
    /// `QueryInterface`.
    pub QueryInterface: IO_STACK_LOCATION_QUERY_INTERFACE,
    /// `DeviceCapabilities`.
    pub DeviceCapabilities: IO_STACK_LOCATION_DEVICE_CAPABILITIES,
    /// `FilterResourceRequirements`.
    pub FilterResourceRequirements: IO_STACK_LOCATION_FILTER_RESOURCE_REQUIREMENTS,
    /// `ReadWriteConfig`.
    pub ReadWriteConfig: IO_STACK_LOCATION_READ_WRITE_CONFIG,
    /// `SetLock`.
    pub SetLock: IO_STACK_LOCATION_SET_LOCK,
    /// `QueryId`.
    pub QueryId: IO_STACK_LOCATION_QUERY_ID,
    /// `QueryDeviceText`.
    pub QueryDeviceText: IO_STACK_LOCATION_QUERY_DEVICE_TEXT,
    /// `UsageNotification`.
    pub UsageNotification: IO_STACK_LOCATION_USAGE_NOTIFICATION,
    /// `WaitWake`.
    pub WaitWake: IO_STACK_LOCATION_WAIT_WAKE,
    /// `Power`.
    pub Power: IO_STACK_LOCATION_POWER,
    /// `StartDevice`.
    pub StartDevice: IO_STACK_LOCATION_START_DEVICE,
    /// `Others`.
    pub Others: IO_STACK_LOCATION_OTHERS,
}

/// `IO_STACK_LOCATION`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_STACK_LOCATION {
    /// `IRP_MJ_*`.
    pub MajorFunction: UCHAR,
    /// `IRP_MN_*`.
    pub MinorFunction: UCHAR,
    /// `Flags` (`SL_*`).
    pub Flags: UCHAR,
    /// `Control` (`SL_PENDING_RETURNED`, `SL_INVOKE_ON_*`).
    pub Control: UCHAR,
    /// `Parameters`.
    pub Parameters: IO_STACK_LOCATION_PARAMETERS,
    /// The device this location is for.
    pub DeviceObject: *mut DEVICE_OBJECT,
    /// `FileObject`.
    pub FileObject: *mut FILE_OBJECT,
    /// `CompletionRoutine`.
    pub CompletionRoutine: Option<IO_COMPLETION_ROUTINE>,
    /// `Context`.
    pub Context: PVOID,
}
