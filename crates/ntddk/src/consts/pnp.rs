// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Plug and Play and power constants: relation types, ID and text types, usage notifications,
//! device states, power states and actions.

use crate::types::{
    BUS_QUERY_ID_TYPE, DEVICE_POWER_STATE, DEVICE_RELATION_TYPE, DEVICE_TEXT_TYPE,
    DEVICE_USAGE_NOTIFICATION_TYPE, PNP_DEVICE_STATE, POWER_ACTION, POWER_STATE_TYPE,
    SYSTEM_POWER_STATE,
};

// DEVICE_RELATION_TYPE (IRP_MN_QUERY_DEVICE_RELATIONS).
/// `BusRelations`.
pub const BusRelations: DEVICE_RELATION_TYPE = 0;
/// `EjectionRelations`.
pub const EjectionRelations: DEVICE_RELATION_TYPE = 1;
/// `PowerRelations`.
pub const PowerRelations: DEVICE_RELATION_TYPE = 2;
/// `RemovalRelations`.
pub const RemovalRelations: DEVICE_RELATION_TYPE = 3;
/// `TargetDeviceRelation`.
pub const TargetDeviceRelation: DEVICE_RELATION_TYPE = 4;
/// `SingleBusRelations`.
pub const SingleBusRelations: DEVICE_RELATION_TYPE = 5;
/// `TransportRelations`.
pub const TransportRelations: DEVICE_RELATION_TYPE = 6;

// BUS_QUERY_ID_TYPE (IRP_MN_QUERY_ID).
/// `BusQueryDeviceID`.
pub const BusQueryDeviceID: BUS_QUERY_ID_TYPE = 0;
/// `BusQueryHardwareIDs`.
pub const BusQueryHardwareIDs: BUS_QUERY_ID_TYPE = 1;
/// `BusQueryCompatibleIDs`.
pub const BusQueryCompatibleIDs: BUS_QUERY_ID_TYPE = 2;
/// `BusQueryInstanceID`.
pub const BusQueryInstanceID: BUS_QUERY_ID_TYPE = 3;
/// `BusQueryDeviceSerialNumber`.
pub const BusQueryDeviceSerialNumber: BUS_QUERY_ID_TYPE = 4;
/// `BusQueryContainerID`.
pub const BusQueryContainerID: BUS_QUERY_ID_TYPE = 5;

// DEVICE_TEXT_TYPE (IRP_MN_QUERY_DEVICE_TEXT).
/// `DeviceTextDescription`.
pub const DeviceTextDescription: DEVICE_TEXT_TYPE = 0;
/// `DeviceTextLocationInformation`.
pub const DeviceTextLocationInformation: DEVICE_TEXT_TYPE = 1;

// DEVICE_USAGE_NOTIFICATION_TYPE (IRP_MN_DEVICE_USAGE_NOTIFICATION).
/// `DeviceUsageTypeUndefined`.
pub const DeviceUsageTypeUndefined: DEVICE_USAGE_NOTIFICATION_TYPE = 0;
/// `DeviceUsageTypePaging`.
pub const DeviceUsageTypePaging: DEVICE_USAGE_NOTIFICATION_TYPE = 1;
/// `DeviceUsageTypeHibernation`.
pub const DeviceUsageTypeHibernation: DEVICE_USAGE_NOTIFICATION_TYPE = 2;
/// `DeviceUsageTypeDumpFile`.
pub const DeviceUsageTypeDumpFile: DEVICE_USAGE_NOTIFICATION_TYPE = 3;
/// `DeviceUsageTypeBoot`.
pub const DeviceUsageTypeBoot: DEVICE_USAGE_NOTIFICATION_TYPE = 4;
/// `DeviceUsageTypePostDisplay`.
pub const DeviceUsageTypePostDisplay: DEVICE_USAGE_NOTIFICATION_TYPE = 5;
/// `DeviceUsageTypeGuestAssigned`.
pub const DeviceUsageTypeGuestAssigned: DEVICE_USAGE_NOTIFICATION_TYPE = 6;

// PNP_DEVICE_STATE (IRP_MN_QUERY_PNP_DEVICE_STATE).
/// `PNP_DEVICE_DISABLED`.
pub const PNP_DEVICE_DISABLED: PNP_DEVICE_STATE = 1;
/// `PNP_DEVICE_DONT_DISPLAY_IN_UI`.
pub const PNP_DEVICE_DONT_DISPLAY_IN_UI: PNP_DEVICE_STATE = 2;
/// `PNP_DEVICE_FAILED`.
pub const PNP_DEVICE_FAILED: PNP_DEVICE_STATE = 4;
/// `PNP_DEVICE_REMOVED`.
pub const PNP_DEVICE_REMOVED: PNP_DEVICE_STATE = 8;
/// `PNP_DEVICE_RESOURCE_REQUIREMENTS_CHANGED`.
pub const PNP_DEVICE_RESOURCE_REQUIREMENTS_CHANGED: PNP_DEVICE_STATE = 0x10;
/// `PNP_DEVICE_NOT_DISABLEABLE`.
pub const PNP_DEVICE_NOT_DISABLEABLE: PNP_DEVICE_STATE = 0x20;

// SYSTEM_POWER_STATE.
/// `PowerSystemUnspecified`.
pub const PowerSystemUnspecified: SYSTEM_POWER_STATE = 0;
/// `PowerSystemWorking`.
pub const PowerSystemWorking: SYSTEM_POWER_STATE = 1;
/// `PowerSystemSleeping1`.
pub const PowerSystemSleeping1: SYSTEM_POWER_STATE = 2;
/// `PowerSystemSleeping2`.
pub const PowerSystemSleeping2: SYSTEM_POWER_STATE = 3;
/// `PowerSystemSleeping3`.
pub const PowerSystemSleeping3: SYSTEM_POWER_STATE = 4;
/// `PowerSystemHibernate`.
pub const PowerSystemHibernate: SYSTEM_POWER_STATE = 5;
/// `PowerSystemShutdown`.
pub const PowerSystemShutdown: SYSTEM_POWER_STATE = 6;
/// `PowerSystemMaximum`.
pub const PowerSystemMaximum: SYSTEM_POWER_STATE = 7;

// DEVICE_POWER_STATE.
/// `PowerDeviceUnspecified`.
pub const PowerDeviceUnspecified: DEVICE_POWER_STATE = 0;
/// `PowerDeviceD0`.
pub const PowerDeviceD0: DEVICE_POWER_STATE = 1;
/// `PowerDeviceD1`.
pub const PowerDeviceD1: DEVICE_POWER_STATE = 2;
/// `PowerDeviceD2`.
pub const PowerDeviceD2: DEVICE_POWER_STATE = 3;
/// `PowerDeviceD3`.
pub const PowerDeviceD3: DEVICE_POWER_STATE = 4;
/// `PowerDeviceMaximum`.
pub const PowerDeviceMaximum: DEVICE_POWER_STATE = 5;

// POWER_STATE_TYPE.
/// `SystemPowerState`.
pub const SystemPowerState: POWER_STATE_TYPE = 0;
/// `DevicePowerState`.
pub const DevicePowerState: POWER_STATE_TYPE = 1;

// POWER_ACTION (Parameters.Power.ShutdownType).
/// `PowerActionNone`.
pub const PowerActionNone: POWER_ACTION = 0;
/// `PowerActionReserved`.
pub const PowerActionReserved: POWER_ACTION = 1;
/// `PowerActionSleep`.
pub const PowerActionSleep: POWER_ACTION = 2;
/// `PowerActionHibernate`.
pub const PowerActionHibernate: POWER_ACTION = 3;
/// `PowerActionShutdown`.
pub const PowerActionShutdown: POWER_ACTION = 4;
/// `PowerActionShutdownReset`.
pub const PowerActionShutdownReset: POWER_ACTION = 5;
/// `PowerActionShutdownOff`.
pub const PowerActionShutdownOff: POWER_ACTION = 6;
/// `PowerActionWarmEject`.
pub const PowerActionWarmEject: POWER_ACTION = 7;
/// `PowerActionDisplayOff`.
pub const PowerActionDisplayOff: POWER_ACTION = 8;

/// `DelayedWorkQueue` (`WORK_QUEUE_TYPE`): the queue `IoQueueWorkItem` callers use for work
/// that may wait.
pub const DelayedWorkQueue: crate::types::WORK_QUEUE_TYPE = 1;
