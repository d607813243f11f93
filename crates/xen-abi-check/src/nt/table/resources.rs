// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::resources`: assigned and required resources, interrupt connection.

use core::mem::offset_of;

use ntddk::{IO_RESOURCE_DESCRIPTOR, IO_RESOURCE_DESCRIPTOR_u, IO_RESOURCE_INTERRUPT};

use super::{NtTable, field_size, fields, layout, within};

/// Why `IO_RESOURCE_DESCRIPTOR.u.Interrupt` is checked against Microsoft's documentation.
const IO_RESOURCE_INTERRUPT_REASON: &str = "mingw-w64 10's wdm.h has only MinimumVector and \
     MaximumVector in IO_RESOURCE_DESCRIPTOR.u.Interrupt; Microsoft's documented layout (Windows \
     7 and later, NT_PROCESSOR_GROUPS) adds AffinityPolicy (USHORT), Group, PriorityPolicy and \
     TargetedProcessors, making the member 24 bytes (the union's size is unchanged)";

pub fn items(t: &mut NtTable) {
    let cm = layout!(
        t,
        CM_PARTIAL_RESOURCE_DESCRIPTOR {
            Type,
            ShareDisposition,
            Flags,
            u
        }
    );
    let u = within!(
        t,
        &cm,
        CM_PARTIAL_RESOURCE_DESCRIPTOR,
        u: CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
            Generic,
            Port,
            Interrupt,
            MessageInterrupt,
            Memory,
            Dma,
            DevicePrivate,
            BusNumber,
            DeviceSpecificData,
            Memory40,
            Memory48,
            Memory64,
        }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Generic: CM_PARTIAL_RESOURCE_RANGE { Start, Length }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Port: CM_PARTIAL_RESOURCE_RANGE { Start, Length }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Memory: CM_PARTIAL_RESOURCE_RANGE { Start, Length }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Interrupt: CM_PARTIAL_RESOURCE_INTERRUPT {
            Level,
            Group,
            Vector,
            Affinity
        }
    );
    let message = within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        MessageInterrupt: CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT { Raw, Translated }
    );
    within!(
        t,
        &message,
        CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT,
        Raw: CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT_RAW {
            Group,
            MessageCount,
            Vector,
            Affinity
        }
    );
    within!(
        t,
        &message,
        CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT,
        Translated: CM_PARTIAL_RESOURCE_INTERRUPT {
            Level,
            Group,
            Vector,
            Affinity
        }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Dma: CM_PARTIAL_RESOURCE_DMA {
            Channel,
            Port,
            Reserved1
        }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        DevicePrivate: CM_PARTIAL_RESOURCE_DEVICE_PRIVATE { Data }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        BusNumber: CM_PARTIAL_RESOURCE_BUS_NUMBER {
            Start,
            Length,
            Reserved
        }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        DeviceSpecificData: CM_PARTIAL_RESOURCE_DEVICE_SPECIFIC_DATA {
            DataSize,
            Reserved1,
            Reserved2
        }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Memory40: CM_PARTIAL_RESOURCE_MEMORY40 { Start, Length40 }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Memory48: CM_PARTIAL_RESOURCE_MEMORY48 { Start, Length48 }
    );
    within!(
        t,
        &u,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
        Memory64: CM_PARTIAL_RESOURCE_MEMORY64 { Start, Length64 }
    );
    layout!(
        t,
        CM_PARTIAL_RESOURCE_LIST {
            Version,
            Revision,
            Count,
            PartialDescriptors
        }
    );
    layout!(
        t,
        CM_FULL_RESOURCE_DESCRIPTOR {
            InterfaceType,
            BusNumber,
            PartialResourceList
        }
    );
    layout!(t, CM_RESOURCE_LIST { Count, List });

    let io = layout!(
        t,
        IO_RESOURCE_DESCRIPTOR {
            Option,
            Type,
            ShareDisposition,
            Spare1,
            Flags,
            Spare2,
            u,
        }
    );
    let u = within!(
        t,
        &io,
        IO_RESOURCE_DESCRIPTOR,
        u: IO_RESOURCE_DESCRIPTOR_u {
            Port,
            Memory,
            Dma,
            Generic,
            DevicePrivate,
            BusNumber,
            ConfigData,
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        Port: IO_RESOURCE_RANGE {
            Length,
            Alignment,
            MinimumAddress,
            MaximumAddress
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        Memory: IO_RESOURCE_RANGE {
            Length,
            Alignment,
            MinimumAddress,
            MaximumAddress
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        Generic: IO_RESOURCE_RANGE {
            Length,
            Alignment,
            MinimumAddress,
            MaximumAddress
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        Dma: IO_RESOURCE_DMA {
            MinimumChannel,
            MaximumChannel
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        DevicePrivate: IO_RESOURCE_DEVICE_PRIVATE { Data }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        BusNumber: IO_RESOURCE_BUS_NUMBER {
            Length,
            MinBusNumber,
            MaxBusNumber,
            Reserved
        }
    );
    within!(
        t,
        &u,
        IO_RESOURCE_DESCRIPTOR_u,
        ConfigData: IO_RESOURCE_CONFIG_DATA {
            Priority,
            Reserved1,
            Reserved2
        }
    );
    // u.Interrupt: the vectors against the headers, the rest against Microsoft's documentation.
    let view: fn(&IO_RESOURCE_DESCRIPTOR_u) -> *const IO_RESOURCE_INTERRUPT =
        |s| &raw const s.Interrupt;
    let _ = view;
    let interrupt = u.child("Interrupt", offset_of!(IO_RESOURCE_DESCRIPTOR_u, Interrupt));
    t.covers("IO_RESOURCE_INTERRUPT");
    fields!(
        t,
        &interrupt,
        IO_RESOURCE_INTERRUPT {
            MinimumVector,
            MaximumVector
        }
    );
    t.exempt(
        "sizeof(((IO_RESOURCE_DESCRIPTOR *)0)->u.Interrupt)",
        size_of::<IO_RESOURCE_INTERRUPT>(),
        24,
        IO_RESOURCE_INTERRUPT_REASON,
    );
    let base =
        offset_of!(IO_RESOURCE_DESCRIPTOR, u) + offset_of!(IO_RESOURCE_DESCRIPTOR_u, Interrupt);
    // (field, Rust offset in the descriptor, Rust size, documented offset, documented size)
    let documented = [
        (
            "AffinityPolicy",
            base + offset_of!(IO_RESOURCE_INTERRUPT, AffinityPolicy),
            field_size(|s: &IO_RESOURCE_INTERRUPT| &raw const s.AffinityPolicy),
            16,
            2,
        ),
        (
            "Group",
            base + offset_of!(IO_RESOURCE_INTERRUPT, Group),
            field_size(|s: &IO_RESOURCE_INTERRUPT| &raw const s.Group),
            18,
            2,
        ),
        (
            "PriorityPolicy",
            base + offset_of!(IO_RESOURCE_INTERRUPT, PriorityPolicy),
            field_size(|s: &IO_RESOURCE_INTERRUPT| &raw const s.PriorityPolicy),
            20,
            4,
        ),
        (
            "TargetedProcessors",
            base + offset_of!(IO_RESOURCE_INTERRUPT, TargetedProcessors),
            field_size(|s: &IO_RESOURCE_INTERRUPT| &raw const s.TargetedProcessors),
            24,
            8,
        ),
    ];
    for (name, offset, size, doc_offset, doc_size) in documented {
        t.exempt(
            format!("offsetof(IO_RESOURCE_DESCRIPTOR, u.Interrupt.{name})"),
            offset,
            doc_offset,
            IO_RESOURCE_INTERRUPT_REASON,
        );
        t.exempt(
            format!("sizeof(((IO_RESOURCE_DESCRIPTOR *)0)->u.Interrupt.{name})"),
            size,
            doc_size,
            IO_RESOURCE_INTERRUPT_REASON,
        );
    }
    layout!(
        t,
        IO_RESOURCE_LIST {
            Version,
            Revision,
            Count,
            Descriptors
        }
    );
    layout!(
        t,
        IO_RESOURCE_REQUIREMENTS_LIST {
            ListSize,
            InterfaceType,
            BusNumber,
            SlotNumber,
            Reserved,
            AlternativeLists,
            List,
        }
    );

    layout!(
        t,
        IO_INTERRUPT_MESSAGE_INFO_ENTRY {
            MessageAddress,
            TargetProcessorSet,
            InterruptObject,
            MessageData,
            Vector,
            Irql,
            Mode,
            Polarity,
        }
    );
    layout!(
        t,
        IO_INTERRUPT_MESSAGE_INFO {
            UnifiedIrql,
            MessageCount,
            MessageInfo
        }
    );
    layout!(
        t,
        IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
            PhysicalDeviceObject,
            InterruptObject,
            ServiceRoutine,
            ServiceContext,
            SpinLock,
            SynchronizeIrql,
            FloatingSave,
            ShareVector,
            Vector,
            Irql,
            InterruptMode,
            ProcessorEnableMask,
            Group,
        }
    );
    layout!(
        t,
        IO_CONNECT_INTERRUPT_LINE_BASED_PARAMETERS {
            PhysicalDeviceObject,
            InterruptObject,
            ServiceRoutine,
            ServiceContext,
            SpinLock,
            SynchronizeIrql,
            FloatingSave,
        }
    );
    let message = layout!(
        t,
        IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS {
            PhysicalDeviceObject,
            ConnectionContext,
            MessageServiceRoutine,
            ServiceContext,
            SpinLock,
            SynchronizeIrql,
            FloatingSave,
            FallBackServiceRoutine,
        }
    );
    within!(
        t,
        &message,
        IO_CONNECT_INTERRUPT_MESSAGE_BASED_PARAMETERS,
        ConnectionContext: IO_CONNECT_INTERRUPT_MESSAGE_BASED_CONTEXT {
            Generic,
            InterruptMessageTable,
            InterruptObject
        }
    );
    let connect = layout!(t, IO_CONNECT_INTERRUPT_PARAMETERS { Version });
    within!(
        t,
        &connect,
        IO_CONNECT_INTERRUPT_PARAMETERS,
        u as "": IO_CONNECT_INTERRUPT_PARAMETERS_u {
            FullySpecified,
            LineBased,
            MessageBased
        }
    );
    let disconnect = layout!(
        t,
        IO_DISCONNECT_INTERRUPT_PARAMETERS {
            Version,
            ConnectionContext
        }
    );
    within!(
        t,
        &disconnect,
        IO_DISCONNECT_INTERRUPT_PARAMETERS,
        ConnectionContext: IO_DISCONNECT_INTERRUPT_CONTEXT {
            Generic,
            InterruptObject,
            InterruptMessageTable
        }
    );
}
