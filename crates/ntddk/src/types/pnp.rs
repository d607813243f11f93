// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Plug and Play and power: what the `PnP` and power IRPs carry (device relations, capabilities,
//! interfaces, bus information, power states) and the remove lock.

use super::basic::{
    BOOLEAN, DEVICE_DESCRIPTION, DEVICE_POWER_STATE, GUID, INTERFACE_TYPE, LONG, PHYSICAL_ADDRESS,
    PVOID, SYSTEM_POWER_STATE, UCHAR, ULONG, USHORT,
};
use super::dma::DMA_ADAPTER;
use super::io::DEVICE_OBJECT;
use super::ke::KEVENT;

/// `PowerSystemMaximum`: the length of [`DEVICE_CAPABILITIES::DeviceState`].
pub const POWER_SYSTEM_MAXIMUM: usize = 7;

/// `INTERFACE_REFERENCE`/`INTERFACE_DEREFERENCE`: an interface's reference count methods.
pub type INTERFACE_REFERENCE = unsafe extern "system" fn(Context: PVOID);
/// `INTERFACE_DEREFERENCE`.
pub type INTERFACE_DEREFERENCE = unsafe extern "system" fn(Context: PVOID);
/// `TRANSLATE_BUS_ADDRESS` (`BUS_INTERFACE_STANDARD`).
pub type TRANSLATE_BUS_ADDRESS = unsafe extern "system" fn(
    Context: PVOID,
    BusAddress: PHYSICAL_ADDRESS,
    Length: ULONG,
    AddressSpace: *mut ULONG,
    TranslatedAddress: *mut PHYSICAL_ADDRESS,
) -> BOOLEAN;
/// `GET_DMA_ADAPTER` (`BUS_INTERFACE_STANDARD`).
pub type GET_DMA_ADAPTER = unsafe extern "system" fn(
    Context: PVOID,
    DeviceDescriptor: *mut DEVICE_DESCRIPTION,
    NumberOfMapRegisters: *mut ULONG,
) -> *mut DMA_ADAPTER;
/// `GET_SET_DEVICE_DATA` (`BUS_INTERFACE_STANDARD`'s `SetBusData` and `GetBusData`).
pub type GET_SET_DEVICE_DATA = unsafe extern "system" fn(
    Context: PVOID,
    DataType: ULONG,
    Buffer: PVOID,
    Offset: ULONG,
    Length: ULONG,
) -> ULONG;

/// `DEVICE_RELATIONS`: `Count` referenced device objects from `Objects`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DEVICE_RELATIONS {
    /// `Count`.
    pub Count: ULONG,
    /// `Objects` (the first of `Count`).
    pub Objects: [*mut DEVICE_OBJECT; 1],
}

/// `DEVICE_CAPABILITIES` (`IRP_MN_QUERY_CAPABILITIES`).
///
/// The one-bit fields `DeviceD1` .. `NoDisplayInUI` share the `ULONG` after `Version`; here it
/// is `Flags`, read and written with the associated masks
/// (`caps.Flags |= DEVICE_CAPABILITIES::Removable`) or [`DEVICE_CAPABILITIES::get`] and
/// [`DEVICE_CAPABILITIES::set`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DEVICE_CAPABILITIES {
    /// `Size`: `sizeof(DEVICE_CAPABILITIES)`.
    pub Size: USHORT,
    /// `Version` (1).
    pub Version: USHORT,
    /// The bit-field word (`DeviceD1` .. `NoDisplayInUI`, then 14 reserved bits).
    pub Flags: ULONG,
    /// `Address`.
    pub Address: ULONG,
    /// `UINumber`.
    pub UINumber: ULONG,
    /// `DeviceState`: the D-state for each S-state.
    pub DeviceState: [DEVICE_POWER_STATE; POWER_SYSTEM_MAXIMUM],
    /// `SystemWake`.
    pub SystemWake: SYSTEM_POWER_STATE,
    /// `DeviceWake`.
    pub DeviceWake: DEVICE_POWER_STATE,
    /// `D1Latency`.
    pub D1Latency: ULONG,
    /// `D2Latency`.
    pub D2Latency: ULONG,
    /// `D3Latency`.
    pub D3Latency: ULONG,
}

impl DEVICE_CAPABILITIES {
    /// `DeviceD1`.
    pub const DeviceD1: ULONG = 1 << 0;
    /// `DeviceD2`.
    pub const DeviceD2: ULONG = 1 << 1;
    /// `LockSupported`.
    pub const LockSupported: ULONG = 1 << 2;
    /// `EjectSupported`.
    pub const EjectSupported: ULONG = 1 << 3;
    /// `Removable`.
    pub const Removable: ULONG = 1 << 4;
    /// `DockDevice`.
    pub const DockDevice: ULONG = 1 << 5;
    /// `UniqueID`.
    pub const UniqueID: ULONG = 1 << 6;
    /// `SilentInstall`.
    pub const SilentInstall: ULONG = 1 << 7;
    /// `RawDeviceOK`.
    pub const RawDeviceOK: ULONG = 1 << 8;
    /// `SurpriseRemovalOK`.
    pub const SurpriseRemovalOK: ULONG = 1 << 9;
    /// `WakeFromD0`.
    pub const WakeFromD0: ULONG = 1 << 10;
    /// `WakeFromD1`.
    pub const WakeFromD1: ULONG = 1 << 11;
    /// `WakeFromD2`.
    pub const WakeFromD2: ULONG = 1 << 12;
    /// `WakeFromD3`.
    pub const WakeFromD3: ULONG = 1 << 13;
    /// `HardwareDisabled`.
    pub const HardwareDisabled: ULONG = 1 << 14;
    /// `NonDynamic`.
    pub const NonDynamic: ULONG = 1 << 15;
    /// `WarmEjectSupported`.
    pub const WarmEjectSupported: ULONG = 1 << 16;
    /// `NoDisplayInUI`.
    pub const NoDisplayInUI: ULONG = 1 << 17;

    /// Whether the one-bit field `mask` (one of the associated constants) is set.
    #[must_use]
    pub const fn get(&self, mask: ULONG) -> bool {
        self.Flags & mask != 0
    }

    /// Sets or clears the one-bit field `mask` (one of the associated constants).
    pub const fn set(&mut self, mask: ULONG, on: bool) {
        if on {
            self.Flags |= mask;
        } else {
            self.Flags &= !mask;
        }
    }
}

/// `INTERFACE`: the head every `IRP_MN_QUERY_INTERFACE` interface starts with.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct INTERFACE {
    /// `Size`.
    pub Size: USHORT,
    /// `Version`.
    pub Version: USHORT,
    /// `Context`: passed to every method.
    pub Context: PVOID,
    /// `InterfaceReference`.
    pub InterfaceReference: Option<INTERFACE_REFERENCE>,
    /// `InterfaceDereference`.
    pub InterfaceDereference: Option<INTERFACE_DEREFERENCE>,
}

/// `BUS_INTERFACE_STANDARD` (`GUID_BUS_INTERFACE_STANDARD`): config-space access to a PCI
/// device through its bus driver.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BUS_INTERFACE_STANDARD {
    /// `Size`.
    pub Size: USHORT,
    /// `Version`.
    pub Version: USHORT,
    /// `Context`.
    pub Context: PVOID,
    /// `InterfaceReference`.
    pub InterfaceReference: Option<INTERFACE_REFERENCE>,
    /// `InterfaceDereference`.
    pub InterfaceDereference: Option<INTERFACE_DEREFERENCE>,
    /// `TranslateBusAddress`.
    pub TranslateBusAddress: Option<TRANSLATE_BUS_ADDRESS>,
    /// `GetDmaAdapter`.
    pub GetDmaAdapter: Option<GET_DMA_ADAPTER>,
    /// `SetBusData`.
    pub SetBusData: Option<GET_SET_DEVICE_DATA>,
    /// `GetBusData`.
    pub GetBusData: Option<GET_SET_DEVICE_DATA>,
}

/// `PNP_BUS_INFORMATION` (`IRP_MN_QUERY_BUS_INFORMATION`, allocated from paged pool by the
/// bus driver).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PNP_BUS_INFORMATION {
    /// `BusTypeGuid`.
    pub BusTypeGuid: GUID,
    /// `LegacyBusType`.
    pub LegacyBusType: INTERFACE_TYPE,
    /// `BusNumber`.
    pub BusNumber: ULONG,
}

/// `POWER_STATE`: a system or device power state, by `POWER_STATE_TYPE`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union POWER_STATE {
    /// `SystemState`.
    pub SystemState: SYSTEM_POWER_STATE,
    /// `DeviceState`.
    pub DeviceState: DEVICE_POWER_STATE,
}

/// `SYSTEM_POWER_STATE_CONTEXT`: the bit-field word of `Parameters.Power.SystemPowerStateContext`
/// (`ContextAsUlong`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SYSTEM_POWER_STATE_CONTEXT {
    /// `ContextAsUlong`: `Reserved1:8`, `TargetSystemState:4`, `EffectiveSystemState:4`,
    /// `CurrentSystemState:4`, `IgnoreHibernationPath:1`, `PseudoTransition:1`, `Reserved2:10`.
    pub ContextAsUlong: ULONG,
}

/// `IO_REMOVE_LOCK_COMMON_BLOCK`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_REMOVE_LOCK_COMMON_BLOCK {
    /// `Removed`.
    pub Removed: BOOLEAN,
    /// `Reserved`.
    pub Reserved: [UCHAR; 3],
    /// `IoCount`.
    pub IoCount: LONG,
    /// `RemoveEvent`.
    pub RemoveEvent: KEVENT,
}

/// `IO_REMOVE_LOCK` as a free (non-`DBG`) build lays it out: the common block only. Pass
/// `size_of::<IO_REMOVE_LOCK>()` as `IoInitializeRemoveLockEx`'s `RemlockSize`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IO_REMOVE_LOCK {
    /// `Common`.
    pub Common: IO_REMOVE_LOCK_COMMON_BLOCK,
}
