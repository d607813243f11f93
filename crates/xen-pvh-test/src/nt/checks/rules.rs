// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's rules broken on purpose (`xtk.mode=nt-rule=NAME`): after xen.sys loaded, the
//! stand-in calls its own routine entries the way a faulty driver would, and the run must end
//! with the verifier's failure naming the routine and the rule. scripts/nt-xen-test boots once
//! per rule and checks the message, so a rule the routines stopped enforcing shows as missed.
//!
//! Each [`RULES`] entry is the rule's name on the command line, the routine expected in the
//! message and a fragment of the rule's text. The scheduler's rules include a wait with a
//! timeout at `DISPATCH_LEVEL`, `KeSetEvent(Wait = TRUE)` followed by something other than a
//! wait, a pool block freed with a timer still queued in it, a thread object dereferenced once
//! more than referenced, contiguous memory freed twice, a thread created at `DISPATCH_LEVEL`, and
//! a wait nothing can ever end (the deadlock report); the I/O manager's include a remove lock
//! released with a `Tag` that never acquired it; the notify routines', a routine registered
//! twice and the removal of one never registered; the DMA adapter's, a second
//! `PutDmaAdapter`, a put of what is not an adapter, `AllocateAdapterChannel` at
//! `PASSIVE_LEVEL`, `FreeCommonBuffer` of memory the adapter never gave; and `IoFreeMdl` twice.

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
    (
        "notify-registered-twice",
        "PsSetLoadImageNotifyRoutine",
        "registered twice",
    ),
    (
        "notify-never-registered",
        "PsSetCreateProcessNotifyRoutine",
        "never registered",
    ),
    (
        "wait-at-dispatch",
        "KeWaitForSingleObject",
        "nonzero timeout",
    ),
    ("set-event-wait", "KeSetEvent", "was not followed by"),
    ("timer-freed-queued", "ExFreePoolWithTag", "still queued"),
    (
        "dereference-twice",
        "ObfDereferenceObject",
        "dereferenced twice",
    ),
    (
        "contiguous-double-free",
        "MmFreeContiguousMemory",
        "freed twice",
    ),
    (
        "thread-at-dispatch",
        "PsCreateSystemThread",
        "above the documented maximum",
    ),
    ("deadlock", "KeWaitForSingleObject", "deadlock"),
    // The I/O manager's (broken by `super::iodrv::break_rule`).
    (
        "irp-double-complete",
        "IofCompleteRequest",
        "completed twice",
    ),
    (
        "irp-complete-pending",
        "IofCompleteRequest",
        "with STATUS_PENDING",
    ),
    ("irp-cancel-routine", "IofCompleteRequest", "cancel routine"),
    (
        "irp-next-location",
        "IofCallDriver",
        "did not set up the next stack location",
    ),
    ("device-delete-attached", "IoDeleteDevice", "still attached"),
    ("workitem-free-queued", "IoFreeWorkItem", "still queued"),
    (
        "remove-lock-unacquired-tag",
        "IoReleaseRemoveLockEx",
        "holds no acquisition",
    ),
    // The DMA adapter's (`crate::nt::dma`) and the MDLs'.
    (
        "dma-put-twice",
        "DMA_OPERATIONS.PutDmaAdapter",
        "put already",
    ),
    (
        "dma-not-adapter",
        "DMA_OPERATIONS.PutDmaAdapter",
        "is not an adapter",
    ),
    (
        "dma-channel-passive",
        "DMA_OPERATIONS.AllocateAdapterChannel",
        "must be called at DISPATCH_LEVEL",
    ),
    (
        "dma-common-unallocated",
        "DMA_OPERATIONS.FreeCommonBuffer",
        "is not a common buffer",
    ),
    ("mdl-double-free", "IoFreeMdl", "freed twice"),
    (
        "unwind-off-stack",
        "RtlVirtualUnwind",
        "outside the running thread's stack",
    ),
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
        "notify-registered-twice" | "notify-never-registered" => notify_rule(name),
        other => scheduler_rule(other, tag),
    }
    check(
        "nt.rule.enforced",
        false,
        format_args!("breaking rule {name:?} did not stop the run"),
    );
}

/// Breaks a notify routine's rule, with xen.sys's entry point as the routine (code of a loaded
/// image): registered twice as a load-image notify routine, or removed as a process notify
/// routine without having been registered.
fn notify_rule(name: &str) {
    let routine = crate::nt::loader::loaded_images()
        .iter()
        .find(|i| i.name == "xen.sys")
        .map_or(0, |i| usize::try_from(i.entry).unwrap_or(0));
    if name == "notify-registered-twice" {
        // SAFETY: the stand-in's PsSetLoadImageNotifyRoutine entry.
        let f = unsafe {
            core::mem::transmute::<usize, unsafe extern "win64" fn(usize) -> i32>(entry(
                "PsSetLoadImageNotifyRoutine",
            ))
        };
        for _ in 0..2 {
            // SAFETY: a routine in a loaded image's code, never called (the second
            // registration ends the run).
            let _ = drv(|| unsafe { f(routine) });
        }
    } else {
        // SAFETY: the stand-in's PsSetCreateProcessNotifyRoutine entry.
        let f = unsafe {
            core::mem::transmute::<usize, unsafe extern "win64" fn(usize, u8) -> i32>(entry(
                "PsSetCreateProcessNotifyRoutine",
            ))
        };
        // SAFETY: a removal (Remove = TRUE) of a routine never registered (the routine checks
        // it).
        let _ = drv(|| unsafe { f(routine, 1) });
    }
}

/// Breaks one of the scheduler's and physical memory's rules (`wait-at-dispatch` and after).
fn scheduler_rule(name: &str, tag: u32) {
    match name {
        "wait-at-dispatch" => {
            let e = event();
            let timeout = -10_000i64;
            verifier::set_irql(DISPATCH_LEVEL);
            // SAFETY: an initialised event and a readable timeout; a 1 ms wait at
            // DISPATCH_LEVEL (the routine checks it).
            let _ = unsafe { wait_single()(e, 0, 0, 0, &raw const timeout) };
            verifier::set_irql(PASSIVE_LEVEL);
        }
        "set-event-wait" => {
            let e = event();
            let set: unsafe extern "win64" fn(*mut c_void, i32, u8) -> i32 = routine("KeSetEvent");
            let clear: unsafe extern "win64" fn(*mut c_void) = routine("KeClearEvent");
            // SAFETY: an initialised event; Wait = TRUE promises a wait next...
            let _ = unsafe { set(e, 0, 1) };
            // SAFETY: ...which this call breaks (the kernel checks it).
            unsafe { clear(e) };
        }
        "timer-freed-queued" => {
            let p = allocate_bytes(tag, 64);
            let init: unsafe extern "win64" fn(*mut c_void) = routine("KeInitializeTimer");
            let set: unsafe extern "win64" fn(*mut c_void, i64, *mut c_void) -> u8 =
                routine("KeSetTimer");
            // SAFETY: a KTIMER's room in a live pool block.
            unsafe { init(p.cast()) };
            // SAFETY: an initialised timer, armed for 10 s, no DPC.
            let _ = unsafe { set(p.cast(), -100_000_000, core::ptr::null_mut()) };
            free(p, tag);
        }
        "dereference-twice" => {
            let me: unsafe extern "win64" fn() -> *mut c_void = routine("KeGetCurrentThread");
            let reference: unsafe extern "win64" fn(*mut c_void) -> isize =
                routine("ObfReferenceObject");
            let dereference: unsafe extern "win64" fn(*mut c_void) -> isize =
                routine("ObfDereferenceObject");
            // SAFETY: no arguments.
            let thread = unsafe { me() };
            // SAFETY: one reference on the running thread's object...
            let _ = unsafe { reference(thread) };
            // SAFETY: ...released once...
            let _ = unsafe { dereference(thread) };
            // SAFETY: ...and once more (the kernel checks it).
            let _ = unsafe { dereference(thread) };
        }
        "contiguous-double-free" => {
            let allocate: unsafe extern "win64" fn(usize, i64) -> *mut c_void =
                routine("MmAllocateContiguousMemory");
            let free: unsafe extern "win64" fn(*mut c_void) = routine("MmFreeContiguousMemory");
            // SAFETY: one page, any address.
            let p = unsafe { allocate(4096, i64::MAX) };
            // SAFETY: the block, freed once...
            unsafe { free(p) };
            // SAFETY: ...and twice (the kernel checks it).
            unsafe { free(p) };
        }
        "thread-at-dispatch" => {
            let create: unsafe extern "win64" fn(
                *mut *mut c_void,
                u32,
                *mut c_void,
                *mut c_void,
                *mut c_void,
                usize,
                *mut c_void,
            ) -> i32 = routine("PsCreateSystemThread");
            let mut handle = core::ptr::null_mut();
            verifier::set_irql(DISPATCH_LEVEL);
            // SAFETY: a writable handle; at DISPATCH_LEVEL (the routine checks it first).
            let _ = unsafe {
                create(
                    &raw mut handle,
                    0,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    0,
                    core::ptr::null_mut(),
                )
            };
            verifier::set_irql(PASSIVE_LEVEL);
        }
        "deadlock" => {
            let e = event();
            // SAFETY: an initialised event nobody will set, waited on forever by the only
            // thread (the kernel must report the deadlock).
            let _ = drv(|| unsafe { wait_single()(e, 0, 0, 0, core::ptr::null()) });
        }
        "irp-double-complete"
        | "irp-complete-pending"
        | "irp-cancel-routine"
        | "irp-next-location"
        | "device-delete-attached"
        | "workitem-free-queued" => super::iodrv::break_rule(name),
        "remove-lock-unacquired-tag" => remove_lock_unacquired_tag(tag),
        "dma-put-twice" | "dma-not-adapter" | "dma-channel-passive" | "dma-common-unallocated" => {
            dma_rule(name, tag);
        }
        "unwind-off-stack" => unwind_off_stack(tag),
        "mdl-double-free" => {
            let p = allocate_bytes(tag, 64);
            let allocate: unsafe extern "win64" fn(
                *mut u8,
                u32,
                u8,
                u8,
                *mut c_void,
            ) -> *mut c_void = routine("IoAllocateMdl");
            let free: unsafe extern "win64" fn(*mut c_void) = routine("IoFreeMdl");
            // SAFETY: an MDL for 64 bytes of a live pool block, no IRP.
            let mdl = unsafe { allocate(p, 64, 0, 0, core::ptr::null_mut()) };
            // SAFETY: the MDL, freed once...
            unsafe { free(mdl) };
            // SAFETY: ...and twice (the kernel checks it).
            unsafe { free(mdl) };
        }
        _ => {}
    }
}

/// `RtlVirtualUnwind` of a frame of xen.sys whose `RSP` is a pool block, not the thread's
/// stack: the unwinder's first stack read is refused.
fn unwind_off_stack(tag: u32) {
    let Some(pc) = crate::nt::loader::loaded_images()
        .into_iter()
        .find(|i| i.name == "xen.sys")
        .and_then(|i| i.base.checked_add(u64::from(i.functions.first()?.begin)))
    else {
        crate::harness::fatal(format_args!("xen.sys has no function entries"));
    };
    let lookup: unsafe extern "win64" fn(u64, *mut u64, *mut c_void) -> *mut c_void =
        routine("RtlLookupFunctionEntry");
    #[allow(clippy::type_complexity)]
    let unwind: unsafe extern "win64" fn(
        u32,
        u64,
        u64,
        *mut c_void,
        *mut c_void,
        *mut *mut c_void,
        *mut u64,
        *mut c_void,
    ) -> *mut c_void = routine("RtlVirtualUnwind");
    let mut image_base = 0u64;
    // SAFETY: an address of xen.sys's code; `image_base` is ours.
    let entry = unsafe { lookup(pc, &raw mut image_base, core::ptr::null_mut()) };
    let mut context = alloc::boxed::Box::new(ContextImage([0; 77]));
    let bytes = context.0.as_mut_ptr().cast::<u8>();
    let off_stack = allocate_bytes(tag, 64).addr() as u64;
    // SAFETY: a whole CONTEXT image of ours; RIP and RSP at their offsets.
    unsafe {
        bytes
            .wrapping_add(core::mem::offset_of!(ntddk::CONTEXT, Rip))
            .cast::<u64>()
            .write_unaligned(pc);
    };
    // SAFETY: as above.
    unsafe {
        bytes
            .wrapping_add(core::mem::offset_of!(ntddk::CONTEXT, Rsp))
            .cast::<u64>()
            .write_unaligned(off_stack);
    };
    let mut handler_data = core::ptr::null_mut();
    let mut establisher = 0u64;
    // SAFETY: the entry the kernel gave for `pc`, a whole CONTEXT, outputs of ours; the
    // frame's RSP is not on the stack (the kernel checks it).
    unsafe {
        unwind(
            0,
            image_base,
            pc,
            entry,
            bytes.cast(),
            &raw mut handler_data,
            &raw mut establisher,
            core::ptr::null_mut(),
        );
    }
}

/// A `CONTEXT`'s 1,232 bytes, 16-byte aligned.
#[repr(C, align(16))]
struct ContextImage([u128; 77]);

const _: () = assert!(size_of::<ContextImage>() == size_of::<ntddk::CONTEXT>());

/// The stand-in's routine `name` as the function-pointer type `F` (its signature in the
/// Microsoft x64 convention).
fn routine<F: Copy>(name: &str) -> F {
    const { assert!(size_of::<F>() == size_of::<usize>()) };
    let address = entry(name);
    if address == 0 {
        crate::harness::fatal(format_args!("routine {name} is not in the routine table"));
    }
    // SAFETY: `F` is a function-pointer type the size of an address (checked above), and the
    // address is the non-zero entry thunk of a routine with that signature (the callers name
    // it with the routine).
    unsafe { core::mem::transmute_copy::<usize, F>(&address) }
}

/// `size` bytes of non-paged pool with `tag`.
fn allocate_bytes(tag: u32, size: usize) -> *mut u8 {
    // SAFETY: the stand-in's ExAllocatePoolWithTag entry, in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, Allocate>(entry("ExAllocatePoolWithTag")) };
    // SAFETY: a valid request: NonPagedPoolNx.
    drv(|| unsafe { f(512, size, tag) }).cast()
}

/// The stand-in's `KeWaitForSingleObject` entry.
fn wait_single() -> unsafe extern "win64" fn(*mut c_void, i32, i8, u8, *const i64) -> i32 {
    routine("KeWaitForSingleObject")
}

/// A synchronization event, not signalled, in a fresh pool block (never freed: the rule's run
/// ends with the violation).
fn event() -> *mut c_void {
    let p = allocate_bytes(u32::from_le_bytes(*b"RuEv"), 24).cast::<c_void>();
    let init: unsafe extern "win64" fn(*mut c_void, i32, u8) = routine("KeInitializeEvent");
    // SAFETY: a KEVENT's room in a live pool block.
    unsafe { init(p, 1, 0) };
    p
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

/// A remove lock acquired with one tag and released with another, which never acquired it.
fn remove_lock_unacquired_tag(tag: u32) {
    use crate::nt::kcall;
    use crate::nt::routines::remove_lock::FREE_SIZE;
    let lock = allocate_bytes(tag, FREE_SIZE as usize).cast::<c_void>();
    let [held, never] = [0x1111usize, 0x2222].map(core::ptr::with_exposed_provenance_mut);
    // SAFETY: a free build's IO_REMOVE_LOCK's room in a live pool block, not in use.
    unsafe { kcall::io_initialize_remove_lock_ex(lock, tag, 0, 0, FREE_SIZE) };
    // SAFETY: the lock just initialised.
    let _ =
        unsafe { kcall::io_acquire_remove_lock_ex(lock, held, c"rules.rs".as_ptr(), 0, FREE_SIZE) };
    // SAFETY: the lock, released with a tag that holds no acquisition (the kernel checks it).
    unsafe { kcall::io_release_remove_lock_ex(lock, never, FREE_SIZE) };
}

/// Breaks one of the DMA adapter's rules on an adapter the stand-in's HAL makes as the PCI bus's
/// `GetDmaAdapter` would (for no PDO: this run has none): `PutDmaAdapter` twice or of what is
/// not an adapter, `AllocateAdapterChannel` at `PASSIVE_LEVEL`, `FreeCommonBuffer` of memory
/// the adapter never gave.
fn dma_rule(name: &str, tag: u32) {
    use core::mem::offset_of;
    use ntddk::DMA_OPERATIONS;
    let description = ntddk::DEVICE_DESCRIPTION {
        Version: 0,
        Master: 1,
        ScatterGather: 1,
        DemandMode: 0,
        AutoInitialize: 0,
        Dma32BitAddresses: 0,
        IgnoreCount: 0,
        Reserved1: 0,
        Dma64BitAddresses: 1,
        BusNumber: 0,
        DmaChannel: 0,
        InterfaceType: ntddk::PCIBus,
        DmaWidth: 0,
        DmaSpeed: 0,
        MaximumLength: 0x1_0000,
        DmaPort: 0,
    };
    let mut registers = 0u32;
    let adapter =
        crate::nt::dma::get_adapter(0, (&raw const description).addr(), &raw mut registers);
    let table = crate::nt::dma::table_address(1);
    // SAFETY: the stand-in's own version 1 table (static, `DMA_OPERATIONS_SIZE1` bytes).
    let t = unsafe { routines::DriverObject::new(table, ntddk::DMA_OPERATIONS_SIZE1 as usize) };
    let slot = |offset: usize| t.get::<usize>(offset).unwrap_or(0);
    let put = slot(offset_of!(DMA_OPERATIONS, PutDmaAdapter));
    // SAFETY: the table's PutDmaAdapter, PUT_DMA_ADAPTER in the Microsoft x64 convention.
    let put = unsafe { core::mem::transmute::<usize, unsafe extern "win64" fn(*mut c_void)>(put) };
    match name {
        "dma-put-twice" => {
            // SAFETY: the adapter, put once...
            drv(|| unsafe { put(adapter) });
            // SAFETY: ...and twice (the adapter checks it).
            drv(|| unsafe { put(adapter) });
        }
        "dma-not-adapter" => {
            let p = allocate_bytes(tag, 16);
            // SAFETY: a pool block, not an adapter (the routine checks it).
            drv(|| unsafe { put(p.cast()) });
        }
        "dma-channel-passive" => {
            let channel = slot(offset_of!(DMA_OPERATIONS, AllocateAdapterChannel));
            // SAFETY: the table's AllocateAdapterChannel, in the Microsoft x64 convention.
            let channel = unsafe {
                core::mem::transmute::<
                    usize,
                    unsafe extern "win64" fn(*mut c_void, *mut c_void, u32, usize, usize) -> i32,
                >(channel)
            };
            // SAFETY: the adapter, at PASSIVE_LEVEL (the routine checks the IRQL first).
            let _ = drv(|| unsafe { channel(adapter, core::ptr::null_mut(), 1, 0, 0) });
        }
        _ => {
            let free = slot(offset_of!(DMA_OPERATIONS, FreeCommonBuffer));
            // SAFETY: the table's FreeCommonBuffer, in the Microsoft x64 convention.
            let free = unsafe {
                core::mem::transmute::<
                    usize,
                    unsafe extern "win64" fn(*mut c_void, u32, i64, *mut c_void, u8),
                >(free)
            };
            let p = allocate_bytes(tag, 64);
            // SAFETY: the adapter and pool memory it never gave (the routine checks it).
            drv(|| unsafe { free(adapter, 64, 0, p.cast(), 1) });
        }
    }
}
