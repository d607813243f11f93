// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Object references on I/O objects, for `ObfReferenceObject` and `ObfDereferenceObject`
//! (whose entries are the scheduler's, [`super::thread`], which count thread objects and ask
//! here first through [`adjust`]).
//!
//! The stand-in has no object manager; each kind of object that can be referenced keeps its
//! own count: device objects ([`super::io::reference_device`]: a deleted device is freed with
//! its last reference, and more dereferences than references is a broken rule) and driver
//! objects (counted, never freed) and callback objects ([`super::callback::adjust`]).

use crate::nt::verifier::Call;
use alloc::vec::Vec;
use core::ffi::c_void;

/// Driver objects' reference counts (they are never freed).
static DRIVER_REFERENCES: spin::Mutex<Vec<(usize, i64)>> = spin::Mutex::new(Vec::new());

fn driver(call: &Call, address: usize, delta: i64) -> Option<i64> {
    super::io::driver(address)?;
    let mut counts = DRIVER_REFERENCES.lock();
    if !counts.iter().any(|&(a, _)| a == address) {
        counts.push((address, 1));
    }
    let at = counts.iter().position(|&(a, _)| a == address)?;
    let slot = counts.get_mut(at)?;
    slot.1 = slot.1.saturating_add(delta);
    let count = slot.1;
    drop(counts);
    call.require(
        count >= 1,
        format_args!("more dereferences than references on the driver object {address:#x}"),
    );
    Some(count)
}

/// Adjusts `object`'s count by `delta` if it is a device or driver object: the new count, or
/// `None` for an address that is neither (`ObfReferenceObject` and
/// `ObfDereferenceObject`, in [`super::thread`], ask here before their thread objects).
pub fn adjust(call: &Call, object: *mut c_void, delta: i64) -> Option<isize> {
    let address = object.addr();
    let count = super::io::reference_device(call, address, delta)
        .or_else(|| driver(call, address, delta))
        .or_else(|| super::callback::adjust(call, address, delta))?;
    Some(isize::try_from(count).unwrap_or(isize::MAX))
}
