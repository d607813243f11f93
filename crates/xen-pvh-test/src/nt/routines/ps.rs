// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Process and image notifications: `PsSetCreateProcessNotifyRoutine`,
//! `PsSetLoadImageNotifyRoutine`, `PsRemoveLoadImageNotifyRoutine`.
//!
//! The stand-in has no processes and loads no images after the driver, so registered routines
//! are recorded and never called. Checked: `PASSIVE_LEVEL`, a routine outside a loaded image's
//! code, a second registration of the same routine, the removal of one never registered
//! (`STATUS_PROCEDURE_NOT_FOUND`, as Windows), at most 64 of each kind (Windows' limit), and
//! (at unload, [`routines_in`]) routines still registered into the image.

use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, PASSIVE_LEVEL};
use alloc::vec::Vec;
use ntstatus::{NtStatus, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_SUCCESS};

/// `STATUS_PROCEDURE_NOT_FOUND`.
const STATUS_PROCEDURE_NOT_FOUND: NtStatus = NtStatus::from_ne_bytes(0xC000_007Au32.to_ne_bytes());
/// Windows' limit of each kind of notify routine.
const LIMIT: usize = 64;

/// Registered process and image notify routines.
static PROCESS: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());
static IMAGE: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());

fn add(call: &verifier::Call, list: &spin::Mutex<Vec<usize>>, routine: usize) -> NtStatus {
    call.at_most(PASSIVE_LEVEL);
    let at = u64::try_from(routine).unwrap_or(0);
    call.require(
        loader::is_loaded_code(at),
        format_args!(
            "NotifyRoutine {} is not in a loaded image's code",
            Where(at)
        ),
    );
    let mut list = list.lock();
    if list.contains(&routine) {
        return STATUS_INVALID_PARAMETER;
    }
    if list.len() >= LIMIT {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    list.push(routine);
    STATUS_SUCCESS
}

fn remove(call: &verifier::Call, list: &spin::Mutex<Vec<usize>>, routine: usize) -> NtStatus {
    call.at_most(PASSIVE_LEVEL);
    let mut list = list.lock();
    let Some(index) = list.iter().position(|&r| r == routine) else {
        return STATUS_PROCEDURE_NOT_FOUND;
    };
    list.remove(index);
    STATUS_SUCCESS
}

/// `NTSTATUS PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine,
/// BOOLEAN Remove)`.
pub extern "win64" fn ps_set_create_process_notify_routine(
    routine: usize,
    remove_it: u8,
) -> NtStatus {
    let call = verifier::enter("PsSetCreateProcessNotifyRoutine");
    if remove_it != 0 {
        remove(&call, &PROCESS, routine)
    } else {
        add(&call, &PROCESS, routine)
    }
}

/// `NTSTATUS PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)`.
pub extern "win64" fn ps_set_load_image_notify_routine(routine: usize) -> NtStatus {
    let call = verifier::enter("PsSetLoadImageNotifyRoutine");
    add(&call, &IMAGE, routine)
}

/// `NTSTATUS PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)`.
pub extern "win64" fn ps_remove_load_image_notify_routine(routine: usize) -> NtStatus {
    let call = verifier::enter("PsRemoveLoadImageNotifyRoutine");
    remove(&call, &IMAGE, routine)
}

/// The notify routines of both kinds still registered that lie in image `index`.
pub fn routines_in(index: usize) -> Vec<usize> {
    PROCESS
        .lock()
        .iter()
        .chain(IMAGE.lock().iter())
        .copied()
        .filter(|&r| loader::containing(r as u64) == Some(index))
        .collect()
}
