// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Resource lists, as bytes the PnP manager hands over.
//!
//! The FDO's `IRP_MN_FILTER_RESOURCE_REQUIREMENTS` (one message interrupt per processor for the per-CPU
//! event-channel upcalls, the PCI line pinned to CPU 0), the `IRP_MN_START_DEVICE` lists (the
//! extra message interrupts hidden from the PCI driver, the interrupts to connect, the BAR),
//! and a PDO's own requirements.
//!
//! Every list is parsed with its counts and sizes checked against the buffer: a list that does
//! not add up is refused with [`ResourceError`], never read past. Layouts come from the
//! kernel bindings (`ntddk`), whose offsets are proven against the DDK headers.
//!
//! Where this differs from the C package on purpose: a requirements list with other than one
//! alternative list, or none at all, is left as the lower stack answered (the C package asserts
//! one list and would write past the buffer otherwise); raw and translated lists of different
//! lengths are refused rather than read in step.

use alloc::vec::Vec;
use core::mem::{offset_of, size_of};

use ntddk::consts as k;
use ntddk::types::{
    CM_FULL_RESOURCE_DESCRIPTOR, CM_PARTIAL_RESOURCE_DESCRIPTOR, CM_PARTIAL_RESOURCE_INTERRUPT,
    CM_PARTIAL_RESOURCE_LIST, CM_PARTIAL_RESOURCE_RANGE, CM_RESOURCE_LIST, IO_RESOURCE_DESCRIPTOR,
    IO_RESOURCE_INTERRUPT, IO_RESOURCE_LIST, IO_RESOURCE_RANGE, IO_RESOURCE_REQUIREMENTS_LIST,
};

/// Why a resource list was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceError {
    /// A count or size points past the end of the buffer, or does not add up.
    Malformed,
    /// The requirements have other than one alternative list.
    NotOneAlternative,
    /// The raw and translated lists do not describe the same resources.
    Mismatch,
    /// An interrupt targets no processor.
    NoProcessor,
    /// The result would not fit a `ULONG` size.
    TooLarge,
}

/// A processor as `KeGetProcessorNumberFromIndex` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessorNumber {
    /// The processor group.
    pub group: u16,
    /// The number within the group (0..64).
    pub number: u8,
}

const REQ_HEADER: usize = offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, List);
const REQ_LIST_SIZE: usize = offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, ListSize);
const REQ_INTERFACE: usize = offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, InterfaceType);
const REQ_ALTERNATIVES: usize = offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, AlternativeLists);
const IO_LIST_VERSION: usize = offset_of!(IO_RESOURCE_LIST, Version);
const IO_LIST_REVISION: usize = offset_of!(IO_RESOURCE_LIST, Revision);
const IO_LIST_COUNT: usize = offset_of!(IO_RESOURCE_LIST, Count);
const IO_LIST_HEADER: usize = offset_of!(IO_RESOURCE_LIST, Descriptors);
const IO_DESC: usize = size_of::<IO_RESOURCE_DESCRIPTOR>();
const IO_TYPE: usize = offset_of!(IO_RESOURCE_DESCRIPTOR, Type);
const IO_SHARE: usize = offset_of!(IO_RESOURCE_DESCRIPTOR, ShareDisposition);
const IO_FLAGS: usize = offset_of!(IO_RESOURCE_DESCRIPTOR, Flags);
const IO_U: usize = offset_of!(IO_RESOURCE_DESCRIPTOR, u);
const INT_MIN: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, MinimumVector);
const INT_MAX: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, MaximumVector);
const INT_AFFINITY: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, AffinityPolicy);
const INT_GROUP: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, Group);
const INT_PRIORITY: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, PriorityPolicy);
const INT_TARGETS: usize = IO_U + offset_of!(IO_RESOURCE_INTERRUPT, TargetedProcessors);
const MEM_LENGTH: usize = IO_U + offset_of!(IO_RESOURCE_RANGE, Length);
const MEM_ALIGNMENT: usize = IO_U + offset_of!(IO_RESOURCE_RANGE, Alignment);
const MEM_MIN: usize = IO_U + offset_of!(IO_RESOURCE_RANGE, MinimumAddress);
const MEM_MAX: usize = IO_U + offset_of!(IO_RESOURCE_RANGE, MaximumAddress);

const CM_LIST_COUNT: usize = offset_of!(CM_RESOURCE_LIST, Count);
const CM_LIST_HEADER: usize = offset_of!(CM_RESOURCE_LIST, List);
const CM_FULL_HEADER: usize = offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList)
    + offset_of!(CM_PARTIAL_RESOURCE_LIST, PartialDescriptors);
const CM_FULL_COUNT: usize = offset_of!(CM_FULL_RESOURCE_DESCRIPTOR, PartialResourceList)
    + offset_of!(CM_PARTIAL_RESOURCE_LIST, Count);
const CM_DESC: usize = size_of::<CM_PARTIAL_RESOURCE_DESCRIPTOR>();
const CM_TYPE: usize = offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, Type);
const CM_SHARE: usize = offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, ShareDisposition);
const CM_FLAGS: usize = offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, Flags);
const CM_U: usize = offset_of!(CM_PARTIAL_RESOURCE_DESCRIPTOR, u);
const CM_INT_LEVEL: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Level);
const CM_INT_GROUP: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Group);
const CM_INT_VECTOR: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Vector);
const CM_INT_AFFINITY: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_INTERRUPT, Affinity);
const CM_MEM_START: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_RANGE, Start);
const CM_MEM_LENGTH: usize = CM_U + offset_of!(CM_PARTIAL_RESOURCE_RANGE, Length);
/// `DeviceSpecificData.DataSize`: the bytes that follow such a descriptor.
const CM_SPECIFIC_SIZE: usize = CM_U;

fn bytes<const N: usize>(buf: &[u8], base: usize, offset: usize) -> Result<[u8; N], ResourceError> {
    let at = base.checked_add(offset).ok_or(ResourceError::Malformed)?;
    let end = at.checked_add(N).ok_or(ResourceError::Malformed)?;
    buf.get(at..end)
        .and_then(|slice| <[u8; N]>::try_from(slice).ok())
        .ok_or(ResourceError::Malformed)
}

fn get_u8(buf: &[u8], base: usize, offset: usize) -> Result<u8, ResourceError> {
    bytes(buf, base, offset).map(u8::from_le_bytes)
}

fn get_u16(buf: &[u8], base: usize, offset: usize) -> Result<u16, ResourceError> {
    bytes(buf, base, offset).map(u16::from_le_bytes)
}

fn get_u32(buf: &[u8], base: usize, offset: usize) -> Result<u32, ResourceError> {
    bytes(buf, base, offset).map(u32::from_le_bytes)
}

fn get_u64(buf: &[u8], base: usize, offset: usize) -> Result<u64, ResourceError> {
    bytes(buf, base, offset).map(u64::from_le_bytes)
}

fn put(buf: &mut [u8], base: usize, offset: usize, value: &[u8]) -> Result<(), ResourceError> {
    let at = base.checked_add(offset).ok_or(ResourceError::Malformed)?;
    let end = at
        .checked_add(value.len())
        .ok_or(ResourceError::Malformed)?;
    buf.get_mut(at..end)
        .ok_or(ResourceError::Malformed)?
        .copy_from_slice(value);
    Ok(())
}

fn set_u8(buf: &mut [u8], base: usize, offset: usize, value: u8) -> Result<(), ResourceError> {
    put(buf, base, offset, &[value])
}

fn set_u16(buf: &mut [u8], base: usize, offset: usize, value: u16) -> Result<(), ResourceError> {
    put(buf, base, offset, &value.to_le_bytes())
}

fn set_u32(buf: &mut [u8], base: usize, offset: usize, value: u32) -> Result<(), ResourceError> {
    put(buf, base, offset, &value.to_le_bytes())
}

fn set_u64(buf: &mut [u8], base: usize, offset: usize, value: u64) -> Result<(), ResourceError> {
    put(buf, base, offset, &value.to_le_bytes())
}

fn descriptor_at(first: usize, index: usize, size: usize) -> Result<usize, ResourceError> {
    index
        .checked_mul(size)
        .and_then(|offset| offset.checked_add(first))
        .ok_or(ResourceError::Malformed)
}

fn to_usize(value: u32) -> Result<usize, ResourceError> {
    usize::try_from(value).map_err(|_| ResourceError::Malformed)
}

/// `IRP_MN_FILTER_RESOURCE_REQUIREMENTS` for the active FDO.
///
/// `lower` is the requirements list the lower stack answered with, `processors` every active
/// processor in index order. Returns the new list: the existing interrupt descriptors (the PCI line) pinned to processor 0 of
/// group 0, then one required, exclusive, latched message interrupt per processor.
///
/// # Errors
/// [`ResourceError::NotOneAlternative`] or [`ResourceError::Malformed`] when the list is not one
/// well-formed alternative (the glue then completes with the lower answer unchanged);
/// [`ResourceError::TooLarge`] if the processors would not fit.
pub fn filter_requirements(
    lower: &[u8],
    processors: &[ProcessorNumber],
) -> Result<Vec<u8>, ResourceError> {
    let list_size = to_usize(get_u32(lower, 0, REQ_LIST_SIZE)?)?;
    if list_size > lower.len() || list_size < FIRST_IO_DESCRIPTOR {
        return Err(ResourceError::Malformed);
    }
    if get_u32(lower, 0, REQ_ALTERNATIVES)? != 1 {
        return Err(ResourceError::NotOneAlternative);
    }
    let lower = lower.get(..list_size).ok_or(ResourceError::Malformed)?;
    let count = to_usize(get_u32(lower, REQ_HEADER, IO_LIST_COUNT)?)?;
    let first = FIRST_IO_DESCRIPTOR;
    let used = descriptor_at(first, count, IO_DESC)?;
    if used > list_size {
        return Err(ResourceError::Malformed);
    }
    let added = count
        .checked_add(processors.len())
        .ok_or(ResourceError::TooLarge)?;
    let new_size = descriptor_at(first, added, IO_DESC)?;
    let new_size_u32 = u32::try_from(new_size).map_err(|_| ResourceError::TooLarge)?;
    let added_u32 = u32::try_from(added).map_err(|_| ResourceError::TooLarge)?;

    let mut list = Vec::new();
    list.try_reserve_exact(new_size)
        .map_err(|_| ResourceError::TooLarge)?;
    list.extend_from_slice(lower.get(..used).ok_or(ResourceError::Malformed)?);
    list.resize(new_size, 0);
    set_u32(&mut list, 0, REQ_LIST_SIZE, new_size_u32)?;
    set_u32(&mut list, REQ_HEADER, IO_LIST_COUNT, added_u32)?;

    for index in 0..count {
        let at = descriptor_at(first, index, IO_DESC)?;
        if get_u8(&list, at, IO_TYPE)? != k::CmResourceTypeInterrupt {
            continue;
        }
        let flags = get_u16(&list, at, IO_FLAGS)? | k::CM_RESOURCE_INTERRUPT_POLICY_INCLUDED;
        set_u16(&mut list, at, IO_FLAGS, flags)?;
        set_u16(&mut list, at, INT_AFFINITY, k::IrqPolicySpecifiedProcessors)?;
        set_u16(&mut list, at, INT_GROUP, 0)?;
        set_u64(&mut list, at, INT_TARGETS, 1)?;
    }
    for (index, processor) in processors.iter().enumerate() {
        let at = descriptor_at(first, count.saturating_add(index), IO_DESC)?;
        let target = 1_u64
            .checked_shl(u32::from(processor.number))
            .ok_or(ResourceError::NoProcessor)?;
        set_u8(&mut list, at, IO_TYPE, k::CmResourceTypeInterrupt)?;
        set_u8(&mut list, at, IO_SHARE, k::CmResourceShareDeviceExclusive)?;
        set_u16(
            &mut list,
            at,
            IO_FLAGS,
            k::CM_RESOURCE_INTERRUPT_LATCHED
                | k::CM_RESOURCE_INTERRUPT_MESSAGE
                | k::CM_RESOURCE_INTERRUPT_POLICY_INCLUDED,
        )?;
        set_u32(
            &mut list,
            at,
            INT_MIN,
            k::CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN,
        )?;
        set_u32(
            &mut list,
            at,
            INT_MAX,
            k::CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN,
        )?;
        set_u16(&mut list, at, INT_AFFINITY, k::IrqPolicySpecifiedProcessors)?;
        set_u32(
            &mut list,
            at,
            INT_PRIORITY,
            u32::try_from(k::IrqPriorityUndefined).unwrap_or(0),
        )?;
        set_u16(&mut list, at, INT_GROUP, processor.group)?;
        set_u64(&mut list, at, INT_TARGETS, target)?;
    }
    Ok(list)
}

/// A PDO's `IRP_MN_QUERY_RESOURCE_REQUIREMENTS`.
///
/// One alternative list on the internal bus with one page of memory and one level-triggered interrupt, both device-exclusive, which the
/// storage and network port drivers need before they start a miniport.
#[must_use]
pub fn pdo_requirements() -> Vec<u8> {
    let mut list = alloc::vec![0_u8; PDO_REQUIREMENTS_SIZE];
    // The buffer is sized for every write below, so none can fail; a failure would leave the
    // list zeroed, which the PnP manager reads as "no resources".
    let _ = write_pdo_requirements(&mut list);
    list
}

const FIRST_IO_DESCRIPTOR: usize = REQ_HEADER + IO_LIST_HEADER;
const SECOND_IO_DESCRIPTOR: usize = FIRST_IO_DESCRIPTOR + IO_DESC;
const PDO_REQUIREMENTS_SIZE: usize = SECOND_IO_DESCRIPTOR + IO_DESC;

fn write_pdo_requirements(list: &mut [u8]) -> Result<(), ResourceError> {
    let size = PDO_REQUIREMENTS_SIZE;
    let page = u32::try_from(k::PAGE_SIZE).map_err(|_| ResourceError::TooLarge)?;
    set_u32(
        list,
        0,
        REQ_LIST_SIZE,
        u32::try_from(size).map_err(|_| ResourceError::TooLarge)?,
    )?;
    set_u32(
        list,
        0,
        REQ_INTERFACE,
        u32::try_from(k::Internal).unwrap_or(0),
    )?;
    set_u32(list, 0, REQ_ALTERNATIVES, 1)?;
    set_u16(list, REQ_HEADER, IO_LIST_VERSION, 1)?;
    set_u16(list, REQ_HEADER, IO_LIST_REVISION, 1)?;
    set_u32(list, REQ_HEADER, IO_LIST_COUNT, 2)?;
    let memory = FIRST_IO_DESCRIPTOR;
    set_u8(list, memory, IO_TYPE, k::CmResourceTypeMemory)?;
    set_u8(list, memory, IO_SHARE, k::CmResourceShareDeviceExclusive)?;
    set_u16(
        list,
        memory,
        IO_FLAGS,
        k::CM_RESOURCE_MEMORY_READ_WRITE
            | k::CM_RESOURCE_MEMORY_PREFETCHABLE
            | k::CM_RESOURCE_MEMORY_CACHEABLE,
    )?;
    set_u32(list, memory, MEM_LENGTH, page)?;
    set_u32(list, memory, MEM_ALIGNMENT, page)?;
    set_u64(list, memory, MEM_MIN, 0)?;
    set_u64(list, memory, MEM_MAX, u64::MAX)?;
    let interrupt = SECOND_IO_DESCRIPTOR;
    set_u8(list, interrupt, IO_TYPE, k::CmResourceTypeInterrupt)?;
    set_u8(list, interrupt, IO_SHARE, k::CmResourceShareDeviceExclusive)?;
    set_u16(
        list,
        interrupt,
        IO_FLAGS,
        k::CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE,
    )?;
    set_u32(list, interrupt, INT_MIN, 0)?;
    set_u32(list, interrupt, INT_MAX, u32::MAX)?;
    set_u16(list, interrupt, INT_AFFINITY, k::IrqPolicyOneCloseProcessor)?;
    set_u32(
        list,
        interrupt,
        INT_PRIORITY,
        u32::try_from(k::IrqPriorityUndefined).unwrap_or(0),
    )?;
    set_u16(list, interrupt, INT_GROUP, k::ALL_PROCESSOR_GROUPS)?;
    Ok(())
}

/// Where each partial descriptor of a `CM_RESOURCE_LIST` starts, every count checked.
fn cm_descriptors(list: &[u8]) -> Result<Vec<usize>, ResourceError> {
    let full_count = get_u32(list, 0, CM_LIST_COUNT)?;
    let mut at = CM_LIST_HEADER;
    let mut found = Vec::new();
    for _ in 0..full_count {
        let count = get_u32(list, at, CM_FULL_COUNT)?;
        at = at
            .checked_add(CM_FULL_HEADER)
            .ok_or(ResourceError::Malformed)?;
        for _ in 0..count {
            let end = at.checked_add(CM_DESC).ok_or(ResourceError::Malformed)?;
            if end > list.len() {
                return Err(ResourceError::Malformed);
            }
            let descriptor = at;
            found.push(descriptor);
            let kind = get_u8(list, descriptor, CM_TYPE)?;
            at = end;
            if kind == k::CmResourceTypeDeviceSpecific {
                let extra = to_usize(get_u32(list, descriptor, CM_SPECIFIC_SIZE)?)?;
                at = at.checked_add(extra).ok_or(ResourceError::Malformed)?;
                if at > list.len() {
                    return Err(ResourceError::Malformed);
                }
            }
        }
    }
    Ok(found)
}

/// `IRP_MN_START_DEVICE` on its way down: hides the message interrupts from the bus driver.
///
/// Retypes every message interrupt of `list` (the raw or
/// translated `CM_RESOURCE_LIST` in the IRP, after the FDO copied it) to
/// `CmResourceTypeDevicePrivate`, so the PCI driver below ignores the per-processor vectors it
/// never asked for. Returns how many were retyped.
///
/// # Errors
/// [`ResourceError::Malformed`] if the list does not add up (nothing is changed then).
pub fn hide_message_interrupts(list: &mut [u8]) -> Result<usize, ResourceError> {
    let descriptors = cm_descriptors(list)?;
    let mut hidden = 0_usize;
    for at in descriptors {
        let is_message = get_u8(list, at, CM_TYPE)? == k::CmResourceTypeInterrupt
            && get_u16(list, at, CM_FLAGS)? & k::CM_RESOURCE_INTERRUPT_MESSAGE != 0;
        if is_message {
            set_u8(list, at, CM_TYPE, k::CmResourceTypeDevicePrivate)?;
            hidden = hidden.saturating_add(1);
        }
    }
    Ok(hidden)
}

/// How to connect one interrupt the FDO was given (`IoConnectInterruptEx`, fully specified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptConnection {
    /// A message-signalled interrupt (one of the per-processor upcall vectors).
    pub message: bool,
    /// `Latched` rather than `LevelSensitive`.
    pub latched: bool,
    /// The vector may be shared.
    pub shared: bool,
    /// The translated vector.
    pub vector: u32,
    /// The translated level (the IRQL and synchronize IRQL).
    pub level: u16,
    /// The processor group (`CONNECT_FULLY_SPECIFIED_GROUP` when not 0).
    pub group: u16,
    /// The processor enable mask.
    pub affinity: u64,
    /// The processor the interrupt is delivered to: the highest set bit of the mask.
    pub processor: u8,
    /// The raw vector (the GSI) of a line interrupt; `None` for a message.
    pub line: Option<u32>,
}

/// The resources the FDO uses from its START lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartResources {
    /// Every interrupt, in list order.
    pub interrupts: Vec<InterruptConnection>,
    /// The first memory range of the translated list (the platform device's BAR), start and
    /// length.
    pub memory: Option<(u64, u32)>,
}

/// Reads the raw and translated `CM_RESOURCE_LIST`s of `IRP_MN_START_DEVICE` (before any
/// retyping) into the interrupts to connect and the BAR.
///
/// # Errors
/// [`ResourceError::Malformed`] for a list that does not add up, [`ResourceError::Mismatch`]
/// when the two lists differ in length or kind, [`ResourceError::NoProcessor`] for an interrupt
/// with an empty processor mask.
pub fn start_resources(raw: &[u8], translated: &[u8]) -> Result<StartResources, ResourceError> {
    let raw_at = cm_descriptors(raw)?;
    let translated_at = cm_descriptors(translated)?;
    if raw_at.len() != translated_at.len() {
        return Err(ResourceError::Mismatch);
    }
    let mut found = StartResources::default();
    for (raw_at, at) in raw_at.into_iter().zip(translated_at) {
        let kind = get_u8(translated, at, CM_TYPE)?;
        match kind {
            k::CmResourceTypeInterrupt => {
                if get_u8(raw, raw_at, CM_TYPE)? != k::CmResourceTypeInterrupt {
                    return Err(ResourceError::Mismatch);
                }
                let flags = get_u16(translated, at, CM_FLAGS)?;
                let message = flags & k::CM_RESOURCE_INTERRUPT_MESSAGE != 0;
                let affinity = get_u64(translated, at, CM_INT_AFFINITY)?;
                let processor = 63_u32
                    .checked_sub(affinity.leading_zeros())
                    .and_then(|bit| u8::try_from(bit).ok())
                    .filter(|_| affinity != 0)
                    .ok_or(ResourceError::NoProcessor)?;
                found.interrupts.push(InterruptConnection {
                    message,
                    latched: flags & k::CM_RESOURCE_INTERRUPT_LATCHED != 0,
                    shared: get_u8(translated, at, CM_SHARE)? == k::CmResourceShareShared,
                    vector: get_u32(translated, at, CM_INT_VECTOR)?,
                    level: get_u16(translated, at, CM_INT_LEVEL)?,
                    group: get_u16(translated, at, CM_INT_GROUP)?,
                    affinity,
                    processor,
                    line: if message {
                        None
                    } else {
                        Some(get_u32(raw, raw_at, CM_INT_VECTOR)?)
                    },
                });
            }
            k::CmResourceTypeMemory if found.memory.is_none() => {
                found.memory = Some((
                    get_u64(translated, at, CM_MEM_START)?,
                    get_u32(translated, at, CM_MEM_LENGTH)?,
                ));
            }
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
