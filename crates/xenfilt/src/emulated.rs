// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! EMULATED: the emulated devices and disks xenfilt has seen, and the `XENFILT_EMULATED`
//! interface (versions 1 to 3) that serves them to xenbus, xenvbd and xenvif.
//!
//! Upstream (`src/xenfilt/emulated.c`): every child filter (`PdoCreate`) adds one object,
//! removed again by `PdoDestroy`:
//!
//! * on a PCI bus, a **device**: its device and instance IDs, each copied into a 128-byte
//!   buffer (so silently cut to 127 characters), its force-activation status, and whether one
//!   of its compatible IDs is a QEMU `NVMe` controller (`PCI\VEN_8086&DEV_5845` with QEMU's
//!   `use-intel-id`, `PCI\VEN_1B36&DEV_0010` without; case-insensitive);
//! * on an IDE channel, a **disk**: its index `controller * 2 + target`, parsed from its
//!   instance ID `C.T.L` ([`parse_ide_instance`], with `strtoul`'s leniency).
//!
//! The interface methods read that list under a spin lock:
//!
//! * `IsDevicePresent(DeviceID, InstanceID, &Status)` (v3; v1/v2 without the status): the
//!   first device (disks are skipped) whose device ID matches, ignoring case, or, for a NULL
//!   device ID, the first force-activated device; a NULL instance ID matches any. The status
//!   is the device's force-activation, or `NEUTRAL` when nothing matches.
//! * `IsDiskPresent(Index)` (v2, v3): a disk with that index exists, **or any** emulated `NVMe`
//!   controller does, whatever the index.
//! * `IsDiskPresentVersion1(Controller, Target, Lun)`: `IsDiskPresent(Target)`; xenvbd passes
//!   its PV disk number as the target and 0 as the controller.
//! * `Acquire`/`Release`: a reference count only; `Acquire` always succeeds.
//!
//! This module is that list and those answers; the glue puts it behind a `DISPATCH_LEVEL` spin
//! lock and fills the `repr(C)` tables of [`xenbus_interface::emulated`] with thunks calling
//! into it (`Interface->Context` points at the locked list).

use alloc::vec::Vec;
use core::fmt;

use ntstatus::{NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xenbus_interface::InterfaceVersion;
use xenbus_interface::emulated::{
    XENBUS_EMULATED_ACTIVATE_NEUTRAL, XENBUS_EMULATED_FORCE_ACTIVATED,
    XENBUS_EMULATED_FORCE_DEACTIVATED, XenbusEmulatedActivationStatus, XenfiltEmulatedInterfaceV1,
    XenfiltEmulatedInterfaceV2, XenfiltEmulatedInterfaceV3,
};

use crate::id::IdList;

/// The bytes upstream keeps of a device's IDs (`MAXNAMELEN` 128 with the terminator).
pub const STORED_ID_LEN: usize = 127;

/// The compatible IDs of QEMU's emulated `NVMe` controller (`use-intel-id` on, off).
pub const NVME_COMPATIBLE_IDS: [&[u8]; 2] = [b"PCI\\VEN_8086&DEV_5845", b"PCI\\VEN_1B36&DEV_0010"];

/// What a filtered bus carries (`XENFILT_EMULATED_OBJECT_TYPE`, `UNKNOWN` being "not filtered").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedType {
    /// A PCI bus: its children are emulated devices.
    Pci,
    /// An IDE channel: its children are emulated disks.
    Ide,
}

impl EmulatedType {
    /// Upstream's name for the type (`"PCI"`, `"IDE"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pci => "PCI",
            Self::Ide => "IDE",
        }
    }
}

/// `XENBUS_EMULATED_ACTIVATION_STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivationStatus {
    /// `XENBUS_EMULATED_ACTIVATE_NEUTRAL`: no precedence decided; `ActiveDeviceID` rules.
    #[default]
    Neutral,
    /// `XENBUS_EMULATED_FORCE_ACTIVATED`: the highest precedence among its bus's new children.
    ForceActivated,
    /// `XENBUS_EMULATED_FORCE_DEACTIVATED`: another new child had the highest precedence.
    ForceDeactivated,
}

impl ActivationStatus {
    /// The C value.
    #[must_use]
    pub const fn to_raw(self) -> XenbusEmulatedActivationStatus {
        match self {
            Self::Neutral => XENBUS_EMULATED_ACTIVATE_NEUTRAL,
            Self::ForceActivated => XENBUS_EMULATED_FORCE_ACTIVATED,
            Self::ForceDeactivated => XENBUS_EMULATED_FORCE_DEACTIVATED,
        }
    }
}

/// Why an object was not added (`EmulatedAddObject` failing, so `PdoCreate` fails and the
/// child is dropped from its bus's relations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedError {
    /// The IDE instance ID is not `C.T.L` with `C` and `T` at most 1.
    BadIdeInstance(IdeInstanceError),
    /// No memory for the object.
    NoMemory,
}

impl EmulatedError {
    /// Upstream's status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::BadIdeInstance(e) => e.status(),
            Self::NoMemory => ntstatus::STATUS_NO_MEMORY,
        }
    }
}

impl fmt::Display for EmulatedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadIdeInstance(e) => write!(f, "IDE instance ID: {e}"),
            Self::NoMemory => f.write_str("no memory"),
        }
    }
}

/// Which part of an IDE instance ID `C.T.L` is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeInstanceError {
    /// The controller is above 1 or not followed by `.` (`STATUS_INVALID_PARAMETER`).
    Controller,
    /// The target is above 1 or not followed by `.` (`STATUS_INVALID_PARAMETER`).
    Target,
    /// The LUN is not 0 (`STATUS_NOT_SUPPORTED`).
    Lun,
    /// Characters follow the LUN (`STATUS_INVALID_PARAMETER`).
    Trailing,
}

impl IdeInstanceError {
    /// Upstream's status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::Lun => STATUS_NOT_SUPPORTED,
            Self::Controller | Self::Target | Self::Trailing => STATUS_INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for IdeInstanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Controller => "bad controller",
            Self::Target => "bad target",
            Self::Lun => "LUN not 0",
            Self::Trailing => "trailing characters",
        })
    }
}

/// `strtoul(text, &end, 10)` as the C runtime does it on a 32-bit `ULONG`.
///
/// Leading white space,
/// an optional sign, decimal digits; no digits means 0 with nothing consumed (not even the
/// white space or sign); overflow gives `ULONG_MAX`; a `-` negates modulo 2^32. Returns the
/// value and the number of bytes consumed.
#[must_use]
pub fn strtoul(text: &[u8]) -> (u32, usize) {
    let mut i = text
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
        .count();
    let negative = match text.get(i) {
        Some(b'-') => {
            i = i.saturating_add(1);
            true
        }
        Some(b'+') => {
            i = i.saturating_add(1);
            false
        }
        _ => false,
    };
    let digits = text
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return (0, 0);
    }
    let mut value: Option<u32> = Some(0);
    for &b in text.get(i..i.saturating_add(digits)).unwrap_or_default() {
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u32::from(b.wrapping_sub(b'0'))));
    }
    let value = match value {
        None => u32::MAX,
        Some(v) if negative => v.wrapping_neg(),
        Some(v) => v,
    };
    (value, i.saturating_add(digits))
}

/// The disk index `controller * 2 + target` of an IDE instance ID `C.T.L` (upstream's
/// `EmulatedSetObjectDiskData`).
///
/// Each number is read with [`strtoul`], so upstream's leniency is kept: white space, a sign or
/// leading zeros before a number are accepted, and an empty number reads as 0 (`"0.0."` and
/// `".."` are disk 0). The LUN is checked before the trailing characters, so `"0.0.1x"` is
/// `Lun`.
///
/// # Errors
/// [`IdeInstanceError`], in upstream's order of checks.
pub fn parse_ide_instance(instance_id: &[u8]) -> Result<u32, IdeInstanceError> {
    let (controller, used) = strtoul(instance_id);
    let rest = instance_id.get(used..).unwrap_or_default();
    if controller > 1 || rest.first() != Some(&b'.') {
        return Err(IdeInstanceError::Controller);
    }
    let rest = rest.get(1..).unwrap_or_default();
    let (target, used) = strtoul(rest);
    let rest = rest.get(used..).unwrap_or_default();
    if target > 1 || rest.first() != Some(&b'.') {
        return Err(IdeInstanceError::Target);
    }
    let rest = rest.get(1..).unwrap_or_default();
    let (lun, used) = strtoul(rest);
    if lun != 0 {
        return Err(IdeInstanceError::Lun);
    }
    // The instance ID ends at its NUL: what the C code sees as the terminator.
    match rest.get(used..).unwrap_or_default().first() {
        None | Some(0) => Ok((controller << 1) | target),
        Some(_) => Err(IdeInstanceError::Trailing),
    }
}

/// An emulated PCI device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its device ID, cut to [`STORED_ID_LEN`] bytes.
    pub device_id: Vec<u8>,
    /// Its instance ID, cut to [`STORED_ID_LEN`] bytes (empty when the bus gave none).
    pub instance_id: Vec<u8>,
    /// Its force-activation status.
    pub force_activate: ActivationStatus,
    /// Whether it is QEMU's emulated `NVMe` controller.
    pub is_nvme: bool,
}

/// One tracked object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A PCI device.
    Device(Device),
    /// An IDE disk, by index `controller * 2 + target`.
    Disk(u32),
}

/// A handle on a tracked object, kept by its child filter until `PdoDestroy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(u64);

/// Which table a successful `QUERY_INTERFACE` fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedVersion {
    /// `XENFILT_EMULATED_INTERFACE_V1`.
    V1,
    /// `XENFILT_EMULATED_INTERFACE_V2`.
    V2,
    /// `XENFILT_EMULATED_INTERFACE_V3`.
    V3,
}

impl EmulatedVersion {
    /// The table's size in bytes (its `Interface.Size`).
    #[must_use]
    pub const fn size(self) -> u16 {
        match self {
            Self::V1 => XenfiltEmulatedInterfaceV1::SIZE,
            Self::V2 => XenfiltEmulatedInterfaceV2::SIZE,
            Self::V3 => XenfiltEmulatedInterfaceV3::SIZE,
        }
    }

    /// The version number.
    #[must_use]
    pub const fn number(self) -> u16 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// `EmulatedGetInterface`: the table to fill for a query of `version` into a buffer of `size`
/// bytes.
///
/// # Errors
/// `STATUS_NOT_SUPPORTED` for a version other than 1 to 3 (checked first), then
/// `STATUS_BUFFER_OVERFLOW` when `size` is smaller than that version's table.
pub const fn get_interface(version: u16, size: u16) -> Result<EmulatedVersion, NtStatus> {
    let v = match version {
        1 => EmulatedVersion::V1,
        2 => EmulatedVersion::V2,
        3 => EmulatedVersion::V3,
        _ => return Err(STATUS_NOT_SUPPORTED),
    };
    if size < v.size() {
        return Err(STATUS_BUFFER_OVERFLOW);
    }
    Ok(v)
}

/// The tracked objects (`XENFILT_EMULATED_CONTEXT`), in the order they were added.
#[derive(Debug, Default)]
pub struct Emulated {
    objects: Vec<(ObjectId, Object)>,
    next: u64,
    references: u32,
}

fn stored(id: &[u8]) -> Result<Vec<u8>, EmulatedError> {
    let kept = id.get(..STORED_ID_LEN).unwrap_or(id);
    let mut v = Vec::new();
    v.try_reserve_exact(kept.len())
        .map_err(|_| EmulatedError::NoMemory)?;
    v.extend_from_slice(kept);
    Ok(v)
}

impl Emulated {
    /// An empty list.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            objects: Vec::new(),
            next: 0,
            references: 0,
        }
    }

    /// `EmulatedAddObject`: tracks the child of a `ty` bus with these IDs.
    ///
    /// For a PCI child the force-activation and the `NVMe` flag (from `compatible_ids`, when the
    /// bus gave them) are kept; for an IDE child only the disk index from `instance_id`.
    ///
    /// # Errors
    /// [`EmulatedError::BadIdeInstance`] for an IDE instance ID that does not parse,
    /// [`EmulatedError::NoMemory`].
    pub fn add_object(
        &mut self,
        ty: EmulatedType,
        device_id: &[u8],
        instance_id: &[u8],
        compatible_ids: Option<&IdList>,
        force_activate: ActivationStatus,
    ) -> Result<ObjectId, EmulatedError> {
        let object = match ty {
            EmulatedType::Pci => Object::Device(Device {
                device_id: stored(device_id)?,
                instance_id: stored(instance_id)?,
                force_activate,
                is_nvme: compatible_ids
                    .is_some_and(|ids| NVME_COMPATIBLE_IDS.iter().any(|nvme| ids.contains(nvme))),
            }),
            EmulatedType::Ide => Object::Disk(
                parse_ide_instance(instance_id).map_err(EmulatedError::BadIdeInstance)?,
            ),
        };
        self.objects
            .try_reserve(1)
            .map_err(|_| EmulatedError::NoMemory)?;
        let id = ObjectId(self.next);
        self.next = self.next.wrapping_add(1);
        self.objects.push((id, object));
        Ok(id)
    }

    /// `EmulatedRemoveObject`: forgets an object; false if it was not tracked.
    pub fn remove_object(&mut self, id: ObjectId) -> bool {
        let before = self.objects.len();
        self.objects.retain(|(i, _)| *i != id);
        self.objects.len() != before
    }

    /// The tracked objects, in order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().map(|(_, o)| o)
    }

    /// The object behind `id`.
    #[must_use]
    pub fn object(&self, id: ObjectId) -> Option<&Object> {
        self.objects.iter().find(|(i, _)| *i == id).map(|(_, o)| o)
    }

    /// `EmulatedIsDevicePresent` (v3; v1 and v2 ignore the status): see the module docs.
    #[must_use]
    pub fn is_device_present(
        &self,
        device_id: Option<&[u8]>,
        instance_id: Option<&[u8]>,
    ) -> (bool, ActivationStatus) {
        self.objects
            .iter()
            .find_map(|(_, o)| match o {
                Object::Device(d)
                    if device_id
                        .map_or(d.force_activate == ActivationStatus::ForceActivated, |id| {
                            d.device_id.eq_ignore_ascii_case(id)
                        })
                        && instance_id.is_none_or(|id| d.instance_id.eq_ignore_ascii_case(id)) =>
                {
                    Some(d.force_activate)
                }
                _ => None,
            })
            .map_or((false, ActivationStatus::Neutral), |status| (true, status))
    }

    /// `EmulatedIsDiskPresent` (v2, v3): a disk with `index`, or any emulated `NVMe` controller.
    #[must_use]
    pub fn is_disk_present(&self, index: u32) -> bool {
        self.objects.iter().any(|(_, o)| match o {
            Object::Disk(i) => *i == index,
            Object::Device(d) => d.is_nvme,
        })
    }

    /// `EmulatedIsDiskPresentVersion1` (v1): `IsDiskPresent(target)`.
    #[must_use]
    pub fn is_disk_present_v1(&self, _controller: u32, target: u32, _lun: u32) -> bool {
        self.is_disk_present(target)
    }

    /// `EmulatedAcquire`: counts a reference; always succeeds.
    pub const fn acquire(&mut self) {
        self.references = self.references.saturating_add(1);
    }

    /// `EmulatedRelease`: drops a reference (an unbalanced release is ignored).
    pub const fn release(&mut self) {
        self.references = self.references.saturating_sub(1);
    }

    /// The reference count.
    #[must_use]
    pub const fn references(&self) -> u32 {
        self.references
    }

    /// Whether nothing is tracked (what `EmulatedTeardown` requires).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests;
