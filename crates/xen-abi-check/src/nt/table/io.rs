// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::io`: driver and device objects, IRPs, stack locations.

use super::{NtTable, Scope, fields, fn_pointers, layout, within};

/// Why `DEVICE_OBJECT` and `IRP` are 16-byte aligned in Rust.
const MEMORY_ALLOCATION_ALIGNMENT: &str = "Microsoft's wdm.h declares DEVICE_OBJECT and IRP \
     DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) (16 on x64), which mingw-w64 10's wdm.h omits; \
     only the alignment and DEVICE_OBJECT's tail padding (336 bytes, not 328) differ";

pub fn items(t: &mut NtTable) {
    fn_pointers!(
        t,
        [
            PDRIVER_ADD_DEVICE => DRIVER_ADD_DEVICE,
            PDRIVER_UNLOAD => DRIVER_UNLOAD,
            PDRIVER_DISPATCH => DRIVER_DISPATCH,
            PDRIVER_INITIALIZE => DRIVER_INITIALIZE,
            PDRIVER_STARTIO => DRIVER_STARTIO,
            PDRIVER_CANCEL => DRIVER_CANCEL,
            PIO_COMPLETION_ROUTINE => IO_COMPLETION_ROUTINE,
            PIO_WORKITEM_ROUTINE => IO_WORKITEM_ROUTINE,
            PREQUEST_POWER_COMPLETE => REQUEST_POWER_COMPLETE,
        ]
    );
    t.covers("IRP_MJ_COUNT");
    t.int(
        "sizeof(((DRIVER_OBJECT *)0)->MajorFunction) / sizeof(PDRIVER_DISPATCH)",
        super::wide(ntddk::IRP_MJ_COUNT),
    );

    layout!(
        t,
        DRIVER_EXTENSION {
            DriverObject,
            AddDevice,
            Count,
            ServiceKeyName
        }
    );
    layout!(
        t,
        DRIVER_OBJECT {
            Type,
            Size,
            DeviceObject,
            Flags,
            DriverStart,
            DriverSize,
            DriverSection,
            DriverExtension,
            DriverName,
            HardwareDatabase,
            FastIoDispatch,
            DriverInit,
            DriverStartIo,
            DriverUnload,
            MajorFunction,
        }
    );

    let device = Scope::root("DEVICE_OBJECT");
    t.covers("DEVICE_OBJECT");
    t.exempt(
        "sizeof(DEVICE_OBJECT)",
        size_of::<ntddk::DEVICE_OBJECT>(),
        336,
        MEMORY_ALLOCATION_ALIGNMENT,
    );
    t.exempt(
        "_Alignof(DEVICE_OBJECT)",
        align_of::<ntddk::DEVICE_OBJECT>(),
        16,
        MEMORY_ALLOCATION_ALIGNMENT,
    );
    fields!(
        t,
        &device,
        ntddk::DEVICE_OBJECT {
            Type,
            Size,
            ReferenceCount,
            DriverObject,
            NextDevice,
            AttachedDevice,
            CurrentIrp,
            Timer,
            Flags,
            Characteristics,
            Vpb,
            DeviceExtension,
            DeviceType,
            StackSize,
            Queue,
            AlignmentRequirement,
            DeviceQueue,
            Dpc,
            ActiveThreadCount,
            SecurityDescriptor,
            DeviceLock,
            SectorSize,
            Spare1,
            DeviceObjectExtension,
            Reserved,
        }
    );
    within!(t, &device, DEVICE_OBJECT, Queue: DEVICE_OBJECT_QUEUE { ListEntry, Wcb });

    let irp = Scope::root("IRP");
    t.covers("IRP");
    t.int("sizeof(IRP)", super::wide(size_of::<ntddk::IRP>()));
    t.exempt(
        "_Alignof(IRP)",
        align_of::<ntddk::IRP>(),
        16,
        MEMORY_ALLOCATION_ALIGNMENT,
    );
    fields!(
        t,
        &irp,
        ntddk::IRP {
            Type,
            Size,
            MdlAddress,
            Flags,
            AssociatedIrp,
            ThreadListEntry,
            IoStatus,
            RequestorMode,
            PendingReturned,
            StackCount,
            CurrentLocation,
            Cancel,
            CancelIrql,
            ApcEnvironment,
            AllocationFlags,
            UserIosb,
            UserEvent,
            Overlay,
            CancelRoutine,
            UserBuffer,
            Tail,
        }
    );
    within!(
        t,
        &irp,
        IRP,
        AssociatedIrp: IRP_ASSOCIATED_IRP {
            MasterIrp,
            IrpCount,
            SystemBuffer
        }
    );
    let overlay = within!(
        t,
        &irp,
        IRP,
        Overlay: IRP_OVERLAY {
            AsynchronousParameters,
            AllocationSize
        }
    );
    within!(
        t,
        &overlay,
        IRP_OVERLAY,
        AsynchronousParameters: IRP_ASYNCHRONOUS_PARAMETERS {
            UserApcRoutine,
            UserApcContext
        }
    );
    let tail = within!(
        t,
        &irp,
        IRP,
        Tail: IRP_TAIL {
            Overlay,
            Apc,
            CompletionKey
        }
    );
    within!(
        t,
        &tail,
        IRP_TAIL,
        Overlay: IRP_TAIL_OVERLAY {
            DriverContext,
            Thread,
            AuxiliaryBuffer,
            ListEntry,
            CurrentStackLocation,
            OriginalFileObject,
        }
    );

    let stack = layout!(
        t,
        IO_STACK_LOCATION {
            MajorFunction,
            MinorFunction,
            Flags,
            Control,
            Parameters,
            DeviceObject,
            FileObject,
            CompletionRoutine,
            Context,
        }
    );
    let p = within!(
        t,
        &stack,
        IO_STACK_LOCATION,
        Parameters: IO_STACK_LOCATION_PARAMETERS {
            DeviceIoControl,
            QueryDeviceRelations,
            QueryInterface,
            DeviceCapabilities,
            FilterResourceRequirements,
            ReadWriteConfig,
            SetLock,
            QueryId,
            QueryDeviceText,
            UsageNotification,
            WaitWake,
            Power,
            StartDevice,
            Others,
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        DeviceIoControl: IO_STACK_LOCATION_DEVICE_IO_CONTROL {
            OutputBufferLength,
            InputBufferLength,
            IoControlCode,
            Type3InputBuffer,
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        QueryDeviceRelations: IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS { Type }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        QueryInterface: IO_STACK_LOCATION_QUERY_INTERFACE {
            InterfaceType,
            Size,
            Version,
            Interface,
            InterfaceSpecificData,
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        DeviceCapabilities: IO_STACK_LOCATION_DEVICE_CAPABILITIES { Capabilities }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        FilterResourceRequirements: IO_STACK_LOCATION_FILTER_RESOURCE_REQUIREMENTS {
            IoResourceRequirementList
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        ReadWriteConfig: IO_STACK_LOCATION_READ_WRITE_CONFIG {
            WhichSpace,
            Buffer,
            Offset,
            Length
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        SetLock: IO_STACK_LOCATION_SET_LOCK { Lock }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        QueryId: IO_STACK_LOCATION_QUERY_ID { IdType }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        QueryDeviceText: IO_STACK_LOCATION_QUERY_DEVICE_TEXT {
            DeviceTextType,
            LocaleId
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        UsageNotification: IO_STACK_LOCATION_USAGE_NOTIFICATION {
            InPath,
            Reserved,
            Type
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        WaitWake: IO_STACK_LOCATION_WAIT_WAKE { PowerState }
    );
    let power = within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        Power: IO_STACK_LOCATION_POWER {
            SystemContext,
            Type,
            State,
            ShutdownType
        }
    );
    within!(
        t,
        &power,
        IO_STACK_LOCATION_POWER,
        State: POWER_STATE {
            SystemState,
            DeviceState
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        StartDevice: IO_STACK_LOCATION_START_DEVICE {
            AllocatedResources,
            AllocatedResourcesTranslated
        }
    );
    within!(
        t,
        &p,
        IO_STACK_LOCATION_PARAMETERS,
        Others: IO_STACK_LOCATION_OTHERS {
            Argument1,
            Argument2,
            Argument3,
            Argument4
        }
    );
}
