// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Stack walking: `IoGetStackLimits`, `RtlCaptureContext`, `RtlLookupFunctionEntry` and
//! `RtlVirtualUnwind`, what a bug-check callback walks the stack with (upstream's
//! `BugCheckStackDump`, xen.sys's dump).
//!
//! * `IoGetStackLimits` answers the running thread's stack: a scheduler thread's own stack
//!   (above its guard page), else the stack its CPU runs on (the boot stack on vCPU 0).
//! * `RtlLookupFunctionEntry` searches the loaded images' exception directories, which the
//!   loader checked (non-empty entries inside the image, in order); the stand-in's own code
//!   has none, so an address there is a leaf to the caller, as code without unwind data is.
//! * `RtlVirtualUnwind` undoes one frame with [`pe_image::virtual_unwind`]. Its rules: the
//!   entry is one `RtlLookupFunctionEntry` gives for that image (a pointer into its mapped
//!   `.pdata`), `ControlPc` lies in the function (the unwind starts there), the outputs are
//!   there (the context pointers, when given, get where each restored register was read
//!   from), and every stack read lies inside the running thread's
//!   stack: Windows would fault on a frame elsewhere, the stand-in ends the run naming the
//!   address. A malformed table in a loaded image ends the run the same way.
//! * `RtlCaptureContext` stores the caller's registers as it returns (`RIP` its return
//!   address, `RSP` above it), the `XMM` registers and `MXCSR`; the entry thunk that recorded
//!   the caller leaves `R10` and `R11` (volatile) changed.
//!
//! All four run at any IRQL.

use crate::arch;
use crate::nt::{loader, sched, verifier};
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::CONTEXT;
use pe_image::virtual_unwind::{self, Registers, UnwindMemory};

/// `CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS | CONTEXT_FLOATING_POINT`.
const CAPTURED: u32 = 0x10_000F;
/// Where `Xmm0` is in `CONTEXT` (`FltSave`'s slot 10: after `Header` and `Legacy`).
const XMM0: usize = offset_of!(CONTEXT, FltSave) + 10 * 16;

/// The running thread's stack, `low..high`.
pub fn current_stack() -> Option<(u64, u64)> {
    let thread = sched::current();
    if arch::cpu_id() == 0
        && let Some((guard, top)) = sched::stack_of(thread)
    {
        return Some((guard.saturating_add(4096), top));
    }
    arch::cpu_stack(arch::cpu_id())
}

/// `VOID IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit)`.
///
/// # Safety
/// Both outputs are writable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn io_get_stack_limits(low: *mut usize, high: *mut usize) {
    let call = verifier::enter("IoGetStackLimits");
    call.require(
        !low.is_null() && !high.is_null(),
        format_args!("LowLimit or HighLimit is NULL"),
    );
    let (l, h) = current_stack().unwrap_or((0, 0));
    // SAFETY: non-NULL, writable by the routine's contract.
    unsafe { low.write_unaligned(usize::try_from(l).unwrap_or(0)) };
    // SAFETY: as above.
    unsafe { high.write_unaligned(usize::try_from(h).unwrap_or(0)) };
}

/// `PRUNTIME_FUNCTION RtlLookupFunctionEntry(DWORD64 ControlPc, PDWORD64 ImageBase,
/// PUNWIND_HISTORY_TABLE HistoryTable)`: the entry covering `ControlPc` in a loaded image, and
/// that image's base; NULL (base 0) elsewhere. The history table is a cache: unused.
///
/// # Safety
/// `image_base` is writable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn rtl_lookup_function_entry(
    control_pc: u64,
    image_base: *mut u64,
    _history: *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("RtlLookupFunctionEntry");
    call.require(!image_base.is_null(), format_args!("ImageBase is NULL"));
    let found = loader::function_entry(control_pc);
    let (base, entry) = found.map_or((0, 0), |(base, entry, _)| (base, entry));
    // SAFETY: non-NULL, writable by the routine's contract.
    unsafe { image_base.write_unaligned(base) };
    core::ptr::with_exposed_provenance_mut(usize::try_from(entry).unwrap_or(0))
}

/// The unwinder's view: the image's bytes, the running thread's stack.
struct Memory {
    base: u64,
    stack: (u64, u64),
}

impl Memory {
    fn on_stack(&self, address: u64, len: u64) -> bool {
        address >= self.stack.0 && address.checked_add(len).is_some_and(|e| e <= self.stack.1)
    }
}

impl UnwindMemory for Memory {
    fn image(&self, rva: u32, out: &mut [u8]) -> bool {
        loader::read_image(self.base, rva, out)
    }

    fn stack_u64(&self, address: u64) -> Option<u64> {
        if !self.on_stack(address, 8) {
            return None;
        }
        let p = core::ptr::with_exposed_provenance::<u64>(usize::try_from(address).ok()?);
        // SAFETY: inside the running thread's stack (checked), mapped and resident.
        Some(unsafe { p.read_unaligned() })
    }

    fn stack_u128(&self, address: u64) -> Option<u128> {
        if !self.on_stack(address, 16) {
            return None;
        }
        let p = core::ptr::with_exposed_provenance::<u128>(usize::try_from(address).ok()?);
        // SAFETY: as above, 16 bytes.
        Some(unsafe { p.read_unaligned() })
    }
}

/// Reads the registers an unwind uses from the `CONTEXT` at `c`.
fn registers_of(c: *const u8) -> Registers {
    let mut r = Registers::default();
    let u64_at = |offset: usize| {
        // SAFETY: `c` is a whole CONTEXT (the caller's contract); `offset` one of its fields.
        unsafe { c.wrapping_add(offset).cast::<u64>().read_unaligned() }
    };
    for (i, g) in r.gpr.iter_mut().enumerate() {
        *g = u64_at(offset_of!(CONTEXT, Rax) + 8 * i);
    }
    for (i, x) in r.xmm.iter_mut().enumerate() {
        // SAFETY: as above, an XMM slot.
        *x = unsafe {
            c.wrapping_add(XMM0 + 16 * i)
                .cast::<u128>()
                .read_unaligned()
        };
    }
    r.rip = u64_at(offset_of!(CONTEXT, Rip));
    r
}

/// Writes `r` back into the `CONTEXT` at `c`.
fn store_registers(c: *mut u8, r: &Registers) {
    for (i, g) in r.gpr.iter().enumerate() {
        // SAFETY: `c` is a whole, writable CONTEXT (the caller's contract).
        unsafe {
            c.wrapping_add(offset_of!(CONTEXT, Rax) + 8 * i)
                .cast::<u64>()
                .write_unaligned(*g);
        };
    }
    for (i, x) in r.xmm.iter().enumerate() {
        // SAFETY: as above, an XMM slot.
        unsafe {
            c.wrapping_add(XMM0 + 16 * i)
                .cast::<u128>()
                .write_unaligned(*x);
        };
    }
    // SAFETY: as above.
    unsafe {
        c.wrapping_add(offset_of!(CONTEXT, Rip))
            .cast::<u64>()
            .write_unaligned(r.rip);
    };
}

/// `PEXCEPTION_ROUTINE RtlVirtualUnwind(DWORD HandlerType, DWORD64 ImageBase, DWORD64
/// ControlPc, PRUNTIME_FUNCTION FunctionEntry, PCONTEXT ContextRecord, PVOID *HandlerData,
/// PDWORD64 EstablisherFrame, PKNONVOLATILE_CONTEXT_POINTERS ContextPointers)`.
///
/// # Safety
/// The routine's contract: `context` a whole, writable `CONTEXT`; the outputs writable (NULL
/// is checked); `function` as `RtlLookupFunctionEntry` gave it (checked).
#[allow(clippy::too_many_arguments)]
pub unsafe extern "win64" fn rtl_virtual_unwind(
    handler_type: u32,
    image_base: u64,
    control_pc: u64,
    function: *mut c_void,
    context: *mut CONTEXT,
    handler_data: *mut *mut c_void,
    establisher_frame: *mut u64,
    context_pointers: *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("RtlVirtualUnwind");
    call.require(
        !context.is_null() && !handler_data.is_null() && !establisher_frame.is_null(),
        format_args!("ContextRecord, HandlerData or EstablisherFrame is NULL"),
    );
    let Some(entry) = loader::entry_at(image_base, function.addr() as u64) else {
        call.fail(format_args!(
            "FunctionEntry {:#x} is not an entry of the exception directory of an image at \
             ImageBase {image_base:#x}",
            function.addr()
        ));
    };
    let Some(stack) = current_stack() else {
        call.fail(format_args!("no stack known for the running thread"));
    };
    let c = context.cast::<u8>();
    let mut registers = registers_of(c);
    // The unwind starts where control left the function (ControlPc), which the caller usually
    // copies from the context's Rip; the unwound Rip is written back either way.
    registers.rip = control_pc;
    let memory = Memory {
        base: image_base,
        stack,
    };
    let unwound = match virtual_unwind::virtual_unwind(&memory, image_base, entry, &mut registers) {
        Ok(u) => u,
        Err(virtual_unwind::UnwindError::Stack(address)) => call.fail(format_args!(
            "unwinding {control_pc:#x} read the stack at {address:#x}, outside the running \
             thread's stack {:#x}..{:#x}",
            stack.0, stack.1
        )),
        Err(e) => call.fail(format_args!(
            "unwinding {control_pc:#x} (function {:#x}..{:#x} of the image at \
             {image_base:#x}) with the stack at {:#x}..{:#x}: {e:?}",
            entry.begin, entry.end, stack.0, stack.1
        )),
    };
    store_registers(c, &registers);
    if !context_pointers.is_null() {
        // KNONVOLATILE_CONTEXT_POINTERS on x64: FloatingContext[16] (PM128A), then
        // IntegerContext[16] (PULONG64); a restored register's slot gets where it came from,
        // the others stay as the caller left them.
        let slots = unwound.xmm_from.iter().chain(unwound.gpr_from.iter());
        for (index, from) in slots.enumerate() {
            if let Some(address) = from {
                let slot = context_pointers.cast::<u64>().wrapping_add(index);
                // SAFETY: the caller's KNONVOLATILE_CONTEXT_POINTERS (non-NULL, writable by
                // the routine's contract), 32 pointers.
                unsafe { slot.write_unaligned(*address) };
            }
        }
    }
    // SAFETY: non-NULL, writable by the routine's contract.
    unsafe { establisher_frame.write_unaligned(unwound.establisher_frame) };
    let handler = unwound
        .handler
        .filter(|&(flags, _, _)| u32::from(flags) & handler_type != 0);
    let (routine, data) = handler.map_or((0, 0), |(_, routine, data)| {
        (
            image_base.saturating_add(u64::from(routine)),
            image_base.saturating_add(u64::from(data)),
        )
    });
    // SAFETY: as above.
    unsafe {
        handler_data.write_unaligned(core::ptr::with_exposed_provenance_mut(
            usize::try_from(data).unwrap_or(0),
        ));
    };
    core::ptr::with_exposed_provenance_mut(usize::try_from(routine).unwrap_or(0))
}

/// `VOID RtlCaptureContext(PCONTEXT ContextRecord)`: the caller's registers as it returns.
#[unsafe(naked)]
pub extern "win64" fn rtl_capture_context(_context: *mut CONTEXT) {
    core::arch::naked_asm!(
        "mov [rcx + {rax}], rax",
        "mov [rcx + {rcx}], rcx",
        "mov [rcx + {rdx}], rdx",
        "mov [rcx + {rbx}], rbx",
        "mov [rcx + {rbp}], rbp",
        "mov [rcx + {rsi}], rsi",
        "mov [rcx + {rdi}], rdi",
        "mov [rcx + {r8}], r8",
        "mov [rcx + {r9}], r9",
        "mov [rcx + {r10}], r10",
        "mov [rcx + {r11}], r11",
        "mov [rcx + {r12}], r12",
        "mov [rcx + {r13}], r13",
        "mov [rcx + {r14}], r14",
        "mov [rcx + {r15}], r15",
        // The caller's RSP once this returns, and where it returns to.
        "lea rax, [rsp + 8]",
        "mov [rcx + {rsp}], rax",
        "mov rax, [rsp]",
        "mov [rcx + {rip}], rax",
        "pushfq",
        "pop rax",
        "mov [rcx + {eflags}], eax",
        "mov ax, cs",
        "mov [rcx + {cs}], ax",
        "mov ax, ds",
        "mov [rcx + {ds}], ax",
        "mov ax, es",
        "mov [rcx + {es}], ax",
        "mov ax, fs",
        "mov [rcx + {fs}], ax",
        "mov ax, gs",
        "mov [rcx + {gs}], ax",
        "mov ax, ss",
        "mov [rcx + {ss}], ax",
        "stmxcsr [rcx + {mxcsr}]",
        "movdqu [rcx + {xmm} + 0x00], xmm0",
        "movdqu [rcx + {xmm} + 0x10], xmm1",
        "movdqu [rcx + {xmm} + 0x20], xmm2",
        "movdqu [rcx + {xmm} + 0x30], xmm3",
        "movdqu [rcx + {xmm} + 0x40], xmm4",
        "movdqu [rcx + {xmm} + 0x50], xmm5",
        "movdqu [rcx + {xmm} + 0x60], xmm6",
        "movdqu [rcx + {xmm} + 0x70], xmm7",
        "movdqu [rcx + {xmm} + 0x80], xmm8",
        "movdqu [rcx + {xmm} + 0x90], xmm9",
        "movdqu [rcx + {xmm} + 0xa0], xmm10",
        "movdqu [rcx + {xmm} + 0xb0], xmm11",
        "movdqu [rcx + {xmm} + 0xc0], xmm12",
        "movdqu [rcx + {xmm} + 0xd0], xmm13",
        "movdqu [rcx + {xmm} + 0xe0], xmm14",
        "movdqu [rcx + {xmm} + 0xf0], xmm15",
        "mov dword ptr [rcx + {flags}], {captured}",
        "mov rax, [rcx + {rax}]",
        "ret",
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
        mxcsr = const offset_of!(CONTEXT, MxCsr),
        xmm = const XMM0,
        flags = const offset_of!(CONTEXT, ContextFlags),
        captured = const CAPTURED,
    )
}
