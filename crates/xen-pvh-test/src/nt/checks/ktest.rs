// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What the kernel-object checks ([`super::threads`], [`super::timers`], [`super::memory`])
//! play a driver with:
//!
//! * **`ktest.sys`**, a synthetic driver image (`pe_image::builder`) loaded and mapped by the
//!   stand-in's loader like any driver, whose code is one thunk per export
//!   (`mov rax, imm64; jmp rax`) into the checks' Rust callbacks. Thread start routines and DPC
//!   routines are handed to the kernel as the thunks' addresses, so they lie in a loaded image's
//!   code as the kernel requires of a driver's.
//! * **[`Kernel`]**: the stand-in's routines through their table entries
//!   (`routines::lookup`, the addresses a driver's import slots hold), called in the Microsoft
//!   x64 convention; each wrapper is one call.
//! * **The board**: one non-paged pool block (allocated through `ExAllocatePool2`, like a device
//!   extension) holding the events, timers, DPCs and wait blocks, addressed as [`Obj`]s.

use crate::harness::check;
use crate::nt::{loader, routines};
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};
use ntddk::{CLIENT_ID, KDPC, KEVENT, KTIMER, KWAIT_BLOCK, OBJECT_ATTRIBUTES};

/// A kernel object or buffer in the board (an address the kernel takes as a pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obj(pub usize);

impl Obj {
    /// As the pointer the routines take.
    pub const fn ptr(self) -> *mut c_void {
        core::ptr::with_exposed_provenance_mut(self.0)
    }
}

/// Board layout: events, timers, DPCs, wait blocks.
pub const EVENTS: usize = 16;
pub const TIMERS: usize = 4;
pub const DPCS: usize = 4;
pub const BLOCKS: usize = 8;
const EVENT_AT: usize = 0;
const TIMER_AT: usize = EVENT_AT + EVENTS * size_of::<KEVENT>();
const DPC_AT: usize = TIMER_AT + TIMERS * size_of::<KTIMER>();
const BLOCK_AT: usize = DPC_AT + DPCS * size_of::<KDPC>();
const BOARD_BYTES: usize = BLOCK_AT + BLOCKS * size_of::<KWAIT_BLOCK>();
/// The board's pool tag.
pub const TAG: u32 = u32::from_le_bytes(*b"KtsT");

static BOARD: AtomicUsize = AtomicUsize::new(0);

/// Event `i` of the board.
pub fn event(i: usize) -> Obj {
    Obj(BOARD.load(Ordering::SeqCst) + EVENT_AT + i * size_of::<KEVENT>())
}

/// Timer `i` of the board.
pub fn timer(i: usize) -> Obj {
    Obj(BOARD.load(Ordering::SeqCst) + TIMER_AT + i * size_of::<KTIMER>())
}

/// DPC `i` of the board.
pub fn dpc(i: usize) -> Obj {
    Obj(BOARD.load(Ordering::SeqCst) + DPC_AT + i * size_of::<KDPC>())
}

/// The board's wait-block array.
pub fn blocks() -> Obj {
    Obj(BOARD.load(Ordering::SeqCst) + BLOCK_AT)
}

/// Reads the `T` at byte `offset` of the board object `o`.
pub const fn read<T: Copy>(o: Obj, offset: usize) -> T {
    let p = core::ptr::with_exposed_provenance::<T>(o.0 + offset);
    // SAFETY: `o` lies in the board, a live pool block the checks own until they free it, and
    // `offset` inside the object (the callers use field offsets of its type).
    unsafe { p.read_unaligned() }
}

/// The address of the stand-in's routine `name` (what an import slot binds to).
fn entry(name: &str) -> usize {
    routines::lookup(name)
        .and_then(|r| usize::try_from(r.address).ok())
        .filter(|&a| a != 0)
        .unwrap_or_else(|| {
            crate::harness::fatal(format_args!("routine {name} is not in the routine table"))
        })
}

/// Declares [`Kernel`]: a field per routine, typed, from its table entry.
macro_rules! kernel {
    ($($field:ident = $name:literal: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The stand-in's routines, as a driver's import slots hold them.
        #[allow(clippy::struct_field_names)]
        pub struct Kernel {
            $(
                #[doc = concat!("`", $name, "`.")]
                pub $field: unsafe extern "win64" fn($($arg),*) $(-> $ret)?,
            )*
        }

        impl Kernel {
            fn bind() -> Self {
                Self {
                    $(
                        // SAFETY: `entry` is the non-zero address of the table's entry thunk
                        // for the routine, whose implementation has exactly this signature in
                        // the Microsoft x64 convention.
                        $field: unsafe {
                            core::mem::transmute::<usize, unsafe extern "win64" fn($($arg),*) $(-> $ret)?>(entry($name))
                        },
                    )*
                }
            }
        }
    };
}

kernel! {
    create_thread = "PsCreateSystemThread": fn(*mut *mut c_void, u32, *const OBJECT_ATTRIBUTES, *mut c_void, *mut CLIENT_ID, usize, *mut c_void) -> i32;
    terminate_thread = "PsTerminateSystemThread": fn(i32) -> i32;
    current_thread = "KeGetCurrentThread": fn() -> *mut c_void;
    ps_current_thread = "PsGetCurrentThread": fn() -> *mut c_void;
    delay = "KeDelayExecutionThread": fn(i8, u8, *const i64) -> i32;
    reference_by_handle = "ObReferenceObjectByHandle": fn(*mut c_void, u32, *mut c_void, i8, *mut *mut c_void, *mut u32) -> i32;
    reference = "ObfReferenceObject": fn(*mut c_void) -> isize;
    dereference = "ObfDereferenceObject": fn(*mut c_void) -> isize;
    close = "ZwClose": fn(*mut c_void) -> i32;
    init_event = "KeInitializeEvent": fn(*mut c_void, i32, u8);
    set_event = "KeSetEvent": fn(*mut c_void, i32, u8) -> i32;
    pulse_event = "KePulseEvent": fn(*mut c_void, i32, u8) -> i32;
    clear_event = "KeClearEvent": fn(*mut c_void);
    reset_event = "KeResetEvent": fn(*mut c_void) -> i32;
    read_event = "KeReadStateEvent": fn(*mut c_void) -> i32;
    init_timer = "KeInitializeTimer": fn(*mut c_void);
    init_timer_ex = "KeInitializeTimerEx": fn(*mut c_void, i32);
    set_timer = "KeSetTimer": fn(*mut c_void, i64, *mut c_void) -> u8;
    set_timer_ex = "KeSetTimerEx": fn(*mut c_void, i64, i32, *mut c_void) -> u8;
    cancel_timer = "KeCancelTimer": fn(*mut c_void) -> u8;
    read_timer = "KeReadStateTimer": fn(*mut c_void) -> u8;
    wait_single = "KeWaitForSingleObject": fn(*mut c_void, i32, i8, u8, *const i64) -> i32;
    wait_multiple = "KeWaitForMultipleObjects": fn(u32, *const *mut c_void, i32, i32, i8, u8, *const i64, *mut c_void) -> i32;
    init_dpc = "KeInitializeDpc": fn(*mut c_void, usize, *mut c_void);
    interrupt_time = "KeQueryInterruptTime": fn() -> u64;
    system_time = "KeQuerySystemTimePrecise": fn(*mut i64);
    performance_counter = "KeQueryPerformanceCounter": fn(*mut i64) -> i64;
    stall = "KeStallExecutionProcessor": fn(u32);
    allocate_contiguous = "MmAllocateContiguousMemory": fn(usize, i64) -> *mut c_void;
    allocate_contiguous_cache = "MmAllocateContiguousMemorySpecifyCache": fn(usize, i64, i64, i64, i32) -> *mut c_void;
    free_contiguous = "MmFreeContiguousMemory": fn(*mut c_void);
    physical = "MmGetPhysicalAddress": fn(*mut c_void) -> i64;
    map_io = "MmMapIoSpace": fn(i64, usize, i32) -> *mut c_void;
    map_io_ex = "MmMapIoSpaceEx": fn(i64, usize, u32) -> *mut c_void;
    unmap_io = "MmUnmapIoSpace": fn(*mut c_void, usize);
    pool_allocate = "ExAllocatePool2": fn(u64, usize, u32) -> *mut c_void;
    pool_free = "ExFreePoolWithTag": fn(*mut c_void, u32);
}

static KERNEL: spin::Once<Kernel> = spin::Once::new();

/// The routines (bound once).
pub fn kernel() -> &'static Kernel {
    KERNEL.call_once(Kernel::bind)
}

/// `KernelMode`, `Executive`, `WaitAll`, `WaitAny`, event and timer types.
pub const KERNEL_MODE: i8 = 0;
pub const EXECUTIVE: i32 = 0;
pub const WAIT_ALL: i32 = 0;
pub const WAIT_ANY: i32 = 1;
pub const NOTIFICATION: i32 = 0;
pub const SYNCHRONIZATION: i32 = 1;
/// `STATUS_TIMEOUT`.
pub const STATUS_TIMEOUT: i32 = 0x102;
/// 100 ns units per millisecond.
pub const MS: i64 = 10_000;

/// The calls the checks make, each one routine call through its table entry on objects of the
/// board (or on what the routines returned).
impl Kernel {
    /// `KeInitializeEvent`.
    pub fn initialize_event(&self, e: Obj, kind: i32, signalled: bool) {
        // SAFETY: `e` is a KEVENT's room in the board (resident pool).
        unsafe { (self.init_event)(e.ptr(), kind, u8::from(signalled)) }
    }

    /// `KeSetEvent(e, 0, FALSE)`.
    pub fn set(&self, e: Obj) -> i32 {
        // SAFETY: an event of the board the checks initialised.
        unsafe { (self.set_event)(e.ptr(), 0, 0) }
    }

    /// `KePulseEvent(e, 0, FALSE)`.
    pub fn pulse(&self, e: Obj) -> i32 {
        // SAFETY: as `set`.
        unsafe { (self.pulse_event)(e.ptr(), 0, 0) }
    }

    /// `KeClearEvent`.
    pub fn clear(&self, e: Obj) {
        // SAFETY: as `set`.
        unsafe { (self.clear_event)(e.ptr()) }
    }

    /// `KeResetEvent`.
    pub fn reset(&self, e: Obj) -> i32 {
        // SAFETY: as `set`.
        unsafe { (self.reset_event)(e.ptr()) }
    }

    /// `KeReadStateEvent`.
    pub fn state(&self, e: Obj) -> i32 {
        // SAFETY: as `set`.
        unsafe { (self.read_event)(e.ptr()) }
    }

    /// `KeWaitForSingleObject(o, Executive, KernelMode, FALSE, timeout)`; `None` waits forever.
    pub fn wait(&self, o: Obj, timeout: Option<i64>) -> i32 {
        let t = timeout.unwrap_or(0);
        let p = timeout.map_or(core::ptr::null(), |_| &raw const t);
        // SAFETY: a dispatcher object of the board or a referenced thread object; `p` is NULL
        // or points to `t`, which outlives the call.
        unsafe { (self.wait_single)(o.ptr(), EXECUTIVE, KERNEL_MODE, 0, p) }
    }

    /// `KeWaitForMultipleObjects` on `objects` with the board's wait blocks if `own_blocks`
    /// is false.
    pub fn wait_many(
        &self,
        objects: &[Obj],
        kind: i32,
        timeout: Option<i64>,
        own_blocks: bool,
    ) -> i32 {
        let list: alloc::vec::Vec<*mut c_void> = objects.iter().map(|o| o.ptr()).collect();
        let t = timeout.unwrap_or(0);
        let p = timeout.map_or(core::ptr::null(), |_| &raw const t);
        let b = if own_blocks {
            core::ptr::null_mut()
        } else {
            blocks().ptr()
        };
        let count = u32::try_from(list.len()).unwrap_or(0);
        // SAFETY: `list` holds `count` objects of the board; `p` as in `wait`; the board's
        // block array has room for `BLOCKS` blocks (the checks pass at most that many).
        unsafe { (self.wait_multiple)(count, list.as_ptr(), kind, EXECUTIVE, KERNEL_MODE, 0, p, b) }
    }

    /// `KeDelayExecutionThread(KernelMode, FALSE, &interval)`.
    pub fn sleep(&self, interval: i64) -> i32 {
        // SAFETY: `interval` outlives the call.
        unsafe { (self.delay)(KERNEL_MODE, 0, &raw const interval) }
    }

    /// `KeQueryInterruptTime`.
    pub fn now(&self) -> u64 {
        // SAFETY: no arguments.
        unsafe { (self.interrupt_time)() }
    }

    /// `KeQuerySystemTimePrecise`.
    pub fn system_now(&self) -> i64 {
        let mut t = 0i64;
        // SAFETY: `t` is writable and outlives the call.
        unsafe { (self.system_time)(&raw mut t) };
        t
    }

    /// `PsCreateSystemThread` of `start` (an export of ktest.sys) with `context`, with kernel
    /// handle attributes; the status and the handle.
    pub fn spawn(&self, start: usize, context: usize) -> (i32, usize, CLIENT_ID) {
        let mut handle: *mut c_void = core::ptr::null_mut();
        let attributes = OBJECT_ATTRIBUTES {
            Length: u32::try_from(size_of::<OBJECT_ATTRIBUTES>()).unwrap_or(0),
            RootDirectory: core::ptr::null_mut(),
            ObjectName: core::ptr::null_mut(),
            Attributes: 0x200,
            SecurityDescriptor: core::ptr::null_mut(),
            SecurityQualityOfService: core::ptr::null_mut(),
        };
        let mut client = CLIENT_ID {
            UniqueProcess: core::ptr::null_mut(),
            UniqueThread: core::ptr::null_mut(),
        };
        // SAFETY: valid out-pointers and attributes that outlive the call; `start` is code of
        // the loaded ktest.sys; the context is an integer the callback reads as such.
        let status = unsafe {
            (self.create_thread)(
                &raw mut handle,
                0x001f_ffff,
                &raw const attributes,
                core::ptr::null_mut(),
                &raw mut client,
                start,
                core::ptr::with_exposed_provenance_mut(context),
            )
        };
        (status, handle.addr(), client)
    }

    /// `ObReferenceObjectByHandle(handle, SYNCHRONIZE, type, KernelMode, &object, NULL)`.
    pub fn object_of(&self, handle: usize, object_type: usize) -> (i32, Obj) {
        let mut object: *mut c_void = core::ptr::null_mut();
        // SAFETY: `object` is writable; the handle and type are values the kernel checks.
        let status = unsafe {
            (self.reference_by_handle)(
                core::ptr::with_exposed_provenance_mut(handle),
                0x0010_0000,
                core::ptr::with_exposed_provenance_mut(object_type),
                KERNEL_MODE,
                &raw mut object,
                core::ptr::null_mut(),
            )
        };
        (status, Obj(object.addr()))
    }

    /// `ZwClose`.
    pub fn close_handle(&self, handle: usize) -> i32 {
        // SAFETY: a handle value; the kernel checks it.
        unsafe { (self.close)(core::ptr::with_exposed_provenance_mut(handle)) }
    }

    /// `ObfDereferenceObject`.
    pub fn release(&self, o: Obj) -> isize {
        // SAFETY: an object the checks referenced.
        unsafe { (self.dereference)(o.ptr()) }
    }

    /// `ObfReferenceObject`.
    pub fn add_reference(&self, o: Obj) -> isize {
        // SAFETY: a thread object the checks hold a reference to.
        unsafe { (self.reference)(o.ptr()) }
    }

    /// `KeGetCurrentThread` and `PsGetCurrentThread`.
    pub fn me(&self) -> (usize, usize) {
        // SAFETY: no arguments.
        let k = unsafe { (self.current_thread)() };
        // SAFETY: no arguments.
        let p = unsafe { (self.ps_current_thread)() };
        (k.addr(), p.addr())
    }

    /// `KeInitializeTimerEx` (or `KeInitializeTimer` for `None`).
    pub fn initialize_timer(&self, t: Obj, kind: Option<i32>) {
        let Some(k) = kind else {
            // SAFETY: a KTIMER's room in the board.
            return unsafe { (self.init_timer)(t.ptr()) };
        };
        // SAFETY: as above.
        unsafe { (self.init_timer_ex)(t.ptr(), k) }
    }

    /// `KeSetTimerEx(t, due, period, dpc)` (`KeSetTimer` when `period` is `None`).
    pub fn arm(&self, t: Obj, due: i64, period: Option<i32>, d: Option<Obj>) -> u8 {
        let dp = d.map_or(core::ptr::null_mut(), Obj::ptr);
        let Some(p) = period else {
            // SAFETY: an initialised timer and DPC of the board.
            return unsafe { (self.set_timer)(t.ptr(), due, dp) };
        };
        // SAFETY: as above.
        unsafe { (self.set_timer_ex)(t.ptr(), due, p, dp) }
    }

    /// `KeCancelTimer`.
    pub fn cancel(&self, t: Obj) -> u8 {
        // SAFETY: an initialised timer of the board.
        unsafe { (self.cancel_timer)(t.ptr()) }
    }

    /// `KeReadStateTimer`.
    pub fn timer_state(&self, t: Obj) -> u8 {
        // SAFETY: as `cancel`.
        unsafe { (self.read_timer)(t.ptr()) }
    }

    /// `KeInitializeDpc(d, routine, context)`.
    pub fn initialize_dpc(&self, d: Obj, routine: usize, context: usize) {
        // SAFETY: a KDPC's room in the board; `routine` is code of the loaded ktest.sys.
        unsafe {
            (self.init_dpc)(
                d.ptr(),
                routine,
                core::ptr::with_exposed_provenance_mut(context),
            );
        }
    }
}

/// The loaded `ktest.sys`.
#[derive(Debug)]
pub struct Ktest {
    index: usize,
}

impl Ktest {
    /// The address of export `name` (a thunk into its callback).
    pub fn routine(&self, name: &str) -> usize {
        loader::export(self.index, name)
            .and_then(|a| usize::try_from(a).ok())
            .unwrap_or(0)
    }
}

/// Builds and loads `ktest.sys` with one export per `(name, callback address)`, and allocates
/// the board.
pub fn load(callbacks: &[(&str, usize)]) -> Option<Ktest> {
    let mut builder = pe_image::builder::ImageBuilder::driver();
    let mut code = alloc::vec::Vec::new();
    for &(_, target) in callbacks {
        // mov rax, imm64; jmp rax; int3 padding to 16 bytes.
        code.extend_from_slice(&[0x48, 0xb8]);
        code.extend_from_slice(&(target as u64).to_le_bytes());
        code.extend_from_slice(&[0xff, 0xe0, 0xcc, 0xcc, 0xcc, 0xcc]);
    }
    code.resize(code.len().max(0x100), 0xcc);
    if let Some(text) = builder.sections.first_mut() {
        text.data = code;
    }
    let names: alloc::vec::Vec<&str> = callbacks.iter().map(|&(n, _)| n).collect();
    let bytes = builder.export("ktest.sys", &names).build();
    let index = match loader::load("ktest.sys", &bytes) {
        Ok(index) => index,
        Err(refused) => {
            check("nt.ktest.loaded", false, format_args!("{refused}"));
            return None;
        }
    };
    let k = kernel();
    // SAFETY: POOL_FLAG_NON_PAGED (0x40), a tag; the kernel checks the request.
    let board = unsafe { (k.pool_allocate)(0x40, BOARD_BYTES, TAG) };
    let ktest = Ktest { index };
    let thunks = callbacks
        .iter()
        .all(|&(n, _)| loader::is_loaded_code(ktest.routine(n) as u64));
    check(
        "nt.ktest.loaded",
        thunks && !board.is_null(),
        format_args!(
            "ktest.sys image {index}: {} callbacks in loaded code, board of {BOARD_BYTES} bytes \
             at {:#x}",
            callbacks.len(),
            board.addr()
        ),
    );
    if board.is_null() {
        return None;
    }
    BOARD.store(board.addr(), Ordering::SeqCst);
    Some(ktest)
}

/// Frees the board and unloads `ktest.sys`.
pub fn unload(ktest: &Ktest) {
    let board = BOARD.swap(0, Ordering::SeqCst);
    // SAFETY: the board the checks allocated, freed once, with its tag.
    unsafe { (kernel().pool_free)(core::ptr::with_exposed_provenance_mut(board), TAG) };
    loader::unload(ktest.index);
}
