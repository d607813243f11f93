// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Resource constants: descriptor types, share dispositions, per-type flags, requirement
//! options, bus types, interrupt policies and the `IoConnectInterruptEx` versions.

use crate::types::{
    INTERFACE_TYPE, IRQ_DEVICE_POLICY, IRQ_PRIORITY, KINTERRUPT_MODE, KINTERRUPT_POLARITY, UCHAR,
    ULONG, ULONGLONG, USHORT,
};

// CM_PARTIAL_RESOURCE_DESCRIPTOR.Type and IO_RESOURCE_DESCRIPTOR.Type.
/// `CmResourceTypeNull`.
pub const CmResourceTypeNull: UCHAR = 0;
/// `CmResourceTypePort`.
pub const CmResourceTypePort: UCHAR = 1;
/// `CmResourceTypeInterrupt`.
pub const CmResourceTypeInterrupt: UCHAR = 2;
/// `CmResourceTypeMemory`.
pub const CmResourceTypeMemory: UCHAR = 3;
/// `CmResourceTypeDma`.
pub const CmResourceTypeDma: UCHAR = 4;
/// `CmResourceTypeDeviceSpecific`.
pub const CmResourceTypeDeviceSpecific: UCHAR = 5;
/// `CmResourceTypeBusNumber`.
pub const CmResourceTypeBusNumber: UCHAR = 6;
/// `CmResourceTypeMemoryLarge`.
pub const CmResourceTypeMemoryLarge: UCHAR = 7;
/// `CmResourceTypeConfigData`.
pub const CmResourceTypeConfigData: UCHAR = 0x80;
/// `CmResourceTypeNonArbitrated`.
pub const CmResourceTypeNonArbitrated: UCHAR = 0x80;
/// `CmResourceTypeDevicePrivate`.
pub const CmResourceTypeDevicePrivate: UCHAR = 0x81;
/// `CmResourceTypePcCardConfig`.
pub const CmResourceTypePcCardConfig: UCHAR = 0x82;
/// `CmResourceTypeMfCardConfig`.
pub const CmResourceTypeMfCardConfig: UCHAR = 0x83;

// ShareDisposition (CM_SHARE_DISPOSITION values, stored in a UCHAR).
/// `CmResourceShareUndetermined`.
pub const CmResourceShareUndetermined: UCHAR = 0;
/// `CmResourceShareDeviceExclusive`.
pub const CmResourceShareDeviceExclusive: UCHAR = 1;
/// `CmResourceShareDriverExclusive`.
pub const CmResourceShareDriverExclusive: UCHAR = 2;
/// `CmResourceShareShared`.
pub const CmResourceShareShared: UCHAR = 3;

// Flags, by descriptor type.
/// `CM_RESOURCE_DMA_8`.
pub const CM_RESOURCE_DMA_8: USHORT = 0;
/// `CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE`.
pub const CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE: USHORT = 0;
/// `CM_RESOURCE_MEMORY_READ_WRITE`.
pub const CM_RESOURCE_MEMORY_READ_WRITE: USHORT = 0;
/// `CM_RESOURCE_PORT_MEMORY`.
pub const CM_RESOURCE_PORT_MEMORY: USHORT = 0;
/// `CM_RESOURCE_DMA_16`.
pub const CM_RESOURCE_DMA_16: USHORT = 1;
/// `CM_RESOURCE_INTERRUPT_LATCHED`.
pub const CM_RESOURCE_INTERRUPT_LATCHED: USHORT = 1;
/// `CM_RESOURCE_INTERRUPT_LEVEL_LATCHED_BITS`.
pub const CM_RESOURCE_INTERRUPT_LEVEL_LATCHED_BITS: USHORT = 1;
/// `CM_RESOURCE_MEMORY_READ_ONLY`.
pub const CM_RESOURCE_MEMORY_READ_ONLY: USHORT = 1;
/// `CM_RESOURCE_PORT_IO`.
pub const CM_RESOURCE_PORT_IO: USHORT = 1;
/// `CM_RESOURCE_DMA_32`.
pub const CM_RESOURCE_DMA_32: USHORT = 2;
/// `CM_RESOURCE_INTERRUPT_MESSAGE`.
pub const CM_RESOURCE_INTERRUPT_MESSAGE: USHORT = 2;
/// `CM_RESOURCE_MEMORY_WRITE_ONLY`.
pub const CM_RESOURCE_MEMORY_WRITE_ONLY: USHORT = 2;
/// `CM_RESOURCE_MEMORY_WRITEABILITY_MASK`.
pub const CM_RESOURCE_MEMORY_WRITEABILITY_MASK: USHORT = 3;
/// `CM_RESOURCE_DMA_8_AND_16`.
pub const CM_RESOURCE_DMA_8_AND_16: USHORT = 4;
/// `CM_RESOURCE_INTERRUPT_POLICY_INCLUDED`.
pub const CM_RESOURCE_INTERRUPT_POLICY_INCLUDED: USHORT = 4;
/// `CM_RESOURCE_MEMORY_PREFETCHABLE`.
pub const CM_RESOURCE_MEMORY_PREFETCHABLE: USHORT = 4;
/// `CM_RESOURCE_PORT_10_BIT_DECODE`.
pub const CM_RESOURCE_PORT_10_BIT_DECODE: USHORT = 4;
/// `CM_RESOURCE_DMA_BUS_MASTER`.
pub const CM_RESOURCE_DMA_BUS_MASTER: USHORT = 8;
/// `CM_RESOURCE_MEMORY_COMBINEDWRITE`.
pub const CM_RESOURCE_MEMORY_COMBINEDWRITE: USHORT = 8;
/// `CM_RESOURCE_PORT_12_BIT_DECODE`.
pub const CM_RESOURCE_PORT_12_BIT_DECODE: USHORT = 8;
/// `CM_RESOURCE_DMA_TYPE_A`.
pub const CM_RESOURCE_DMA_TYPE_A: USHORT = 0x10;
/// `CM_RESOURCE_MEMORY_24`.
pub const CM_RESOURCE_MEMORY_24: USHORT = 0x10;
/// `CM_RESOURCE_PORT_16_BIT_DECODE`.
pub const CM_RESOURCE_PORT_16_BIT_DECODE: USHORT = 0x10;
/// `CM_RESOURCE_DMA_TYPE_B`.
pub const CM_RESOURCE_DMA_TYPE_B: USHORT = 0x20;
/// `CM_RESOURCE_MEMORY_CACHEABLE`.
pub const CM_RESOURCE_MEMORY_CACHEABLE: USHORT = 0x20;
/// `CM_RESOURCE_PORT_POSITIVE_DECODE`.
pub const CM_RESOURCE_PORT_POSITIVE_DECODE: USHORT = 0x20;
/// `CM_RESOURCE_DMA_TYPE_F`.
pub const CM_RESOURCE_DMA_TYPE_F: USHORT = 0x40;
/// `CM_RESOURCE_MEMORY_WINDOW_DECODE`.
pub const CM_RESOURCE_MEMORY_WINDOW_DECODE: USHORT = 0x40;
/// `CM_RESOURCE_PORT_PASSIVE_DECODE`.
pub const CM_RESOURCE_PORT_PASSIVE_DECODE: USHORT = 0x40;
/// `CM_RESOURCE_MEMORY_BAR`.
pub const CM_RESOURCE_MEMORY_BAR: USHORT = 0x80;
/// `CM_RESOURCE_PORT_WINDOW_DECODE`.
pub const CM_RESOURCE_PORT_WINDOW_DECODE: USHORT = 0x80;
/// `CM_RESOURCE_MEMORY_COMPAT_FOR_INACCESSIBLE_RANGE`.
pub const CM_RESOURCE_MEMORY_COMPAT_FOR_INACCESSIBLE_RANGE: USHORT = 0x100;
/// `CM_RESOURCE_PORT_BAR`.
pub const CM_RESOURCE_PORT_BAR: USHORT = 0x100;
/// `CM_RESOURCE_MEMORY_LARGE_40`.
pub const CM_RESOURCE_MEMORY_LARGE_40: USHORT = 0x200;
/// `CM_RESOURCE_MEMORY_LARGE_48`.
pub const CM_RESOURCE_MEMORY_LARGE_48: USHORT = 0x400;
/// `CM_RESOURCE_MEMORY_LARGE_64`.
pub const CM_RESOURCE_MEMORY_LARGE_64: USHORT = 0x800;
/// `CM_RESOURCE_MEMORY_LARGE`.
pub const CM_RESOURCE_MEMORY_LARGE: USHORT = 0xe00;
/// `CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN` (`(ULONG)-2`).
pub const CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN: ULONG = 0xffff_fffe;
/// `CM_RESOURCE_MEMORY_LARGE_40_MAXLEN`.
pub const CM_RESOURCE_MEMORY_LARGE_40_MAXLEN: ULONGLONG = 0xff_ffff_ff00;
/// `CM_RESOURCE_MEMORY_LARGE_48_MAXLEN`.
pub const CM_RESOURCE_MEMORY_LARGE_48_MAXLEN: ULONGLONG = 0xffff_ffff_0000;
/// `CM_RESOURCE_MEMORY_LARGE_64_MAXLEN`.
pub const CM_RESOURCE_MEMORY_LARGE_64_MAXLEN: ULONGLONG = 0xffff_ffff_0000_0000;

// IO_RESOURCE_DESCRIPTOR.Option.
/// `IO_RESOURCE_PREFERRED`.
pub const IO_RESOURCE_PREFERRED: UCHAR = 1;
/// `IO_RESOURCE_DEFAULT`.
pub const IO_RESOURCE_DEFAULT: UCHAR = 2;
/// `IO_RESOURCE_ALTERNATIVE`.
pub const IO_RESOURCE_ALTERNATIVE: UCHAR = 8;

// INTERFACE_TYPE.
/// `InterfaceTypeUndefined`.
pub const InterfaceTypeUndefined: INTERFACE_TYPE = -1;
/// `Internal`.
pub const Internal: INTERFACE_TYPE = 0;
/// `Isa`.
pub const Isa: INTERFACE_TYPE = 1;
/// `Eisa`.
pub const Eisa: INTERFACE_TYPE = 2;
/// `MicroChannel`.
pub const MicroChannel: INTERFACE_TYPE = 3;
/// `TurboChannel`.
pub const TurboChannel: INTERFACE_TYPE = 4;
/// `PCIBus`.
pub const PCIBus: INTERFACE_TYPE = 5;
/// `VMEBus`.
pub const VMEBus: INTERFACE_TYPE = 6;
/// `NuBus`.
pub const NuBus: INTERFACE_TYPE = 7;
/// `PCMCIABus`.
pub const PCMCIABus: INTERFACE_TYPE = 8;
/// `CBus`.
pub const CBus: INTERFACE_TYPE = 9;
/// `MPIBus`.
pub const MPIBus: INTERFACE_TYPE = 10;
/// `MPSABus`.
pub const MPSABus: INTERFACE_TYPE = 11;
/// `ProcessorInternal`.
pub const ProcessorInternal: INTERFACE_TYPE = 12;
/// `InternalPowerBus`.
pub const InternalPowerBus: INTERFACE_TYPE = 13;
/// `PNPISABus`.
pub const PNPISABus: INTERFACE_TYPE = 14;
/// `PNPBus`.
pub const PNPBus: INTERFACE_TYPE = 15;
/// `Vmcs`.
pub const Vmcs: INTERFACE_TYPE = 16;
/// `ACPIBus`.
pub const ACPIBus: INTERFACE_TYPE = 17;
/// `MaximumInterfaceType`.
pub const MaximumInterfaceType: INTERFACE_TYPE = 18;

// KINTERRUPT_MODE.
/// `LevelSensitive`.
pub const LevelSensitive: KINTERRUPT_MODE = 0;
/// `Latched`.
pub const Latched: KINTERRUPT_MODE = 1;

// KINTERRUPT_POLARITY.
/// `InterruptPolarityUnknown`.
pub const InterruptPolarityUnknown: KINTERRUPT_POLARITY = 0;
/// `InterruptActiveHigh`.
pub const InterruptActiveHigh: KINTERRUPT_POLARITY = 1;
/// `InterruptRisingEdge`.
pub const InterruptRisingEdge: KINTERRUPT_POLARITY = 1;
/// `InterruptActiveLow`.
pub const InterruptActiveLow: KINTERRUPT_POLARITY = 2;
/// `InterruptFallingEdge`.
pub const InterruptFallingEdge: KINTERRUPT_POLARITY = 2;
/// `InterruptActiveBoth`.
pub const InterruptActiveBoth: KINTERRUPT_POLARITY = 3;
/// `InterruptActiveBothTriggerLow`.
pub const InterruptActiveBothTriggerLow: KINTERRUPT_POLARITY = 3;
/// `InterruptActiveBothTriggerHigh`.
pub const InterruptActiveBothTriggerHigh: KINTERRUPT_POLARITY = 4;

// IRQ_DEVICE_POLICY (the USHORT values of the processor-group-aware layout).
/// `IrqPolicyMachineDefault`.
pub const IrqPolicyMachineDefault: IRQ_DEVICE_POLICY = 0;
/// `IrqPolicyAllCloseProcessors`.
pub const IrqPolicyAllCloseProcessors: IRQ_DEVICE_POLICY = 1;
/// `IrqPolicyOneCloseProcessor`.
pub const IrqPolicyOneCloseProcessor: IRQ_DEVICE_POLICY = 2;
/// `IrqPolicyAllProcessorsInMachine`.
pub const IrqPolicyAllProcessorsInMachine: IRQ_DEVICE_POLICY = 3;
/// `IrqPolicyAllProcessorsInGroup`.
pub const IrqPolicyAllProcessorsInGroup: IRQ_DEVICE_POLICY = 3;
/// `IrqPolicySpecifiedProcessors`.
pub const IrqPolicySpecifiedProcessors: IRQ_DEVICE_POLICY = 4;
/// `IrqPolicySpreadMessagesAcrossAllProcessors`.
pub const IrqPolicySpreadMessagesAcrossAllProcessors: IRQ_DEVICE_POLICY = 5;
/// `IrqPolicyAllProcessorsInMachineWhenSteered`.
pub const IrqPolicyAllProcessorsInMachineWhenSteered: IRQ_DEVICE_POLICY = 6;
/// `IrqPolicyAllProcessorsInGroupWhenSteered`.
pub const IrqPolicyAllProcessorsInGroupWhenSteered: IRQ_DEVICE_POLICY = 6;

// IRQ_PRIORITY.
/// `IrqPriorityUndefined`.
pub const IrqPriorityUndefined: IRQ_PRIORITY = 0;
/// `IrqPriorityLow`.
pub const IrqPriorityLow: IRQ_PRIORITY = 1;
/// `IrqPriorityNormal`.
pub const IrqPriorityNormal: IRQ_PRIORITY = 2;
/// `IrqPriorityHigh`.
pub const IrqPriorityHigh: IRQ_PRIORITY = 3;

// IO_CONNECT_INTERRUPT_PARAMETERS.Version.
/// `CONNECT_FULLY_SPECIFIED`.
pub const CONNECT_FULLY_SPECIFIED: ULONG = 1;
/// `CONNECT_LINE_BASED`.
pub const CONNECT_LINE_BASED: ULONG = 2;
/// `CONNECT_MESSAGE_BASED`.
pub const CONNECT_MESSAGE_BASED: ULONG = 3;
/// `CONNECT_CURRENT_VERSION`.
pub const CONNECT_CURRENT_VERSION: ULONG = 4;
/// `CONNECT_FULLY_SPECIFIED_GROUP`.
pub const CONNECT_FULLY_SPECIFIED_GROUP: ULONG = 4;

// IRP_MN_READ_CONFIG / IRP_MN_WRITE_CONFIG WhichSpace.
/// `PCI_WHICHSPACE_CONFIG`.
pub const PCI_WHICHSPACE_CONFIG: ULONG = 0;
/// `PCI_WHICHSPACE_ROM` (the characters `PciR` as a little-endian `ULONG`).
pub const PCI_WHICHSPACE_ROM: ULONG = 0x5269_6350;
