// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's rules broken on purpose (`xtk.mode=nt-rule=NAME`): after xen.sys loaded, the
//! stand-in calls its own routine entries the way a faulty driver would, and the run must end
//! with the verifier's failure naming the routine and the rule. scripts/nt-xen-test boots once
//! per rule and checks the message, so a rule the routines stopped enforcing shows as missed.
//!
//! Each [`RULES`] entry is the rule's name on the command line, the routine expected in the
//! message and a fragment of the rule's text.

use super::drv;
use crate::harness::check;
use crate::nt::routines;
use crate::nt::verifier::{self, DISPATCH_LEVEL, PASSIVE_LEVEL};
use core::ffi::c_void;

/// Rule name, the routine that must report it, a fragment of its message.
pub const RULES: &[(&str, &str, &str)] = &[
    ("double-free", "ExFreePoolWithTag", "freed twice"),
    ("tag-mismatch", "ExFreePoolWithTag", "does not match"),
    ("overrun", "ExFreePoolWithTag", "was overrun"),
    ("zero-tag", "ExAllocatePoolWithTag", "zero pool tag"),
    ("registry-irql", "ZwOpenKey", "above the documented maximum"),
    ("bad-handle", "ZwClose", "not an open handle"),
    ("unicode-at-dispatch", "DbgPrintEx", "only at PASSIVE_LEVEL"),
    ("dpc-uninitialised", "KeInsertQueueDpc", "not initialised"),
    ("memcpy-overlap", "memcpy", "overlap"),
    ("kernel-handle", "ZwOpenKey", "OBJ_KERNEL_HANDLE"),
];

/// The address of the stand-in's routine `name`, as a driver's import slot would hold it.
fn entry(name: &str) -> usize {
    routines::lookup(name)
        .and_then(|r| usize::try_from(r.address).ok())
        .unwrap_or(0)
}

type Allocate = unsafe extern "win64" fn(u32, usize, u32) -> *mut c_void;
type Free = unsafe extern "win64" fn(*mut c_void, u32);

fn allocate(tag: u32) -> *mut u8 {
    // SAFETY: the stand-in's ExAllocatePoolWithTag entry, in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Allocate>(entry("ExAllocatePoolWithTag")) };
    // SAFETY: a valid request: NonPagedPoolNx, 16 bytes.
    drv(|| unsafe { f(512, 16, tag) }).cast()
}

fn free(p: *mut u8, tag: u32) {
    // SAFETY: the stand-in's ExFreePoolWithTag entry.
    let f = unsafe { core::mem::transmute::<usize, Free>(entry("ExFreePoolWithTag")) };
    // SAFETY: what the rule under test passes (the routine checks it).
    drv(|| unsafe { f(p.cast(), tag) });
}

/// Breaks rule `name`. Returns only if the routines let it pass (a failed check).
pub fn break_rule(name: &str) {
    let tag = u32::from_le_bytes(*b"Rule");
    match name {
        "double-free" => {
            let p = allocate(tag);
            free(p, tag);
            free(p, tag);
        }
        "tag-mismatch" => free(allocate(tag), u32::from_le_bytes(*b"Othr")),
        "overrun" => {
            let p = allocate(tag);
            // SAFETY: deliberately one byte past the 16-byte block, into the guard bytes the
            // pool keeps after it (inside the same allocation).
            unsafe { p.wrapping_add(16).write_volatile(0) };
            free(p, tag);
        }
        "zero-tag" => {
            let _ = allocate(0);
        }
        "registry-irql" => registry_at_dispatch(),
        "bad-handle" => {
            // SAFETY: the stand-in's ZwClose entry.
            let f = unsafe {
                core::mem::transmute::<usize, unsafe extern "win64" fn(usize) -> i32>(entry(
                    "ZwClose",
                ))
            };
            // SAFETY: a handle value that was never opened (the routine checks it).
            let _ = drv(|| unsafe { f(0xffff_ffff_8000_fff0) });
        }
        "unicode-at-dispatch" => {
            // SAFETY: the stand-in's DbgPrintEx entry, C-variadic.
            let f = unsafe {
                core::mem::transmute::<
                    usize,
                    unsafe extern "win64" fn(u32, u32, *const u8, ...) -> u32,
                >(entry("DbgPrintEx"))
            };
            let wide: [u16; 3] = [u16::from(b'h'), u16::from(b'i'), 0];
            verifier::set_irql(DISPATCH_LEVEL);
            // SAFETY: `%ws` with a NUL-terminated wide string: well-formed, but not allowed at
            // DISPATCH_LEVEL (the routine checks it).
            let _ = unsafe { f(77, 0, c"%ws\n".as_ptr().cast(), wide.as_ptr()) };
            verifier::set_irql(PASSIVE_LEVEL);
        }
        "dpc-uninitialised" => {
            let kdpc = [0u64; 8];
            // SAFETY: the stand-in's KeInsertQueueDpc entry.
            let f = unsafe {
                core::mem::transmute::<
                    usize,
                    unsafe extern "win64" fn(*const c_void, usize, usize) -> u8,
                >(entry("KeInsertQueueDpc"))
            };
            // SAFETY: a zeroed KDPC that KeInitializeDpc never saw (the routine checks it).
            let _ = drv(|| unsafe { f(kdpc.as_ptr().cast(), 0, 0) });
        }
        "memcpy-overlap" => {
            let mut buffer = [0u8; 32];
            let p = buffer.as_mut_ptr();
            // SAFETY: the stand-in's memcpy entry.
            let f = unsafe {
                core::mem::transmute::<
                    usize,
                    unsafe extern "win64" fn(*mut u8, *const u8, usize) -> *mut u8,
                >(entry("memcpy"))
            };
            // SAFETY: both ranges lie in `buffer`; they overlap (the routine checks it).
            let _ = drv(|| unsafe { f(p.wrapping_add(4), p, 16) });
        }
        "kernel-handle" => open_without_kernel_handle(),
        _ => {}
    }
    check(
        "nt.rule.enforced",
        false,
        format_args!("breaking rule {name:?} did not stop the run"),
    );
}

/// `ZwOpenKey` of the service key with these attributes and the IRQL given.
fn open_service_key(attributes: u32, irql: u8) {
    let mut path: alloc::vec::Vec<u16> = crate::nt::SERVICE_KEY.encode_utf16().collect();
    let mut name = crate::nt::unicode_string(&mut path);
    let mut oa = ntddk::OBJECT_ATTRIBUTES {
        Length: u32::try_from(size_of::<ntddk::OBJECT_ATTRIBUTES>()).unwrap_or(0),
        RootDirectory: core::ptr::null_mut(),
        ObjectName: &raw mut name,
        Attributes: attributes,
        SecurityDescriptor: core::ptr::null_mut(),
        SecurityQualityOfService: core::ptr::null_mut(),
    };
    // SAFETY: the stand-in's ZwOpenKey entry.
    let f = unsafe {
        core::mem::transmute::<
            usize,
            unsafe extern "win64" fn(*mut *mut c_void, u32, *mut ntddk::OBJECT_ATTRIBUTES) -> i32,
        >(entry("ZwOpenKey"))
    };
    let mut handle = core::ptr::null_mut();
    verifier::set_irql(irql);
    // SAFETY: valid arguments; the IRQL or the attributes break the rule under test.
    let _ = unsafe { f(&raw mut handle, 0x2_0019, &raw mut oa) };
    verifier::set_irql(PASSIVE_LEVEL);
}

fn registry_at_dispatch() {
    open_service_key(0x240, DISPATCH_LEVEL);
}

fn open_without_kernel_handle() {
    open_service_key(0x40, PASSIVE_LEVEL);
}
