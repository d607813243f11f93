// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::pnp`: relations, capabilities, interfaces, bus information, power states,
//! the remove lock.

use super::{NtTable, bits, consts, fn_pointers, layout};

pub fn items(t: &mut NtTable) {
    consts!(t, [POWER_SYSTEM_MAXIMUM]);
    fn_pointers!(
        t,
        [
            PINTERFACE_REFERENCE => INTERFACE_REFERENCE,
            PINTERFACE_DEREFERENCE => INTERFACE_DEREFERENCE,
            PTRANSLATE_BUS_ADDRESS => TRANSLATE_BUS_ADDRESS,
            PGET_DMA_ADAPTER => GET_DMA_ADAPTER,
            PGET_SET_DEVICE_DATA => GET_SET_DEVICE_DATA,
        ]
    );
    layout!(t, DEVICE_RELATIONS { Count, Objects });
    layout!(
        t,
        DEVICE_CAPABILITIES {
            Size,
            Version,
            Address,
            UINumber,
            DeviceState,
            SystemWake,
            DeviceWake,
            D1Latency,
            D2Latency,
            D3Latency,
        }
    );
    bits!(
        t,
        DEVICE_CAPABILITIES,
        Flags,
        [
            DeviceD1,
            DeviceD2,
            LockSupported,
            EjectSupported,
            Removable,
            DockDevice,
            UniqueID,
            SilentInstall,
            RawDeviceOK,
            SurpriseRemovalOK,
            WakeFromD0,
            WakeFromD1,
            WakeFromD2,
            WakeFromD3,
            HardwareDisabled,
            NonDynamic,
            WarmEjectSupported,
            NoDisplayInUI,
        ]
    );
    layout!(
        t,
        INTERFACE {
            Size,
            Version,
            Context,
            InterfaceReference,
            InterfaceDereference
        }
    );
    layout!(
        t,
        BUS_INTERFACE_STANDARD {
            Size,
            Version,
            Context,
            InterfaceReference,
            InterfaceDereference,
            TranslateBusAddress,
            GetDmaAdapter,
            SetBusData,
            GetBusData,
        }
    );
    layout!(
        t,
        DEVICE_DESCRIPTION {
            Version,
            Master,
            ScatterGather,
            DemandMode,
            AutoInitialize,
            Dma32BitAddresses,
            IgnoreCount,
            Reserved1,
            Dma64BitAddresses,
            BusNumber,
            DmaChannel,
            InterfaceType,
            DmaWidth,
            DmaSpeed,
            MaximumLength,
            DmaPort,
        }
    );
    layout!(
        t,
        PNP_BUS_INFORMATION {
            BusTypeGuid,
            LegacyBusType,
            BusNumber
        }
    );
    layout!(
        t,
        POWER_STATE {
            SystemState,
            DeviceState
        }
    );
    layout!(t, SYSTEM_POWER_STATE_CONTEXT { ContextAsUlong });
    layout!(
        t,
        IO_REMOVE_LOCK_COMMON_BLOCK {
            Removed,
            Reserved,
            IoCount,
            RemoveEvent
        }
    );
    layout!(t, IO_REMOVE_LOCK { Common });
}
