// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The bug-check callback, as upstream's `BugCheckInitialize`/`BugCheckTeardown`
//! (`src/xen/bug_check.c`): a classic `KeRegisterBugCheckCallback` record, registered by
//! `DllInitialize` after the hypercall and system steps and deregistered by `DllUnload` (and by
//! a later step's failure unwind).
//!
//! The callback reads the code and parameters from `KiBugCheckData` (upstream does the same: a
//! classic callback gets only its buffer) and runs the portable [`crate::bug_check::dump`]:
//! `SCHEDOP_shutdown_code(SHUTDOWN_crash)` first, then every line at CRITICAL through the log.
//!
//! IRQL: registration and removal run at PASSIVE_LEVEL. The callback runs at HIGH_LEVEL with
//! the other processors stopped, so everything it reaches is safe there: the hypervisor handle
//! is a `spin::Once` already set (no lock), the hypercall is one instruction, the dump formats
//! into fixed lines (no allocation), and the log is behind its `HIGH_LEVEL` lock (upstream's
//! `HIGH_LOCK`, as upstream's `LogPrintf`).
//!
//! What the dump may read: the current thread's stack, and nothing else. Upstream reads the
//! parameters' memory under `__try`/`__except`, which our images do not have, and
//! `MmIsAddressValid`, the only probe the kernel offers, is documented for
//! `IRQL <= DISPATCH_LEVEL`. But the stack the callback runs on is resident, and
//! `IoGetStackLimits` (any IRQL) bounds it: [`Crash::read`] copies what lies wholly inside those
//! bounds and answers every other read as unreadable. So the dump prints the code, its
//! parameters, the lines that decode the parameters' values (memory referenced, IRQL, access,
//! addresses) and what they point at on the stack (an exception's records usually live there);
//! the steps that would follow a pointer elsewhere end there. Addresses are named
//! `module + offset` from xen.sys's module list ([`super::module::lookup`], which takes its lock
//! at `HIGH_LEVEL` and allocates nothing), and `CRITICAL_PROCESS_DIED`'s process is named
//! through `PsGetProcessImageFileName` ([`super::process::image_file_name`]: the kernel's own
//! object, read by the kernel's own accessor). The registers are captured here (no
//! `RtlCaptureContext` import), and the stack is walked as upstream's `BugCheckStackDump` does,
//! with the kernel's unwinder (`RtlLookupFunctionEntry` over the images' exception directories,
//! `RtlVirtualUnwind`), a frame at a time and only while the frame's `RSP` lies inside the stack
//! bounds. The three routines are resolved by [`register`] at `PASSIVE_LEVEL` (Wine's kernel,
//! which loads the image in a test, lacks some of them); without them the dump has no stack
//! reads and no walk, as before.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicPtr, Ordering};

use ntddk::{
    CONTEXT, CONTEXT_CONTROL, CONTEXT_INTEGER, CONTEXT_SEGMENTS, KBUGCHECK_CALLBACK_RECORD,
    LIST_ENTRY, NTSTATUS, STATUS_UNSUCCESSFUL,
};

use crate::bug_check::{ContextRecord, CrashEnvironment};
use crate::log::Level;

/// The callback record: the kernel's from registration to deregistration.
struct RecordStorage(UnsafeCell<KBUGCHECK_CALLBACK_RECORD>);

// SAFETY: xen.sys only hands the record's address to `KeRegisterBugCheckCallback` and
// `KeDeregisterBugCheckCallback` (both at PASSIVE_LEVEL, from `DllInitialize`/`DllUnload`, which
// the loader serialises) and initialises it just before registering; the kernel owns it in
// between.
unsafe impl Sync for RecordStorage {}

static RECORD: RecordStorage = RecordStorage(UnsafeCell::new(KBUGCHECK_CALLBACK_RECORD {
    Entry: LIST_ENTRY {
        Flink: core::ptr::null_mut(),
        Blink: core::ptr::null_mut(),
    },
    CallbackRoutine: None,
    Buffer: core::ptr::null_mut(),
    Length: 0,
    Component: core::ptr::null_mut(),
    Checksum: 0,
    State: 0,
}));

/// `IoGetStackLimits`, resolved by [`register`] (NULL: no stack reads).
static STACK_LIMITS: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
/// `RtlLookupFunctionEntry`, resolved by [`register`] (NULL: no stack walk).
static LOOKUP_FUNCTION_ENTRY: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
/// `RtlVirtualUnwind`, resolved by [`register`] (NULL: no stack walk).
static VIRTUAL_UNWIND: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Resolves the routines the dump reads the stack and unwinds with (PASSIVE_LEVEL).
fn resolve_routines() {
    for (slot, name) in [
        (&STACK_LIMITS, "IoGetStackLimits"),
        (&LOOKUP_FUNCTION_ENTRY, "RtlLookupFunctionEntry"),
        (&VIRTUAL_UNWIND, "RtlVirtualUnwind"),
    ] {
        slot.store(platform_windows::system_routine(name), Ordering::Release);
    }
}

/// The current thread's stack bounds (`low..high`), if `IoGetStackLimits` was resolved.
fn stack_limits() -> Option<core::ops::Range<u64>> {
    let routine = STACK_LIMITS.load(Ordering::Acquire);
    if routine.is_null() {
        return None;
    }
    // SAFETY: the kernel's `IoGetStackLimits`, resolved by name (its documented signature).
    let get: ntddk::routines::IoGetStackLimitsFn = unsafe { core::mem::transmute(routine) };
    let (mut low, mut high) = (0usize, 0usize);
    // SAFETY: any IRQL; two writable locals.
    unsafe { get(&raw mut low, &raw mut high) };
    let range = u64::try_from(low).ok()?..u64::try_from(high).ok()?;
    (!range.is_empty()).then_some(range)
}

/// Whether `len` bytes at `address` lie wholly inside `stack`.
fn inside(stack: &core::ops::Range<u64>, address: u64, len: usize) -> bool {
    let Some(end) = u64::try_from(len).ok().and_then(|l| address.checked_add(l)) else {
        return false;
    };
    stack.start <= address && end <= stack.end
}

/// The component name the kernel records (upstream's `__MODULE__`).
const COMPONENT: &core::ffi::CStr = c"xen";

/// A registered callback; [`Registered::deregister`] consumes it.
#[must_use = "the callback stays registered until `deregister`"]
pub(super) struct Registered(());

/// `BugCheckInitialize`: readies the record (`KeInitializeCallbackRecord`) and registers the
/// callback (PASSIVE_LEVEL).
///
/// # Errors
/// `STATUS_UNSUCCESSFUL` when the kernel refuses the record, as upstream.
pub(super) fn register() -> Result<Registered, NTSTATUS> {
    resolve_routines();
    let record = RECORD.0.get();
    // SAFETY: not registered (DllInitialize runs once before any registration, and a failed or
    // unloaded load deregistered it), so the record is ours to initialise.
    let fields = unsafe { &mut *record };
    ntddk::routines::KeInitializeCallbackRecord(fields);
    // SAFETY: PASSIVE_LEVEL; a static, non-paged record initialised above; the routine is this
    // image's and the component a static string, both valid until `DllUnload` deregisters.
    let done = unsafe {
        ntddk::routines::KeRegisterBugCheckCallback(
            record,
            callback,
            core::ptr::null_mut(),
            0,
            COMPONENT.as_ptr().cast::<u8>().cast_mut(),
        )
    };
    if done == 0 {
        return Err(STATUS_UNSUCCESSFUL);
    }
    Ok(Registered(()))
}

impl Registered {
    /// `BugCheckTeardown`: removes the callback (PASSIVE_LEVEL). Dropping the token does the
    /// same, so a failure unwind that forgets to call this still deregisters.
    pub(super) fn deregister(self) {
        drop(self);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // SAFETY: PASSIVE_LEVEL (the token lives in `DllInitialize` and `DllUnload`'s state
        // only); the record `register` registered, which this token proves.
        let _removed = unsafe { ntddk::routines::KeDeregisterBugCheckCallback(RECORD.0.get()) };
    }
}

/// The callback (`KBUGCHECK_CALLBACK_ROUTINE`), at HIGH_LEVEL during a bug check.
unsafe extern "system" fn callback(_buffer: *mut c_void, _length: u32) {
    let data = (&raw const ntddk::routines::KiBugCheckData).cast::<u64>();
    let mut words = [0u64; 5];
    for (index, word) in (0..).zip(words.iter_mut()) {
        // SAFETY: `KiBugCheckData` is the kernel's array of five `ULONG_PTR`s, written by
        // `KeBugCheckEx` before it calls the callbacks; read volatile, as another's memory.
        *word = unsafe { data.wrapping_add(index).read_volatile() };
    }
    crate::bug_check::dump(&Crash, words, &mut |line| {
        crate::export::log_line(Level::CRITICAL, line);
    });
}

/// The machine at bug-check time, as the Windows glue can see it at HIGH_LEVEL.
struct Crash;

impl CrashEnvironment for Crash {
    fn shutdown_code(&self, reason: u32) {
        if let Some(xen) = super::XEN.get() {
            let _ignored = crate::sched::shutdown_code(xen, reason);
        }
    }

    fn read(&self, address: u64, buffer: &mut [u8]) -> bool {
        let Some(stack) = stack_limits() else {
            return false;
        };
        if !inside(&stack, address, buffer.len()) {
            return false;
        }
        let Ok(start) = usize::try_from(address) else {
            return false;
        };
        let source = core::ptr::with_exposed_provenance::<u8>(start);
        for (i, byte) in buffer.iter_mut().enumerate() {
            // SAFETY: inside the current thread's stack (checked above), which is resident
            // while the thread runs; read bytewise, volatile, as memory others wrote.
            *byte = unsafe { source.wrapping_add(i).read_volatile() };
        }
        true
    }

    fn module(&self, address: u64) -> Option<(&[u8], u64)> {
        let (name, offset) = super::module::lookup(usize::try_from(address).ok()?)?;
        // SAFETY: the module list's NUL-terminated name, which stays where it is until its
        // module is replaced by a load notification or the list freed by `DllUnload`; neither
        // runs during a bug check, when every other processor is stopped.
        let name = unsafe { core::ffi::CStr::from_ptr(name.cast()) };
        Some((name.to_bytes(), u64::try_from(offset).ok()?))
    }

    fn capture_context(&self, context: &mut ContextRecord) {
        capture(context);
    }

    fn unwind(&self, context: &mut ContextRecord) -> bool {
        let (lookup, unwind) = (
            LOOKUP_FUNCTION_ENTRY.load(Ordering::Acquire),
            VIRTUAL_UNWIND.load(Ordering::Acquire),
        );
        if lookup.is_null() || unwind.is_null() {
            return false;
        }
        // The unwinder reads the frame's saved registers above RSP: only a frame on this
        // thread's stack is unwound.
        if !stack_limits().is_some_and(|stack| inside(&stack, context.rsp(), 8)) {
            return false;
        }
        // SAFETY: the kernel's `RtlLookupFunctionEntry`, resolved by name.
        let lookup: ntddk::routines::RtlLookupFunctionEntryFn =
            unsafe { core::mem::transmute(lookup) };
        // SAFETY: the kernel's `RtlVirtualUnwind`, resolved by name.
        let unwind: ntddk::routines::RtlVirtualUnwindFn = unsafe { core::mem::transmute(unwind) };
        let rip = context.rip();
        let mut base = 0u64;
        // SAFETY: any IRQL; a writable local; no history table.
        let function = unsafe { lookup(rip, &raw mut base, core::ptr::null_mut()) };
        if function.is_null() {
            return false;
        }
        let mut handler_data = core::ptr::null_mut();
        let mut establisher = 0u64;
        // SAFETY: the entry the kernel found for `rip` in the image at `base`; `context` holds a
        // whole, 16-byte aligned `CONTEXT` image whose `RSP` lies on this thread's stack; the
        // outputs are locals; no context pointers.
        let _handler = unsafe {
            unwind(
                ntddk::routines::UNW_FLAG_NHANDLER,
                base,
                rip,
                function,
                context.bytes.as_mut_ptr().cast(),
                &raw mut handler_data,
                &raw mut establisher,
                core::ptr::null_mut(),
            )
        };
        true
    }

    fn process_image_name(&self, process: u64) -> Option<[u8; 16]> {
        super::process::image_file_name(process)
    }

    fn current_irql(&self) -> u8 {
        ntddk::irql::current()
    }
}

/// What `RtlCaptureContext` records of the integer and control state, here: every general
/// register, `Rip` (this point), `Rsp`, `EFlags` and the segment selectors.
#[inline(never)]
fn capture(context: &mut ContextRecord) {
    context.bytes.fill(0);
    let flags = CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS;
    if let Some(field) = context.bytes.get_mut(
        offset_of!(CONTEXT, ContextFlags)..offset_of!(CONTEXT, ContextFlags).wrapping_add(4),
    ) {
        field.copy_from_slice(&flags.to_le_bytes());
    }
    let base = context.bytes.as_mut_ptr();
    // SAFETY: stores only into `context.bytes` at `CONTEXT`'s field offsets (each field lies
    // inside the record, whose size is `CONTEXT`'s); reads registers; the push/pop pair leaves
    // the stack as it found it.
    unsafe {
        core::arch::asm!(
            "mov [{b} + {rax}], rax",
            "mov [{b} + {rcx}], rcx",
            "mov [{b} + {rdx}], rdx",
            "mov [{b} + {rbx}], rbx",
            "mov [{b} + {rsp}], rsp",
            "mov [{b} + {rbp}], rbp",
            "mov [{b} + {rsi}], rsi",
            "mov [{b} + {rdi}], rdi",
            "mov [{b} + {r8}], r8",
            "mov [{b} + {r9}], r9",
            "mov [{b} + {r10}], r10",
            "mov [{b} + {r11}], r11",
            "mov [{b} + {r12}], r12",
            "mov [{b} + {r13}], r13",
            "mov [{b} + {r14}], r14",
            "mov [{b} + {r15}], r15",
            "lea {t}, [rip]",
            "mov [{b} + {rip}], {t}",
            "pushfq",
            "pop {t}",
            "mov [{b} + {eflags}], {t:e}",
            "mov {t:x}, cs",
            "mov [{b} + {cs}], {t:x}",
            "mov {t:x}, ds",
            "mov [{b} + {ds}], {t:x}",
            "mov {t:x}, es",
            "mov [{b} + {es}], {t:x}",
            "mov {t:x}, fs",
            "mov [{b} + {fs}], {t:x}",
            "mov {t:x}, gs",
            "mov [{b} + {gs}], {t:x}",
            "mov {t:x}, ss",
            "mov [{b} + {ss}], {t:x}",
            b = in(reg) base,
            t = out(reg) _,
            rax = const offset_of!(CONTEXT, Rax),
            rcx = const offset_of!(CONTEXT, Rcx),
            rdx = const offset_of!(CONTEXT, Rdx),
            rbx = const offset_of!(CONTEXT, Rbx),
            rsp = const offset_of!(CONTEXT, Rsp),
            rbp = const offset_of!(CONTEXT, Rbp),
            rsi = const offset_of!(CONTEXT, Rsi),
            rdi = const offset_of!(CONTEXT, Rdi),
            r8 = const offset_of!(CONTEXT, R8),
            r9 = const offset_of!(CONTEXT, R9),
            r10 = const offset_of!(CONTEXT, R10),
            r11 = const offset_of!(CONTEXT, R11),
            r12 = const offset_of!(CONTEXT, R12),
            r13 = const offset_of!(CONTEXT, R13),
            r14 = const offset_of!(CONTEXT, R14),
            r15 = const offset_of!(CONTEXT, R15),
            rip = const offset_of!(CONTEXT, Rip),
            eflags = const offset_of!(CONTEXT, EFlags),
            cs = const offset_of!(CONTEXT, SegCs),
            ds = const offset_of!(CONTEXT, SegDs),
            es = const offset_of!(CONTEXT, SegEs),
            fs = const offset_of!(CONTEXT, SegFs),
            gs = const offset_of!(CONTEXT, SegGs),
            ss = const offset_of!(CONTEXT, SegSs),
        );
    }
}
