// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Callback objects: `ExCreateCallback`, `ExRegisterCallback`, `ExUnregisterCallback` (upstream's
//! C xen.sys registers for `\Callback\PowerState` in `SystemInitialize`, upstream's `system.c`).
//!
//! The kernel creates `\Callback\PowerState`, `\Callback\ProcessorAdd` and
//! `\Callback\SetSystemTime` at boot; `ExCreateCallback` opens one of them (or, with `Create`,
//! a new named object) and returns it referenced: the caller drops the reference with
//! `ObDereferenceObject` ([`adjust`], which `ObfDereferenceObject` asks through
//! [`super::ob::adjust`]). `ExRegisterCallback` adds a routine to an object and returns its
//! registration handle; `ExUnregisterCallback` removes it. The stand-in never notifies
//! (its machine's power state and time do not change while a driver listens).
//!
//! Checked: the IRQL (`PASSIVE_LEVEL` for `ExCreateCallback`, at most `DISPATCH_LEVEL` for the
//! other two), object attributes without a name, an object that is not a callback object, a
//! routine outside every loaded image's code, a second registration on an object that does
//! not allow multiple callbacks, a handle no registration gave out (or removed already), more
//! dereferences than references (the kernel holds one on its own objects for ever), and (at
//! unload, [`registered_in`]) registrations still pointing into the image.

use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use ntddk::UNICODE_STRING;
use ntstatus::{NtStatus, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS};

/// Where the stand-in's callback objects seem to live: opaque addresses, one per object.
const OBJECTS: usize = 0xffff_f80d_0000_0000;
/// Where registration handles seem to live.
const HANDLES: usize = 0xffff_f80d_8000_0000;
/// The objects the kernel creates at boot.
const KERNEL_OBJECTS: [&str; 3] = [
    "\\Callback\\PowerState",
    "\\Callback\\ProcessorAdd",
    "\\Callback\\SetSystemTime",
];

struct Object {
    name: String,
    address: usize,
    references: i64,
    multiple: bool,
}

struct Registration {
    handle: usize,
    object: usize,
    routine: usize,
}

struct Callbacks {
    objects: Vec<Object>,
    registrations: Vec<Registration>,
    issued: usize,
}

static CALLBACKS: spin::Mutex<Callbacks> = spin::Mutex::new(Callbacks {
    objects: Vec::new(),
    registrations: Vec::new(),
    issued: 0,
});

/// The kernel's own objects, created on first use (one reference each, the kernel's).
fn boot_objects(c: &mut Callbacks) {
    if c.objects.is_empty() {
        for (i, name) in KERNEL_OBJECTS.iter().enumerate() {
            c.objects.push(Object {
                name: String::from(*name),
                address: OBJECTS + i * 0x100,
                references: 1,
                multiple: true,
            });
        }
    }
}

/// `NTSTATUS ExCreateCallback(PCALLBACK_OBJECT *CallbackObject, POBJECT_ATTRIBUTES
/// ObjectAttributes, BOOLEAN Create, BOOLEAN AllowMultipleCallbacks)`. PASSIVE_LEVEL.
///
/// # Safety
/// The routine's contract: `object` writable, `attributes` a valid `OBJECT_ATTRIBUTES`.
pub unsafe extern "win64" fn ex_create_callback(
    object: *mut *mut c_void,
    attributes: *const ntddk::OBJECT_ATTRIBUTES,
    create: u8,
    multiple: u8,
) -> NtStatus {
    let call = verifier::enter("ExCreateCallback");
    call.at_most(PASSIVE_LEVEL);
    call.require(!object.is_null(), format_args!("CallbackObject is NULL"));
    call.require(
        !attributes.is_null(),
        format_args!("ObjectAttributes is NULL"),
    );
    // SAFETY: checked not NULL; a valid OBJECT_ATTRIBUTES by the contract.
    let a = unsafe { attributes.read_unaligned() };
    let name_at: *const UNICODE_STRING = a.ObjectName;
    call.require(
        !name_at.is_null(),
        format_args!(
            "ObjectAttributes names no object (unnamed callback objects are not modelled)"
        ),
    );
    // SAFETY: checked not NULL; a valid UNICODE_STRING by the contract.
    let n = unsafe { name_at.read_unaligned() };
    let units = if n.Length == 0 || n.Buffer.is_null() {
        &[][..]
    } else {
        // SAFETY: `Length` readable bytes at `Buffer` (the contract).
        unsafe { core::slice::from_raw_parts(n.Buffer.cast_const(), usize::from(n.Length / 2)) }
    };
    let name = String::from_utf16_lossy(units);
    let mut c = CALLBACKS.lock();
    boot_objects(&mut c);
    let found = c
        .objects
        .iter()
        .position(|o| o.name.eq_ignore_ascii_case(&name));
    let at = match found {
        Some(at) => at,
        None if create != 0 => {
            let address = OBJECTS + c.objects.len() * 0x100;
            c.objects.push(Object {
                name,
                address,
                references: 0,
                multiple: multiple != 0,
            });
            c.objects.len() - 1
        }
        None => return STATUS_OBJECT_NAME_NOT_FOUND,
    };
    let Some(o) = c.objects.get_mut(at) else {
        return STATUS_OBJECT_NAME_NOT_FOUND;
    };
    o.references += 1;
    let address = o.address;
    drop(c);
    // SAFETY: checked not NULL; writable by the contract.
    unsafe { object.write_unaligned(core::ptr::with_exposed_provenance_mut(address)) };
    STATUS_SUCCESS
}

/// `PVOID ExRegisterCallback(PCALLBACK_OBJECT CallbackObject, PCALLBACK_FUNCTION
/// CallbackFunction, PVOID CallbackContext)`: the registration's handle. <= DISPATCH_LEVEL.
pub extern "win64" fn ex_register_callback(
    object: *mut c_void,
    routine: usize,
    _context: *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("ExRegisterCallback");
    call.at_most(DISPATCH_LEVEL);
    let code = u64::try_from(routine).unwrap_or(0);
    call.require(
        loader::is_loaded_code(code),
        format_args!(
            "CallbackFunction {} is not in a loaded image's code",
            Where(code)
        ),
    );
    let mut c = CALLBACKS.lock();
    let Some(o) = c.objects.iter().find(|o| o.address == object.addr()) else {
        drop(c);
        call.fail(format_args!(
            "CallbackObject {:#x} is not a callback object ExCreateCallback returned",
            object.addr()
        ));
    };
    let (multiple, address) = (o.multiple, o.address);
    let taken = c.registrations.iter().any(|r| r.object == address);
    if taken && !multiple {
        drop(c);
        call.fail(format_args!(
            "CallbackObject {address:#x} does not allow multiple callbacks and has one"
        ));
    }
    c.issued += 1;
    let handle = HANDLES + c.issued * 16;
    c.registrations.push(Registration {
        handle,
        object: address,
        routine,
    });
    core::ptr::with_exposed_provenance_mut(handle)
}

/// `VOID ExUnregisterCallback(PVOID CallbackRegistration)`. <= DISPATCH_LEVEL.
pub extern "win64" fn ex_unregister_callback(registration: *mut c_void) {
    let call = verifier::enter("ExUnregisterCallback");
    call.at_most(DISPATCH_LEVEL);
    let mut c = CALLBACKS.lock();
    let Some(at) = c
        .registrations
        .iter()
        .position(|r| r.handle == registration.addr())
    else {
        drop(c);
        call.fail(format_args!(
            "CallbackRegistration {:#x} is not a registration ExRegisterCallback returned (or it \
             was removed already)",
            registration.addr()
        ));
    };
    c.registrations.remove(at);
}

/// Adjusts callback object `address`'s references by `delta`: the new count, or `None` when
/// it is not a callback object (for [`super::ob::adjust`]).
pub fn adjust(call: &verifier::Call, address: usize, delta: i64) -> Option<i64> {
    let mut c = CALLBACKS.lock();
    let o = c.objects.iter_mut().find(|o| o.address == address)?;
    o.references = o.references.saturating_add(delta);
    let (count, kernel) = (o.references, KERNEL_OBJECTS.contains(&o.name.as_str()));
    drop(c);
    call.require(
        count >= i64::from(kernel),
        format_args!("more dereferences than references on the callback object {address:#x}"),
    );
    Some(count)
}

/// How many callback registrations point into image `index` (none may be left at unload).
pub fn registered_in(index: usize) -> usize {
    CALLBACKS
        .lock()
        .registrations
        .iter()
        .filter(|r| loader::containing(r.routine as u64) == Some(index))
        .count()
}
