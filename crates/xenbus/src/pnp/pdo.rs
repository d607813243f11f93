// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A child PDO: its record, what it answers on its own, and the requests the glue decodes for
//! it. Requests that touch the bus (removal, ejection) are decided by [`super::fdo::Fdo`], which
//! owns every PDO.

use alloc::string::String;

use ntstatus::NtStatus;

use super::state::{DevicePnpState, DevicePower, PnpState, SystemPower};
use crate::pdo_identity::{Id, IdType, TextType};

/// A PDO's handle: unique for the life of its FDO, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PdoId(u64);

impl PdoId {
    pub(super) const fn new(serial: u64) -> Self {
        Self(serial)
    }

    /// The serial number, for logs.
    #[must_use]
    pub const fn serial(self) -> u64 {
        self.0
    }
}

/// Why a PDO is no longer reported in bus relations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingReason {
    /// The class left xenstore `device/` (and `SyntheticClasses`).
    DeviceDisappeared,
    /// The FDO was surprise-removed.
    FdoSurpriseRemoved,
    /// The FDO was removed.
    FdoRemoved,
    /// The PDO was ejected.
    DeviceEjected,
}

impl MissingReason {
    /// The words the C package logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DeviceDisappeared => "device disappeared",
            Self::FdoSurpriseRemoved => "FDO surprise removed",
            Self::FdoRemoved => "FDO removed",
            Self::DeviceEjected => "device ejected",
        }
    }
}

/// Per-class settings read from `Parameters\<CLASS>` when the PDO is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdoSettings {
    /// `AllowPdoRemove` (default 1): the device is removable and surprise removal is fine.
    pub allow_remove: bool,
    /// `AllowPdoEject` (default 1): the device supports eject.
    pub allow_eject: bool,
}

impl Default for PdoSettings {
    fn default() -> Self {
        Self {
            allow_remove: true,
            allow_eject: true,
        }
    }
}

impl PdoSettings {
    /// Settings from the two registry values as read (`None` when missing or not a DWORD:
    /// the default applies, as in the C package).
    #[must_use]
    pub fn from_registry(allow_remove: Option<u32>, allow_eject: Option<u32>) -> Self {
        Self {
            allow_remove: allow_remove.is_none_or(|value| value != 0),
            allow_eject: allow_eject.is_none_or(|value| value != 0),
        }
    }
}

/// A child device object on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdo {
    pub(super) id: PdoId,
    pub(super) name: String,
    pub(super) state: PnpState,
    pub(super) missing: Option<MissingReason>,
    pub(super) power: DevicePower,
    pub(super) system_power: SystemPower,
    pub(super) settings: PdoSettings,
}

impl Pdo {
    pub(super) const fn new(id: PdoId, name: String, settings: PdoSettings) -> Self {
        Self {
            id,
            name,
            state: PnpState::new(DevicePnpState::Present),
            missing: None,
            power: DevicePower::D3,
            system_power: SystemPower::WORKING,
            settings,
        }
    }

    /// The handle.
    #[must_use]
    pub const fn id(&self) -> PdoId {
        self.id
    }

    /// The class name (`VIF`, `VBD`, ...).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Plug and Play state.
    #[must_use]
    pub const fn state(&self) -> DevicePnpState {
        self.state.current()
    }

    /// Why the PDO is missing, if it is.
    #[must_use]
    pub const fn missing(&self) -> Option<MissingReason> {
        self.missing
    }

    /// The device power state.
    #[must_use]
    pub const fn power(&self) -> DevicePower {
        self.power
    }

    /// The last system power state the PDO was told about.
    #[must_use]
    pub const fn system_power(&self) -> SystemPower {
        self.system_power
    }

    /// Marks the PDO missing; the first reason stays.
    pub(super) const fn set_missing(&mut self, reason: MissingReason) {
        if self.missing.is_none() {
            self.missing = Some(reason);
        }
    }

    /// What `IRP_MN_QUERY_CAPABILITIES` fills in, or `STATUS_INVALID_PARAMETER` for a
    /// structure version other than 1.
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` when `version` is not 1.
    pub const fn capabilities(&self, version: u16) -> Result<PdoCapabilities, NtStatus> {
        if version != 1 {
            return Err(ntstatus::STATUS_INVALID_PARAMETER);
        }
        Ok(PdoCapabilities {
            removable: self.settings.allow_remove,
            surprise_removal_ok: self.settings.allow_remove,
            eject_supported: self.settings.allow_eject,
        })
    }
}

/// The PDO's answer to `IRP_MN_QUERY_CAPABILITIES`.
///
/// The fields not listed are the same for every PDO and the glue writes them as the C package does: D1/D2, lock, dock, raw and
/// hardware-disabled all clear; `UniqueID` and `SilentInstall` set; `Address` and `UINumber`
/// `0xFFFF_FFFF`; `DeviceState[S0] = D0`, `DeviceState[S3..S5] = D3` (S1, S2 and unspecified
/// left as the PnP manager filled them); wake states unspecified; latencies 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdoCapabilities {
    /// `Removable`.
    pub removable: bool,
    /// `SurpriseRemovalOK` (follows `Removable`).
    pub surprise_removal_ok: bool,
    /// `EjectSupported`.
    pub eject_supported: bool,
}

impl PdoCapabilities {
    /// `Address` and `UINumber`.
    pub const NO_ADDRESS: u32 = 0xFFFF_FFFF;
}

/// A Plug and Play request to a PDO, decoded by the glue from `IRP_MN_*` and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdoRequest {
    /// `IRP_MN_START_DEVICE`.
    Start,
    /// `IRP_MN_QUERY_STOP_DEVICE`.
    QueryStop,
    /// `IRP_MN_CANCEL_STOP_DEVICE`.
    CancelStop,
    /// `IRP_MN_STOP_DEVICE`.
    Stop,
    /// `IRP_MN_QUERY_REMOVE_DEVICE`.
    QueryRemove,
    /// `IRP_MN_CANCEL_REMOVE_DEVICE`.
    CancelRemove,
    /// `IRP_MN_SURPRISE_REMOVAL`.
    SurpriseRemoval,
    /// `IRP_MN_REMOVE_DEVICE`.
    Remove,
    /// `IRP_MN_EJECT`.
    Eject,
    /// `IRP_MN_QUERY_DEVICE_RELATIONS` with its `DEVICE_RELATION_TYPE`.
    QueryDeviceRelations(i32),
    /// `IRP_MN_QUERY_INTERFACE`.
    QueryInterface,
    /// `IRP_MN_QUERY_CAPABILITIES` with the structure's `Version`.
    QueryCapabilities(u16),
    /// `IRP_MN_QUERY_RESOURCE_REQUIREMENTS`.
    QueryResourceRequirements,
    /// `IRP_MN_QUERY_DEVICE_TEXT`.
    QueryDeviceText(TextType),
    /// `IRP_MN_READ_CONFIG` or `IRP_MN_WRITE_CONFIG`.
    Config,
    /// `IRP_MN_QUERY_ID`.
    QueryId(IdType),
    /// `IRP_MN_QUERY_BUS_INFORMATION`.
    QueryBusInformation,
    /// `IRP_MN_DEVICE_USAGE_NOTIFICATION`.
    DeviceUsageNotification,
    /// Any other minor function.
    Other(u8),
}

impl PdoRequest {
    /// Decodes a PnP minor function with the one parameter each needs (relation type, ID
    /// type, text type or capabilities version, as the IRP carries it; ignored otherwise).
    #[must_use]
    pub fn decode(minor: u8, parameter: i32) -> Self {
        use ntddk::consts as mn;
        match minor {
            mn::IRP_MN_START_DEVICE => Self::Start,
            mn::IRP_MN_QUERY_STOP_DEVICE => Self::QueryStop,
            mn::IRP_MN_CANCEL_STOP_DEVICE => Self::CancelStop,
            mn::IRP_MN_STOP_DEVICE => Self::Stop,
            mn::IRP_MN_QUERY_REMOVE_DEVICE => Self::QueryRemove,
            mn::IRP_MN_CANCEL_REMOVE_DEVICE => Self::CancelRemove,
            mn::IRP_MN_SURPRISE_REMOVAL => Self::SurpriseRemoval,
            mn::IRP_MN_REMOVE_DEVICE => Self::Remove,
            mn::IRP_MN_EJECT => Self::Eject,
            mn::IRP_MN_QUERY_DEVICE_RELATIONS => Self::QueryDeviceRelations(parameter),
            mn::IRP_MN_QUERY_INTERFACE => Self::QueryInterface,
            mn::IRP_MN_QUERY_CAPABILITIES => {
                Self::QueryCapabilities(u16::try_from(parameter).unwrap_or(u16::MAX))
            }
            mn::IRP_MN_QUERY_RESOURCE_REQUIREMENTS => Self::QueryResourceRequirements,
            mn::IRP_MN_QUERY_DEVICE_TEXT => Self::QueryDeviceText(text_type(parameter)),
            mn::IRP_MN_READ_CONFIG | mn::IRP_MN_WRITE_CONFIG => Self::Config,
            mn::IRP_MN_QUERY_ID => Self::QueryId(id_type(parameter)),
            mn::IRP_MN_QUERY_BUS_INFORMATION => Self::QueryBusInformation,
            mn::IRP_MN_DEVICE_USAGE_NOTIFICATION => Self::DeviceUsageNotification,
            other => Self::Other(other),
        }
    }
}

const fn id_type(raw: i32) -> IdType {
    use ntddk::consts as p;
    match raw {
        p::BusQueryDeviceID => IdType::DeviceId,
        p::BusQueryHardwareIDs => IdType::HardwareIds,
        p::BusQueryCompatibleIDs => IdType::CompatibleIds,
        p::BusQueryInstanceID => IdType::InstanceId,
        _ => IdType::Other,
    }
}

const fn text_type(raw: i32) -> TextType {
    use ntddk::consts as p;
    match raw {
        p::DeviceTextDescription => TextType::Description,
        p::DeviceTextLocationInformation => TextType::LocationInformation,
        _ => TextType::Other,
    }
}

/// What the glue puts in `IoStatus.Information` (as a pool buffer it allocates) when it
/// completes a PDO's IRP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PdoInfo {
    /// Information 0.
    None,
    /// An ID string or multi-string (`IRP_MN_QUERY_ID`).
    Id(Id),
    /// A text string (`IRP_MN_QUERY_DEVICE_TEXT`).
    Text(String),
    /// Fill the caller's `DEVICE_CAPABILITIES` (Information untouched).
    Capabilities(PdoCapabilities),
    /// A `DEVICE_RELATIONS` naming the PDO itself, referenced.
    TargetRelation,
    /// The PDO's resource requirements (see [`super::resources::pdo_requirements`]).
    ResourceRequirements,
    /// A `PNP_BUS_INFORMATION`: `GUID_BUS_TYPE_INTERNAL`, `Internal`, bus 0.
    BusInformation,
}

/// How a PDO's IRP ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PdoCompletion {
    /// Complete with this status and information.
    Complete(NtStatus, PdoInfo),
    /// Complete with the status and information already in the IRP (the C package's answer to
    /// requests it does not handle).
    Unchanged,
    /// Serve the XENBUS interface query (`crate::interface`) and complete with its status.
    ServeInterface,
    /// Send the request to the FDO's stack and complete with the status it returns.
    DelegateToFdoStack,
}
