// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Scalar typedefs, enumeration types, opaque objects and the small structures everything else
//! is built from (`ntdef.h`, `wdm.h`).

use core::ffi::c_void;

/// `UCHAR`.
pub type UCHAR = u8;
/// `CHAR`.
pub type CHAR = i8;
/// `BOOLEAN` (`TRUE` is 1).
pub type BOOLEAN = u8;
/// `CCHAR`.
pub type CCHAR = i8;
/// `CSHORT`.
pub type CSHORT = i16;
/// `SHORT`.
pub type SHORT = i16;
/// `USHORT`.
pub type USHORT = u16;
/// `WCHAR` (UTF-16 code unit).
pub type WCHAR = u16;
/// `ULONG`.
pub type ULONG = u32;
/// `LONG`.
pub type LONG = i32;
/// `ULONG64`/`ULONGLONG`.
pub type ULONGLONG = u64;
/// `ULONG64`.
pub type ULONG64 = u64;
/// `LONGLONG`.
pub type LONGLONG = i64;
/// `LONG64`.
pub type LONG64 = i64;
/// `ULONG_PTR`/`SIZE_T`.
pub type ULONG_PTR = usize;
/// `LONG_PTR`.
pub type LONG_PTR = isize;
/// `SIZE_T`.
pub type SIZE_T = usize;
/// `KIRQL`.
pub type KIRQL = u8;
/// `KPROCESSOR_MODE` (`KernelMode`, `UserMode`).
pub type KPROCESSOR_MODE = i8;
/// `KPRIORITY`.
pub type KPRIORITY = i32;
/// `KSPIN_LOCK`.
pub type KSPIN_LOCK = usize;
/// `KAFFINITY`.
pub type KAFFINITY = usize;
/// `HANDLE`.
pub type HANDLE = *mut c_void;
/// `PVOID`.
pub type PVOID = *mut c_void;
/// `ACCESS_MASK`.
pub type ACCESS_MASK = u32;
/// `LCID`.
pub type LCID = u32;
/// `PHYSICAL_ADDRESS` (a `LARGE_INTEGER`, passed by value as a 64-bit integer).
pub type PHYSICAL_ADDRESS = i64;
/// `LARGE_INTEGER` as the drivers use it: the `QuadPart` (the union's `LowPart`/`HighPart`
/// halves are its low and high 32 bits; x64 is little-endian).
pub type LARGE_INTEGER = i64;
/// `ULARGE_INTEGER` as the drivers use it (the `QuadPart`).
pub type ULARGE_INTEGER = u64;
/// `PFN_NUMBER`.
pub type PFN_NUMBER = usize;
/// `NTSTATUS`.
pub type NTSTATUS = ntstatus::NtStatus;
/// `POOL_TYPE`.
pub type POOL_TYPE = i32;
/// `POOL_FLAGS` (Windows 10 2004 and later): from Microsoft's documentation of
/// `ExAllocatePool2`; mingw-w64's headers predate it, so it is not checked.
pub type POOL_FLAGS = u64;
/// `DEVICE_TYPE`.
pub type DEVICE_TYPE = u32;
/// `KEY_VALUE_INFORMATION_CLASS`.
pub type KEY_VALUE_INFORMATION_CLASS = i32;
/// `KEY_INFORMATION_CLASS`.
pub type KEY_INFORMATION_CLASS = i32;
/// `EVENT_TYPE` (`NotificationEvent`, `SynchronizationEvent`).
pub type EVENT_TYPE = i32;
/// `TIMER_TYPE` (`NotificationTimer`, `SynchronizationTimer`).
pub type TIMER_TYPE = i32;
/// `KWAIT_REASON` (`Executive`, ...).
pub type KWAIT_REASON = i32;
/// `MODE` (the enumeration behind [`KPROCESSOR_MODE`]).
pub type MODE = i32;
/// `MEMORY_CACHING_TYPE` (`MmNonCached`, `MmCached`, ...).
pub type MEMORY_CACHING_TYPE = i32;
/// `MM_PAGE_PRIORITY` (`LowPagePriority`, `NormalPagePriority`, `HighPagePriority`).
pub type MM_PAGE_PRIORITY = i32;
/// `LOCK_OPERATION` (`IoReadAccess`, `IoWriteAccess`, `IoModifyAccess`).
pub type LOCK_OPERATION = i32;
/// `INTERFACE_TYPE` (`Internal`, `PCIBus`, ...).
pub type INTERFACE_TYPE = i32;

/// `DEVICE_DESCRIPTION`: what a driver asks of its DMA adapter (`GetDmaAdapter`).
///
/// The fields of every version; Windows 8 added more after `DmaPort` for version 3, which a
/// caller's structure may carry beyond this one.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DEVICE_DESCRIPTION {
    /// `DEVICE_DESCRIPTION_VERSION*`.
    pub Version: u32,
    /// `Master`.
    pub Master: u8,
    /// `ScatterGather`.
    pub ScatterGather: u8,
    /// `DemandMode`.
    pub DemandMode: u8,
    /// `AutoInitialize`.
    pub AutoInitialize: u8,
    /// `Dma32BitAddresses`.
    pub Dma32BitAddresses: u8,
    /// `IgnoreCount`.
    pub IgnoreCount: u8,
    /// `Reserved1`.
    pub Reserved1: u8,
    /// `Dma64BitAddresses`.
    pub Dma64BitAddresses: u8,
    /// `BusNumber`.
    pub BusNumber: u32,
    /// `DmaChannel`.
    pub DmaChannel: u32,
    /// `InterfaceType`.
    pub InterfaceType: INTERFACE_TYPE,
    /// `DmaWidth` (`DMA_WIDTH`).
    pub DmaWidth: i32,
    /// `DmaSpeed` (`DMA_SPEED`).
    pub DmaSpeed: i32,
    /// `MaximumLength`.
    pub MaximumLength: u32,
    /// `DmaPort`.
    pub DmaPort: u32,
}
/// `KDPC_IMPORTANCE` (`LowImportance`, ...).
pub type KDPC_IMPORTANCE = i32;
/// `KINTERRUPT_MODE` (`LevelSensitive`, `Latched`).
pub type KINTERRUPT_MODE = i32;
/// `KINTERRUPT_POLARITY`.
pub type KINTERRUPT_POLARITY = i32;
/// `SYSTEM_POWER_STATE` (`PowerSystemWorking`, ...).
pub type SYSTEM_POWER_STATE = i32;
/// `DEVICE_POWER_STATE` (`PowerDeviceD0`, ...).
pub type DEVICE_POWER_STATE = i32;
/// `POWER_STATE_TYPE` (`SystemPowerState`, `DevicePowerState`).
pub type POWER_STATE_TYPE = i32;
/// `POWER_ACTION` (`PowerActionNone`, ...).
pub type POWER_ACTION = i32;
/// `DEVICE_RELATION_TYPE` (`BusRelations`, ...).
pub type DEVICE_RELATION_TYPE = i32;
/// `WORK_QUEUE_TYPE` (`CriticalWorkQueue`, `DelayedWorkQueue`, ...).
pub type WORK_QUEUE_TYPE = i32;
/// `BUS_QUERY_ID_TYPE` (`BusQueryDeviceID`, ...).
pub type BUS_QUERY_ID_TYPE = i32;
/// `DEVICE_TEXT_TYPE` (`DeviceTextDescription`, `DeviceTextLocationInformation`).
pub type DEVICE_TEXT_TYPE = i32;
/// `DEVICE_USAGE_NOTIFICATION_TYPE` (`DeviceUsageTypePaging`, ...).
pub type DEVICE_USAGE_NOTIFICATION_TYPE = i32;
/// `PNP_DEVICE_STATE` (`PNP_DEVICE_*` flags).
pub type PNP_DEVICE_STATE = u32;
/// `KBUGCHECK_CALLBACK_REASON` (`KbCallbackSecondaryDumpData`, ...).
pub type KBUGCHECK_CALLBACK_REASON = i32;
/// `KBUGCHECK_BUFFER_DUMP_STATE` (`BufferEmpty`, ...).
pub type KBUGCHECK_BUFFER_DUMP_STATE = i32;
/// `KE_PROCESSOR_CHANGE_NOTIFY_STATE` (`KeProcessorAddStartNotify`, ...).
pub type KE_PROCESSOR_CHANGE_NOTIFY_STATE = i32;
/// `CM_SHARE_DISPOSITION` (`CmResourceShareDeviceExclusive`, ...).
pub type CM_SHARE_DISPOSITION = i32;
/// `IRQ_DEVICE_POLICY`: a `USHORT` in the processor-group-aware layout the drivers use
/// (`NT_PROCESSOR_GROUPS`), holding an `IrqPolicy*` value.
pub type IRQ_DEVICE_POLICY = u16;
/// `IRQ_PRIORITY` (`IrqPriorityUndefined`, ...).
pub type IRQ_PRIORITY = i32;
/// `IO_NOTIFICATION_EVENT_CATEGORY`.
pub type IO_NOTIFICATION_EVENT_CATEGORY = i32;

/// Declares opaque kernel objects: the drivers hold pointers to them and never look inside.
macro_rules! opaque {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[repr(C)]
        #[derive(Debug)]
        pub struct $name {
            _opaque: [u8; 0],
        }
    )*};
}

opaque! {
    /// `FILE_OBJECT` (opaque).
    FILE_OBJECT;
    /// `KINTERRUPT` (opaque; `PKINTERRUPT` is `*mut KINTERRUPT`).
    KINTERRUPT;
    /// `ETHREAD`/`KTHREAD` (opaque; `PETHREAD` is `*mut ETHREAD`).
    ETHREAD;
    /// `EPROCESS`/`KPROCESS` (opaque).
    EPROCESS;
    /// `IO_TIMER` (opaque).
    IO_TIMER;
    /// `VPB` (opaque: file systems only).
    VPB;
    /// `DEVOBJ_EXTENSION` (opaque).
    DEVOBJ_EXTENSION;
    /// `IO_WORKITEM` (opaque; allocated by `IoAllocateWorkItem`).
    IO_WORKITEM;
    /// `SECURITY_DESCRIPTOR` (opaque).
    SECURITY_DESCRIPTOR;
    /// `FAST_IO_DISPATCH` (opaque: file systems only).
    FAST_IO_DISPATCH;
    /// `OBJECT_TYPE` (opaque; `POBJECT_TYPE`, as `ObReferenceObjectByHandle` takes it).
    OBJECT_TYPE;
}

/// `CLIENT_ID` (`PsCreateSystemThread`'s optional out-parameter).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CLIENT_ID {
    /// `UniqueProcess`.
    pub UniqueProcess: HANDLE,
    /// `UniqueThread`.
    pub UniqueThread: HANDLE,
}

/// `LIST_ENTRY`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LIST_ENTRY {
    /// `Flink`.
    pub Flink: *mut Self,
    /// `Blink`.
    pub Blink: *mut Self,
}

/// `SINGLE_LIST_ENTRY`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SINGLE_LIST_ENTRY {
    /// `Next`.
    pub Next: *mut Self,
}

/// `UNICODE_STRING`: lengths in bytes, not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct UNICODE_STRING {
    /// Bytes in use.
    pub Length: USHORT,
    /// Bytes allocated.
    pub MaximumLength: USHORT,
    /// The UTF-16 text.
    pub Buffer: *mut WCHAR,
}

/// `ANSI_STRING` (`STRING`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ANSI_STRING {
    /// Bytes in use.
    pub Length: USHORT,
    /// Bytes allocated.
    pub MaximumLength: USHORT,
    /// The text.
    pub Buffer: *mut u8,
}

/// `GUID`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GUID {
    /// `Data1`.
    pub Data1: ULONG,
    /// `Data2`.
    pub Data2: USHORT,
    /// `Data3`.
    pub Data3: USHORT,
    /// `Data4`.
    pub Data4: [UCHAR; 8],
}

/// `OBJECT_ATTRIBUTES`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct OBJECT_ATTRIBUTES {
    /// `sizeof(OBJECT_ATTRIBUTES)`.
    pub Length: ULONG,
    /// Directory the name is relative to, or NULL.
    pub RootDirectory: HANDLE,
    /// The object's name.
    pub ObjectName: *mut UNICODE_STRING,
    /// `OBJ_*` flags.
    pub Attributes: ULONG,
    /// Security descriptor, or NULL.
    pub SecurityDescriptor: PVOID,
    /// Quality of service, or NULL.
    pub SecurityQualityOfService: PVOID,
}

/// `IO_STATUS_BLOCK`.
///
/// `Status` is the whole pointer-sized slot of C's `Status`/`Pointer` union: the `NTSTATUS` is
/// its low 32 bits (store `status.cast_unsigned() as usize`; read `slot as u32`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_STATUS_BLOCK {
    /// `Status` (low 32 bits) / `Pointer` (the whole word).
    pub Status: usize,
    /// `Information`.
    pub Information: ULONG_PTR,
}

/// `TIME_FIELDS` (`RtlTimeToTimeFields`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TIME_FIELDS {
    /// `Year` (1601...).
    pub Year: CSHORT,
    /// `Month` (1..=12).
    pub Month: CSHORT,
    /// `Day` (1..=31).
    pub Day: CSHORT,
    /// `Hour` (0..=23).
    pub Hour: CSHORT,
    /// `Minute` (0..=59).
    pub Minute: CSHORT,
    /// `Second` (0..=59).
    pub Second: CSHORT,
    /// `Milliseconds` (0..=999).
    pub Milliseconds: CSHORT,
    /// `Weekday` (0 is Sunday).
    pub Weekday: CSHORT,
}

/// `PROCESSOR_NUMBER`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PROCESSOR_NUMBER {
    /// `Group`.
    pub Group: USHORT,
    /// `Number` within the group.
    pub Number: UCHAR,
    /// `Reserved`.
    pub Reserved: UCHAR,
}

/// `GROUP_AFFINITY`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GROUP_AFFINITY {
    /// `Mask`.
    pub Mask: KAFFINITY,
    /// `Group`.
    pub Group: USHORT,
    /// `Reserved`.
    pub Reserved: [USHORT; 3],
}
