// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The vectored exception handler installed around xen.sys's `DllInitialize`/`DllUnload`.
//!
//! * Port I/O (`in`/`out` with a `dx` or immediate port, `rep outsb`) faults in Wine's
//!   user-mode driver host: it is emulated for a machine WITHOUT the Xen platform device or
//!   debug ports: reads return all ones, writes are recorded, execution resumes after the
//!   instruction.
//! * `mov` to or from `cr8` (the IRQL) is counted and passed on: Wine's ntoskrnl emulates it.
//! * Any other privileged instruction, any other error exception and any call to a Wine stub
//!   is printed with its address and passed on untouched, so a run that stops says where.

use core::ffi::{CStr, c_char, c_void};
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use ntddk::DPFLTR_ERROR_LEVEL;

/// `STATUS_PRIVILEGED_INSTRUCTION`.
const PRIVILEGED_INSTRUCTION: u32 = 0xC000_0096;
/// Wine's `EXCEPTION_WINE_STUB`: a call to an unimplemented routine (information 0 and 1: the
/// module's and the routine's names).
const WINE_STUB: u32 = 0x8000_0100;
/// `EXCEPTION_CONTINUE_EXECUTION`.
const CONTINUE_EXECUTION: i32 = -1;
/// `EXCEPTION_CONTINUE_SEARCH`.
const CONTINUE_SEARCH: i32 = 0;

/// `EXCEPTION_RECORD` (x64).
#[repr(C)]
struct ExceptionRecord {
    code: u32,
    flags: u32,
    record: *mut Self,
    address: *mut c_void,
    parameters: u32,
    information: [usize; 15],
}

/// The start of the x64 `CONTEXT`, up to `Rip` (offsets checked below).
#[repr(C)]
struct Context {
    home: [u64; 6],
    flags: u32,
    mx_csr: u32,
    segments: [u16; 6],
    eflags: u32,
    debug: [u64; 6],
    rax: u64,
    rcx: u64,
    rdx: u64,
    rbx: u64,
    rsp: u64,
    rbp: u64,
    rsi: u64,
    rdi: u64,
    r8_r15: [u64; 8],
    rip: u64,
}

const _: () = {
    assert!(core::mem::offset_of!(Context, eflags) == 0x44);
    assert!(core::mem::offset_of!(Context, rax) == 0x78);
    assert!(core::mem::offset_of!(Context, rsi) == 0xa8);
    assert!(core::mem::offset_of!(Context, rip) == 0xf8);
};

/// `EXCEPTION_POINTERS`.
#[repr(C)]
struct ExceptionPointers {
    record: *mut ExceptionRecord,
    context: *mut Context,
}

type Handler = unsafe extern "system" fn(*mut ExceptionPointers) -> i32;

/// `RtlAddVectoredExceptionHandler`.
type AddHandler = unsafe extern "system" fn(u32, Handler) -> *mut c_void;
/// `RtlRemoveVectoredExceptionHandler`.
type RemoveHandler = unsafe extern "system" fn(*mut c_void) -> u32;

/// What the handler saw.
pub struct Seen {
    /// Reads of port 0x10 (the platform device's magic), 0x12, any other port.
    pub reads: [AtomicU32; 3],
    /// Bytes written to port 0xE9, 0x12, 0x10, any other port.
    pub written: [AtomicU32; 4],
    /// The first bytes written to port 0xE9.
    pub e9_text: [AtomicU8; 128],
    /// `mov` to or from `cr8` passed on to Wine.
    pub cr8: AtomicU32,
    /// Other privileged instructions passed on to Wine.
    pub other_privileged: AtomicU32,
    /// Other error exceptions and Wine stub calls passed on.
    pub other_exceptions: AtomicU32,
}

/// The one record.
pub static SEEN: Seen = Seen {
    reads: [const { AtomicU32::new(0) }; 3],
    written: [const { AtomicU32::new(0) }; 4],
    e9_text: [const { AtomicU8::new(0) }; 128],
    cr8: AtomicU32::new(0),
    other_privileged: AtomicU32::new(0),
    other_exceptions: AtomicU32::new(0),
};

/// The base of the image faults are reported against (xen.sys).
static REPORT_BASE: AtomicUsize = AtomicUsize::new(0);

/// The installed handler.
pub struct Installed {
    handle: *mut c_void,
    remove: RemoveHandler,
}

/// Installs the handler first in line with ntdll's `add` (and `remove` for later); faults are
/// reported relative to `image_base`.
///
/// # Safety
/// `add` and `remove` are ntdll's `RtlAddVectoredExceptionHandler` and
/// `RtlRemoveVectoredExceptionHandler`.
pub unsafe fn install(image_base: usize, add: usize, remove: usize) -> Option<Installed> {
    REPORT_BASE.store(image_base, Ordering::Relaxed);
    // SAFETY: the caller's contract: `add` is that routine.
    let add = unsafe { core::mem::transmute::<usize, AddHandler>(add) };
    // SAFETY: the caller's contract: `remove` is that routine.
    let remove = unsafe { core::mem::transmute::<usize, RemoveHandler>(remove) };
    // SAFETY: `handler` is a static routine of this image, removed by `Installed::remove`
    // before the image can unload.
    let handle = unsafe { add(1, handler) };
    (!handle.is_null()).then_some(Installed { handle, remove })
}

impl Installed {
    /// Removes the handler.
    pub fn remove(self) {
        // SAFETY: the handle `install` got, removed once.
        let _removed = unsafe { (self.remove)(self.handle) };
    }
}

/// The handler.
unsafe extern "system" fn handler(pointers: *mut ExceptionPointers) -> i32 {
    // SAFETY: the dispatcher passes valid pointers for the duration of the call.
    let Some(pointers) = (unsafe { pointers.as_ref() }) else {
        return CONTINUE_SEARCH;
    };
    // SAFETY: as above: the exception record.
    let Some(record) = (unsafe { pointers.record.as_ref() }) else {
        return CONTINUE_SEARCH;
    };
    // SAFETY: as above: the faulting thread's context, ours to change until we return.
    let Some(context) = (unsafe { pointers.context.as_mut() }) else {
        return CONTINUE_SEARCH;
    };
    match record.code {
        PRIVILEGED_INSTRUCTION => privileged(context),
        WINE_STUB => {
            SEEN.other_exceptions.fetch_add(1, Ordering::Relaxed);
            let name = |i: usize| {
                let p = record.information.get(i).copied().unwrap_or(0) as *const c_char;
                if p.is_null() || record.parameters < 2 {
                    return &b"?"[..];
                }
                // SAFETY: Wine passes the module's and routine's NUL-terminated names.
                unsafe { CStr::from_ptr(p) }.to_bytes()
            };
            ntddk::runtime::print_parts(
                DPFLTR_ERROR_LEVEL,
                &[
                    b"wine-test|Wine stub called: ",
                    name(0),
                    b".",
                    name(1),
                    b" (Wine aborts here)\n",
                ],
            );
            crate::driver::report_counts();
            CONTINUE_SEARCH
        }
        code if code >> 30 == 3 => {
            SEEN.other_exceptions.fetch_add(1, Ordering::Relaxed);
            report(b"exception", code, context.rip);
            CONTINUE_SEARCH
        }
        _ => CONTINUE_SEARCH,
    }
}

/// Prints `what` at `rip`, relative to the reported image when inside it.
fn report(what: &[u8], code: u32, rip: u64) {
    let base = REPORT_BASE.load(Ordering::Relaxed);
    let rip = usize::try_from(rip).unwrap_or(0);
    let in_image = crate::pe::image_base(rip) == Some(base) && base != 0;
    let what = core::str::from_utf8(what).unwrap_or("?");
    if in_image {
        ntddk::runtime::print_fmt(
            DPFLTR_ERROR_LEVEL,
            format_args!(
                "wine-test|{what} {code:08x} at xen.sys+{:#x}, passed on to Wine\n",
                rip.wrapping_sub(base)
            ),
        );
    } else {
        ntddk::runtime::print_fmt(
            DPFLTR_ERROR_LEVEL,
            format_args!(
                "wine-test|{what} {code:08x} at {rip:#x} (outside xen.sys), passed on to Wine\n"
            ),
        );
    }
}

/// Byte `i` of the instruction at `rip`.
///
/// # Safety
/// The instruction at `rip` just faulted (so the processor fetched it: it is mapped) and byte
/// `i` lies within it, as the bytes before it show.
unsafe fn code_byte(rip: u64, i: usize) -> u8 {
    let address = usize::try_from(rip).unwrap_or(0).wrapping_add(i);
    // SAFETY: the caller's contract: a byte of a fetched instruction.
    unsafe { core::ptr::read_volatile(address as *const u8) }
}

/// `EFLAGS.DF`.
const DIRECTION_FLAG: u32 = 1 << 10;

/// A privileged-instruction fault: port I/O is emulated, the rest passed on.
fn privileged(context: &mut Context) -> i32 {
    let rip = context.rip;
    // SAFETY: the first byte of the faulting instruction.
    let first = unsafe { code_byte(rip, 0) };
    let (wide16, op_at) = if first == 0x66 { (true, 1) } else { (false, 0) };
    let op = if op_at == 0 {
        first
    } else {
        // SAFETY: an operand-size prefix is followed by the opcode.
        unsafe { code_byte(rip, 1) }
    };
    // SAFETY: read only after a `rep` prefix, which is followed by its opcode.
    let rep_outsb_op = first == 0xF3 && unsafe { code_byte(rip, 1) } == 0x6E;
    let dx = (context.rdx & 0xffff) as u16;
    let width = |byte_op: bool| {
        if byte_op {
            1
        } else if wide16 {
            2
        } else {
            4
        }
    };
    let length = match op {
        0xE4 | 0xE5 => {
            // SAFETY: these opcodes are followed by their immediate port byte.
            let port = unsafe { code_byte(rip, op_at + 1) };
            read_port(context, u16::from(port), width(op == 0xE4));
            op_at + 2
        }
        0xEC | 0xED => {
            read_port(context, dx, width(op == 0xEC));
            op_at + 1
        }
        0xE6 | 0xE7 => {
            // SAFETY: these opcodes are followed by their immediate port byte.
            let port = unsafe { code_byte(rip, op_at + 1) };
            write_port(
                u16::from(port),
                &context.rax.to_le_bytes()[..width(op == 0xE6)],
            );
            op_at + 2
        }
        0xEE | 0xEF => {
            write_port(dx, &context.rax.to_le_bytes()[..width(op == 0xEE)]);
            op_at + 1
        }
        0xF3 if rep_outsb_op && context.eflags & DIRECTION_FLAG == 0 => {
            rep_outsb(context, dx);
            2
        }
        _ => {
            if is_cr8_access(rip, first) {
                SEEN.cr8.fetch_add(1, Ordering::Relaxed);
            } else {
                SEEN.other_privileged.fetch_add(1, Ordering::Relaxed);
                ntddk::runtime::print_fmt(
                    DPFLTR_ERROR_LEVEL,
                    format_args!(
                        "wine-test|privileged instruction starting {first:02x} not emulated\n"
                    ),
                );
                report(b"privileged instruction", PRIVILEGED_INSTRUCTION, rip);
            }
            return CONTINUE_SEARCH;
        }
    };
    context.rip = rip.wrapping_add(length as u64);
    CONTINUE_EXECUTION
}

/// Whether the faulting instruction at `rip`, starting with `first`, is `mov r64, cr8` or
/// `mov cr8, r64`: REX with R set, `0F 20` or `0F 22`, `ModRM` reg field 0.
fn is_cr8_access(rip: u64, first: u8) -> bool {
    if first & 0xf4 != 0x44 {
        return false;
    }
    // SAFETY: a REX prefix is followed by an opcode.
    if unsafe { code_byte(rip, 1) } != 0x0f {
        return false;
    }
    // SAFETY: the `0F` escape is followed by the second opcode byte.
    let second = unsafe { code_byte(rip, 2) };
    // SAFETY: `0F 20` and `0F 22` are followed by their `ModRM` byte.
    (second == 0x20 || second == 0x22) && unsafe { code_byte(rip, 3) } & 0x38 == 0
}

/// An `in` from a port nothing answers: all ones in the low `width` bytes of `rax` (a 32-bit
/// result zero-extends, as the instruction does).
fn read_port(context: &mut Context, port: u16, width: usize) {
    let slot = match port {
        0x10 => 0,
        0x12 => 1,
        _ => 2,
    };
    SEEN.reads[slot].fetch_add(1, Ordering::Relaxed);
    context.rax = match width {
        1 => context.rax | 0xff,
        2 => context.rax | 0xffff,
        _ => 0xffff_ffff,
    };
}

/// An `out`: recorded.
fn write_port(port: u16, data: &[u8]) {
    let slot = match port {
        0xE9 => 0,
        0x12 => 1,
        0x10 => 2,
        _ => 3,
    };
    let before = SEEN.written[slot].fetch_add(
        u32::try_from(data.len()).unwrap_or(u32::MAX),
        Ordering::Relaxed,
    );
    if slot == 0 {
        for (i, &b) in data.iter().enumerate() {
            let at = usize::try_from(before)
                .unwrap_or(usize::MAX)
                .saturating_add(i);
            if let Some(cell) = SEEN.e9_text.get(at) {
                cell.store(b, Ordering::Relaxed);
            }
        }
    }
}

/// `rep outsb` with the direction flag clear: `rcx` bytes from `[rsi]` to port `port`.
fn rep_outsb(context: &mut Context, port: u16) {
    let count = usize::try_from(context.rcx).unwrap_or(0);
    let source = usize::try_from(context.rsi).unwrap_or(0);
    for i in 0..count {
        let Some(address) = source.checked_add(i) else {
            break;
        };
        // SAFETY: the faulting `rep outsb` was about to read these bytes itself.
        let byte = unsafe { core::ptr::read_volatile(address as *const u8) };
        write_port(port, &[byte]);
    }
    context.rsi = context.rsi.wrapping_add(count as u64);
    context.rcx = 0;
}

/// Checks the emulation on port 0x80 (POST codes; nothing of xen.sys's) with the instructions
/// ntddk's port routines use, then clears the record. Run with the handler installed.
pub fn self_test() -> bool {
    // SAFETY: emulated by our handler (nothing reaches hardware in Wine's user-mode host).
    let byte = unsafe { ntddk::port::inb(0x80) };
    // SAFETY: as above.
    let word = unsafe { ntddk::port::inw(0x80) };
    // SAFETY: as above.
    unsafe { ntddk::port::outb(0x80, 0x5a) };
    // SAFETY: as above.
    unsafe { ntddk::port::outw(0x80, 0x5a5a) };
    // SAFETY: as above.
    unsafe { ntddk::port::outl(0x80, 0x5a5a_5a5a) };
    let ok = byte == 0xff
        && word == 0xffff
        && SEEN.reads[2].load(Ordering::Relaxed) == 2
        && SEEN.written[3].load(Ordering::Relaxed) == 7;
    SEEN.reads[2].store(0, Ordering::Relaxed);
    SEEN.written[3].store(0, Ordering::Relaxed);
    ok
}

/// The first bytes written to port 0xE9, as recorded.
pub fn e9_text(out: &mut [u8; 128]) -> usize {
    let n = usize::try_from(SEEN.written[0].load(Ordering::Relaxed))
        .unwrap_or(usize::MAX)
        .min(out.len());
    for (slot, cell) in out.iter_mut().zip(&SEEN.e9_text).take(n) {
        *slot = cell.load(Ordering::Relaxed);
    }
    n
}
