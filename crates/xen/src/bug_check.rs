// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The bug-check callback: record the crash with Xen, then log what the bug check means.
//!
//! Two halves, both portable: [`plan`] is a pure function from the bug-check code and its four
//! parameters to the [`Step`]s upstream's handler for that code takes, and [`dump`] runs them,
//! formatting every line into a fixed [`Line`] (no allocation: a bug-check callback runs at
//! `HIGH_LEVEL` and may not allocate) and reading memory only through a [`CrashEnvironment`].
//! The Windows glue (`glue::bug_check`) registers the callback and implements the environment
//! with what is safe at `HIGH_LEVEL`: the hypercall, its own register capture, module names
//! from xen.sys's module list, `PsGetProcessImageFileName`, reads of the running thread's
//! stack only, and the kernel's unwinder (`docs/xen-services.md`).
//!
//! # What upstream does (`src/xen/bug_check.c`)
//!
//! `BugCheckBugCheckCallback` (a classic `KeRegisterBugCheckCallback` callback, which Windows
//! runs after the crash dump is written) first issues `SCHEDOP_shutdown_code(SHUTDOWN_crash)`,
//! so that the toolstack sees the domain as crashed when Windows later reboots or stops it, then
//! logs at CRITICAL, every line prefixed `xen|BUGCHECK: `: an opening `====>`, the code's name
//! and four parameters (or `%08X` for a code it does not decode), the code's own lines, a stack
//! dump (registers, then up to 20 frames of four stack words and `module + offset`), and a
//! closing `<====`. The codes it decodes are listed in [`handler`]. Every handler runs under
//! `__try`/`__except`, so a bad pointer in the parameters ends that handler's output.
//!
//! # Where we differ
//!
//! * **No shutdown.** Like upstream we only record the shutdown code; the domain stays up until
//!   Windows itself reboots or halts (after this and the other callbacks), so nothing that runs
//!   after us is cut short and `CrashControl\AutoReboot` keeps its meaning.
//! * **Faults.** Memory is read only where the environment says it is readable: a read that
//!   fails ends the current step (and, for the handler's own strings and IRP, the rest of the
//!   handler, as upstream's `__except` does); the closing line is always written.
//! * **Bounds.** An exception-record chain is followed for at most
//!   [`MAX_EXCEPTION_RECORDS`] records (upstream loops for ever on a cycle); an IRP's stack
//!   locations are its `StackCount` locations, from the first, marking the current one with
//!   `>` (upstream starts at the current location and reads one location past the end); strings
//!   are read up to a line's length.
//! * **The faulting address.** `SYSTEM_THREAD_EXCEPTION_NOT_HANDLED` and `KERNEL_MODE_EXCEPTION_NOT_HANDLED`
//!   outside any known module print the faulting address; upstream passes a NULL name where the
//!   address belongs.
//! * The stack walk works on a copy of a `CONTEXT` found in the parameters (upstream unwinds the
//!   kernel's own record in place).

use core::mem::{offset_of, size_of};

use ntddk::{CONTEXT, EXCEPTION_RECORD, IO_STACK_LOCATION, IRP, UNICODE_STRING};
use xen_headers::sched::SHUTDOWN_CRASH;

use crate::log::{Line, LogArg, SliceLogArgs, format_into};

/// Every line starts with this (upstream's `__MODULE__ "|BUGCHECK: "`).
pub const PREFIX: &[u8] = b"xen|BUGCHECK: ";
/// The shutdown reason recorded before anything is logged.
pub const SHUTDOWN_REASON: u32 = SHUTDOWN_CRASH;
/// Stack frames dumped at most.
pub const MAX_FRAMES: usize = 20;
/// Stack words printed per frame.
pub const FRAME_WORDS: usize = 4;
/// Exception records followed at most along a chain.
pub const MAX_EXCEPTION_RECORDS: usize = 8;
/// IRP stack locations dumped at most.
pub const MAX_IRP_LOCATIONS: usize = 32;
/// Bytes of a string argument read at most (a line cannot show more).
pub const MAX_STRING: usize = crate::log::LINE_SIZE;

/// `IRQL_NOT_LESS_OR_EQUAL`.
pub const IRQL_NOT_LESS_OR_EQUAL: u32 = 0x0A;
/// `DRIVER_IRQL_NOT_LESS_OR_EQUAL`.
pub const DRIVER_IRQL_NOT_LESS_OR_EQUAL: u32 = 0xD1;
/// `SYSTEM_SERVICE_EXCEPTION`.
pub const SYSTEM_SERVICE_EXCEPTION: u32 = 0x3B;
/// `SYSTEM_THREAD_EXCEPTION_NOT_HANDLED`.
pub const SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: u32 = 0x7E;
/// `SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M`.
pub const SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M: u32 = 0x1000_007E;
/// `KERNEL_MODE_EXCEPTION_NOT_HANDLED`.
pub const KERNEL_MODE_EXCEPTION_NOT_HANDLED: u32 = 0x8E;
/// `KERNEL_MODE_EXCEPTION_NOT_HANDLED_M`.
pub const KERNEL_MODE_EXCEPTION_NOT_HANDLED_M: u32 = 0x1000_008E;
/// `CRITICAL_OBJECT_TERMINATION`.
pub const CRITICAL_OBJECT_TERMINATION: u32 = 0xF4;
/// `INACCESSIBLE_BOOT_DEVICE`.
pub const INACCESSIBLE_BOOT_DEVICE: u32 = 0x7B;
/// `DRIVER_POWER_STATE_FAILURE`.
pub const DRIVER_POWER_STATE_FAILURE: u32 = 0x9F;
/// `ASSERTION_FAILURE`: the drivers' own `BUG()` (text, file, line).
pub const ASSERTION_FAILURE: u32 = 0xDEAD;
/// `CRITICAL_PROCESS_DIED`.
pub const CRITICAL_PROCESS_DIED: u32 = 0xEF;

/// The handler upstream runs for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `0x0A`.
    IrqlNotLessOrEqual,
    /// `0xD1`.
    DriverIrqlNotLessOrEqual,
    /// `0x3B`.
    SystemServiceException,
    /// `0x7E`, `0x1000007E`.
    SystemThreadExceptionNotHandled,
    /// `0x8E`, `0x1000008E`.
    KernelModeExceptionNotHandled,
    /// `0xF4`.
    CriticalObjectTermination,
    /// `0x7B`.
    InaccessibleBootDevice,
    /// `0x9F`.
    DriverPowerStateFailure,
    /// `0xDEAD`.
    AssertionFailure,
    /// `0xEF`.
    CriticalProcessDied,
}

/// The name and handler of a code upstream decodes.
#[must_use]
pub const fn handler(code: u32) -> Option<(&'static str, Handler)> {
    Some(match code {
        IRQL_NOT_LESS_OR_EQUAL => ("IRQL_NOT_LESS_OR_EQUAL", Handler::IrqlNotLessOrEqual),
        DRIVER_IRQL_NOT_LESS_OR_EQUAL => (
            "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            Handler::DriverIrqlNotLessOrEqual,
        ),
        SYSTEM_SERVICE_EXCEPTION => ("SYSTEM_SERVICE_EXCEPTION", Handler::SystemServiceException),
        SYSTEM_THREAD_EXCEPTION_NOT_HANDLED => (
            "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
            Handler::SystemThreadExceptionNotHandled,
        ),
        SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M => (
            "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M",
            Handler::SystemThreadExceptionNotHandled,
        ),
        KERNEL_MODE_EXCEPTION_NOT_HANDLED => (
            "KERNEL_MODE_EXCEPTION_NOT_HANDLED",
            Handler::KernelModeExceptionNotHandled,
        ),
        KERNEL_MODE_EXCEPTION_NOT_HANDLED_M => (
            "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M",
            Handler::KernelModeExceptionNotHandled,
        ),
        CRITICAL_OBJECT_TERMINATION => (
            "CRITICAL_OBJECT_TERMINATION",
            Handler::CriticalObjectTermination,
        ),
        INACCESSIBLE_BOOT_DEVICE => ("INACCESSIBLE_BOOT_DEVICE", Handler::InaccessibleBootDevice),
        DRIVER_POWER_STATE_FAILURE => (
            "DRIVER_POWER_STATE_FAILURE",
            Handler::DriverPowerStateFailure,
        ),
        ASSERTION_FAILURE => ("ASSERTION_FAILURE", Handler::AssertionFailure),
        CRITICAL_PROCESS_DIED => ("CRITICAL_PROCESS_DIED", Handler::CriticalProcessDied),
        _ => return None,
    })
}

/// What the callback does before it logs anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `SCHEDOP_shutdown_code(reason)`: the reason the domain's eventual shutdown reports.
    ShutdownCode(u32),
}

/// The callback's action: always `SCHEDOP_shutdown_code(SHUTDOWN_crash)`.
pub const ACTION: Action = Action::ShutdownCode(SHUTDOWN_REASON);

/// One step of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `<NAME>: p1 p2 p3 p4`, or `<CODE>: p1 p2 p3 p4` for a code not decoded.
    Header,
    /// `MEMORY REFERENCED: <p>`.
    MemoryReferenced(u64),
    /// `IRQL: <nn>` (upper-case hex for `0xD1`, as upstream).
    Irql {
        /// The IRQL (the parameter's low byte).
        irql: u8,
        /// Upper-case hex digits.
        upper: bool,
    },
    /// `ACCESS: <p>`.
    Access(u64),
    /// `ADDRESS: <module> + <offset>` or the raw address.
    Address(u64),
    /// `<code> AT <module> + <offset>` or `<code> AT <address>`.
    ExceptionAt {
        /// The exception code.
        code: u32,
        /// Where it happened.
        address: u64,
    },
    /// `- Code = <code>`.
    ExceptionCode(u32),
    /// `Type = <type>`.
    ObjectType(u32),
    /// `Object = <p>`.
    Object(u64),
    /// `Name = <string at p>`.
    ObjectName(u64),
    /// `Reason = <string at p>`.
    Reason(u64),
    /// The `UNICODE_STRING` at the address (the boot device's name).
    BootDevice(u64),
    /// `Code <code>` (the power failure's sub-code, low 32 bits).
    PowerCode(u64),
    /// `OUTSTANDING IRP (Device Object <p>)`.
    OutstandingIrp {
        /// The device object.
        device: u64,
    },
    /// `OUTSTANDING IRP <irp> (Device Object <p>)`, then the IRP's stack locations.
    OutstandingIrpStack {
        /// The IRP.
        irp: u64,
        /// The device object.
        device: u64,
    },
    /// `FILE: <string at file> LINE: <line>`.
    AssertionFile {
        /// The file name's address.
        file: u64,
        /// The line.
        line: u32,
    },
    /// `TEXT: <string at p>`.
    AssertionText(u64),
    /// `CRITICAL PROCESS: <p> Name:<image name> DIED IRQL:<irql>`.
    CriticalProcess(u64),
    /// `CRITICAL THREAD: <p> DIED IRQL:<irql>`.
    CriticalThread(u64),
    /// The exception-record chain starting at the address.
    Exceptions(u64),
    /// Registers and stack walk from the `CONTEXT` at the address.
    ContextStack(u64),
    /// Registers and stack walk from the callback's own context.
    CurrentStack,
}

impl Step {
    /// Whether a fault in this step ends the rest of the handler (upstream's handler-level
    /// `__except`); the dump steps have their own and never do.
    const fn fault_ends_handler(self) -> bool {
        matches!(
            self,
            Self::ObjectName(_)
                | Self::Reason(_)
                | Self::BootDevice(_)
                | Self::OutstandingIrpStack { .. }
                | Self::AssertionFile { .. }
                | Self::AssertionText(_)
        )
    }
}

/// The most steps a handler takes.
const MAX_STEPS: usize = 8;

/// What the callback logs for one bug check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The code (the low 32 bits of `KiBugCheckData[0]`).
    pub code: u32,
    /// The four parameters.
    pub parameters: [u64; 4],
    /// The code's name, if upstream decodes it.
    pub name: Option<&'static str>,
    steps: [Option<Step>; MAX_STEPS],
}

impl Plan {
    /// The steps, in order.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        self.steps.iter().flatten().copied()
    }
}

/// The low 32 bits of a parameter.
const fn low32(value: u64) -> u32 {
    (value & 0xFFFF_FFFF) as u32
}

/// The low 8 bits of a parameter.
const fn low8(value: u64) -> u8 {
    (value & 0xFF) as u8
}

/// The steps upstream's handler takes for `code` with `parameters` (a pure function).
#[must_use]
pub fn plan(code: u32, parameters: [u64; 4]) -> Plan {
    let [p1, p2, p3, p4] = parameters;
    let entry = handler(code);
    let body: &[Step] = match entry.map(|(_, h)| h) {
        Some(Handler::IrqlNotLessOrEqual | Handler::DriverIrqlNotLessOrEqual) => &[
            Step::MemoryReferenced(p1),
            Step::Irql {
                irql: low8(p2),
                upper: code == DRIVER_IRQL_NOT_LESS_OR_EQUAL,
            },
            Step::Access(p3),
            Step::Address(p4),
            Step::CurrentStack,
        ],
        Some(Handler::SystemServiceException) => &[Step::Exceptions(p2), Step::ContextStack(p3)],
        Some(Handler::SystemThreadExceptionNotHandled) => &[
            Step::ExceptionAt {
                code: low32(p1),
                address: p2,
            },
            Step::Exceptions(p3),
            Step::ContextStack(p4),
        ],
        Some(Handler::KernelModeExceptionNotHandled) => &[
            Step::ExceptionAt {
                code: low32(p1),
                address: p2,
            },
            Step::ExceptionCode(low32(p1)),
            Step::CurrentStack,
        ],
        Some(Handler::CriticalObjectTermination) => &[
            Step::ObjectType(low32(p1)),
            Step::Object(p2),
            Step::ObjectName(p3),
            Step::Reason(p4),
            Step::CurrentStack,
        ],
        Some(Handler::InaccessibleBootDevice) => &[Step::BootDevice(p1), Step::CurrentStack],
        Some(Handler::DriverPowerStateFailure) => match p1 {
            1 => &[Step::PowerCode(p1), Step::OutstandingIrp { device: p2 }],
            3 => &[
                Step::PowerCode(p1),
                Step::OutstandingIrpStack {
                    irp: p4,
                    device: p2,
                },
            ],
            _ => &[Step::PowerCode(p1)],
        },
        Some(Handler::AssertionFailure) => &[
            Step::AssertionFile {
                file: p2,
                line: low32(p3),
            },
            Step::AssertionText(p1),
            Step::CurrentStack,
        ],
        Some(Handler::CriticalProcessDied) => match p2 {
            0 => &[Step::CriticalProcess(p1), Step::CurrentStack],
            1 => &[Step::CriticalThread(p1), Step::CurrentStack],
            _ => &[Step::CurrentStack],
        },
        None => &[Step::CurrentStack],
    };
    let mut steps = [None; MAX_STEPS];
    for (slot, step) in steps
        .iter_mut()
        .zip(core::iter::once(&Step::Header).chain(body))
    {
        *slot = Some(*step);
    }
    Plan {
        code,
        parameters,
        name: entry.map(|(n, _)| n),
        steps,
    }
}

/// A `CONTEXT` image: the bytes of one, aligned as the kernel wants it, read and written only
/// at the offsets of [`ntddk::CONTEXT`]'s proven layout.
#[repr(C, align(16))]
#[derive(Clone)]
pub struct ContextRecord {
    /// The raw image.
    pub bytes: [u8; size_of::<CONTEXT>()],
}

impl core::fmt::Debug for ContextRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ContextRecord")
            .field("rip", &self.rip())
            .field("rsp", &self.rsp())
            .finish_non_exhaustive()
    }
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at.wrapping_add(8))
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at.wrapping_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes)
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at.wrapping_add(2))
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, u16::from_le_bytes)
}

impl ContextRecord {
    /// An all-zero record.
    pub const ZERO: Self = Self {
        bytes: [0; size_of::<CONTEXT>()],
    };

    /// A 64-bit field at `offset`.
    #[must_use]
    pub fn u64_at(&self, offset: usize) -> u64 {
        read_u64(&self.bytes, offset)
    }

    /// Sets the 64-bit field at `offset`.
    pub fn set_u64_at(&mut self, offset: usize, value: u64) {
        if let Some(field) = self.bytes.get_mut(offset..offset.wrapping_add(8)) {
            field.copy_from_slice(&value.to_le_bytes());
        }
    }

    /// `Rip`.
    #[must_use]
    pub fn rip(&self) -> u64 {
        self.u64_at(offset_of!(CONTEXT, Rip))
    }

    /// `Rsp`.
    #[must_use]
    pub fn rsp(&self) -> u64 {
        self.u64_at(offset_of!(CONTEXT, Rsp))
    }

    /// Sets `Rip`.
    pub fn set_rip(&mut self, value: u64) {
        self.set_u64_at(offset_of!(CONTEXT, Rip), value);
    }

    /// Sets `Rsp`.
    pub fn set_rsp(&mut self, value: u64) {
        self.set_u64_at(offset_of!(CONTEXT, Rsp), value);
    }
}

/// What the dump needs from the machine at bug-check time (every method is called at
/// `HIGH_LEVEL` with the machine stopped: no locks, no allocation).
pub trait CrashEnvironment {
    /// `SCHEDOP_shutdown_code(reason)`; its failure is not reported (upstream ignores it).
    fn shutdown_code(&self, reason: u32);
    /// Copies `buffer.len()` bytes at virtual `address` if all of them are readable now;
    /// `false` (and `buffer` unspecified) otherwise.
    fn read(&self, address: u64, buffer: &mut [u8]) -> bool;
    /// `ModuleLookup`: the name of the module holding `address` and the offset into it.
    fn module(&self, address: u64) -> Option<(&[u8], u64)>;
    /// `RtlCaptureContext` into `context`.
    fn capture_context(&self, context: &mut ContextRecord);
    /// Unwinds `context` by one frame with the function's unwind data
    /// (`RtlLookupFunctionEntry` + `RtlVirtualUnwind`); `false` when `Rip` has no function entry
    /// (a leaf), leaving `context` alone.
    fn unwind(&self, context: &mut ContextRecord) -> bool;
    /// `PsGetProcessImageFileName` (up to 15 characters), if available.
    fn process_image_name(&self, process: u64) -> Option<[u8; 16]>;
    /// The current IRQL.
    fn current_irql(&self) -> u8;
}

/// A memory read failed: the step ends (and maybe the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fault;

struct Writer<'w> {
    emit: &'w mut dyn FnMut(&[u8]),
}

impl Writer<'_> {
    fn line(&mut self, fmt: &[u8], args: &[LogArg<'_>]) {
        let mut line = Line::from_clamped(PREFIX);
        format_into(&mut line, 0, fmt, &mut SliceLogArgs::new(args));
        (self.emit)(line.as_bytes());
    }

    /// A line ending `<module> + <offset>` (format `with`) or the raw address (`without`).
    fn module_line<E: CrashEnvironment + ?Sized>(
        &mut self,
        env: &E,
        address: u64,
        (with, without): (&[u8], &[u8]),
        lead: &[LogArg<'_>],
    ) {
        let mut args = [LogArg::Int(0); 8];
        let mut n = 0usize;
        for (slot, arg) in args.iter_mut().zip(lead) {
            *slot = *arg;
            n = n.saturating_add(1);
        }
        if let Some((name, offset)) = env.module(address) {
            if let Some(slot) = args.get_mut(n) {
                *slot = LogArg::Str(Some(name));
            }
            if let Some(slot) = args.get_mut(n.saturating_add(1)) {
                *slot = LogArg::Int(offset);
            }
            self.line(with, args.get(..n.saturating_add(2)).unwrap_or_default());
        } else {
            if let Some(slot) = args.get_mut(n) {
                *slot = LogArg::Int(address);
            }
            self.line(without, args.get(..n.saturating_add(1)).unwrap_or_default());
        }
    }
}

/// Reads a NUL-terminated string of at most [`MAX_STRING`] bytes, a page at a time so that a
/// short string before an unmapped page is still read. `Ok(None)` for NULL.
fn read_string<'b, E: CrashEnvironment + ?Sized>(
    env: &E,
    address: u64,
    buffer: &'b mut [u8; MAX_STRING],
) -> Result<Option<&'b [u8]>, Fault> {
    if address == 0 {
        return Ok(None);
    }
    let mut len = 0usize;
    while len < MAX_STRING {
        let at = address
            .checked_add(u64::try_from(len).map_err(|_| Fault)?)
            .ok_or(Fault)?;
        let to_page_end = usize::try_from(0x1000u64.wrapping_sub(at & 0xFFF)).map_err(|_| Fault)?;
        let chunk = to_page_end.min(MAX_STRING.saturating_sub(len));
        let end = len.saturating_add(chunk);
        let dst = buffer.get_mut(len..end).ok_or(Fault)?;
        if !env.read(at, dst) {
            return Err(Fault);
        }
        if let Some(nul) = dst.iter().position(|&b| b == 0) {
            return Ok(buffer.get(..len.saturating_add(nul)));
        }
        len = end;
    }
    Ok(Some(buffer.as_slice()))
}

fn dump_exceptions<E: CrashEnvironment + ?Sized>(env: &E, w: &mut Writer<'_>, mut address: u64) {
    let mut record = [0u8; size_of::<EXCEPTION_RECORD>()];
    for _ in 0..MAX_EXCEPTION_RECORDS {
        if address == 0 || !env.read(address, &mut record) {
            return;
        }
        w.line(b"EXCEPTION (%p):\n", &[LogArg::Int(address)]);
        let code = read_u32(&record, offset_of!(EXCEPTION_RECORD, ExceptionCode));
        let flags = read_u32(&record, offset_of!(EXCEPTION_RECORD, ExceptionFlags));
        let at = read_u64(&record, offset_of!(EXCEPTION_RECORD, ExceptionAddress));
        w.line(b"- Code = %08X\n", &[LogArg::Int(code.into())]);
        w.line(b"- Flags = %08X\n", &[LogArg::Int(flags.into())]);
        w.line(b"- Address = %p\n", &[LogArg::Int(at)]);
        let count = usize::try_from(read_u32(
            &record,
            offset_of!(EXCEPTION_RECORD, NumberParameters),
        ))
        .unwrap_or(usize::MAX)
        .min(ntddk::EXCEPTION_MAXIMUM_PARAMETERS);
        let base = offset_of!(EXCEPTION_RECORD, ExceptionInformation);
        for (index, offset) in
            (0u64..).zip((0..count).map(|i| base.saturating_add(i.saturating_mul(8))))
        {
            w.line(
                b"- Parameter[%u] = %p\n",
                &[LogArg::Int(index), LogArg::Int(read_u64(&record, offset))],
            );
        }
        address = read_u64(&record, offset_of!(EXCEPTION_RECORD, ExceptionRecord));
    }
}

fn dump_context(w: &mut Writer<'_>, address: u64, context: &ContextRecord) {
    w.line(b"CONTEXT (%p):\n", &[LogArg::Int(address)]);
    let segments: [(&[u8], usize); 6] = [
        (b"- GS = %04X\n", offset_of!(CONTEXT, SegGs)),
        (b"- FS = %04X\n", offset_of!(CONTEXT, SegFs)),
        (b"- ES = %04X\n", offset_of!(CONTEXT, SegEs)),
        (b"- DS = %04X\n", offset_of!(CONTEXT, SegDs)),
        (b"- SS = %04X\n", offset_of!(CONTEXT, SegSs)),
        (b"- CS = %04X\n", offset_of!(CONTEXT, SegCs)),
    ];
    for (fmt, offset) in segments {
        w.line(fmt, &[LogArg::Int(read_u16(&context.bytes, offset).into())]);
    }
    w.line(
        b"- EFLAGS = %08X\n",
        &[LogArg::Int(
            read_u32(&context.bytes, offset_of!(CONTEXT, EFlags)).into(),
        )],
    );
    let registers: [(&[u8], usize); 17] = [
        (b"- RDI = %016llX\n", offset_of!(CONTEXT, Rdi)),
        (b"- RSI = %016llX\n", offset_of!(CONTEXT, Rsi)),
        (b"- RBX = %016llX\n", offset_of!(CONTEXT, Rbx)),
        (b"- RDX = %016llX\n", offset_of!(CONTEXT, Rdx)),
        (b"- RCX = %016llX\n", offset_of!(CONTEXT, Rcx)),
        (b"- RAX = %016llX\n", offset_of!(CONTEXT, Rax)),
        (b"- RBP = %016llX\n", offset_of!(CONTEXT, Rbp)),
        (b"- RIP = %016llX\n", offset_of!(CONTEXT, Rip)),
        (b"- RSP = %016llX\n", offset_of!(CONTEXT, Rsp)),
        (b"- R8 = %016llX\n", offset_of!(CONTEXT, R8)),
        (b"- R9 = %016llX\n", offset_of!(CONTEXT, R9)),
        (b"- R10 = %016llX\n", offset_of!(CONTEXT, R10)),
        (b"- R11 = %016llX\n", offset_of!(CONTEXT, R11)),
        (b"- R12 = %016llX\n", offset_of!(CONTEXT, R12)),
        (b"- R13 = %016llX\n", offset_of!(CONTEXT, R13)),
        (b"- R14 = %016llX\n", offset_of!(CONTEXT, R14)),
        (b"- R15 = %016llX\n", offset_of!(CONTEXT, R15)),
    ];
    for (fmt, offset) in registers {
        w.line(fmt, &[LogArg::Int(context.u64_at(offset))]);
    }
}

/// The registers, then up to [`MAX_FRAMES`] frames unwound from `context`.
fn dump_stack<E: CrashEnvironment + ?Sized>(
    env: &E,
    w: &mut Writer<'_>,
    address: u64,
    context: &mut ContextRecord,
) {
    dump_context(w, address, context);
    w.line(b"STACK:\n", &[]);
    for _ in 0..MAX_FRAMES {
        if context.rip() == 0 {
            return;
        }
        if !env.unwind(context) {
            // A leaf without unwind data: its return address is at the top of the stack.
            let rsp = context.rsp();
            let mut ret = [0u8; 8];
            if !env.read(rsp, &mut ret) {
                return;
            }
            context.set_rip(u64::from_le_bytes(ret));
            context.set_rsp(rsp.wrapping_add(8));
        }
        let (rsp, rip) = (context.rsp(), context.rip());
        let mut words = [0u8; FRAME_WORDS * 8];
        if !env.read(rsp, &mut words) {
            return;
        }
        let word = |i: usize| LogArg::Int(read_u64(&words, i.saturating_mul(8)));
        w.module_line(
            env,
            rip,
            (
                b"%016llX: (%016llX %016llX %016llX %016llX) %s + %p\n",
                b"%016llX: (%016llX %016llX %016llX %016llX) %p\n",
            ),
            &[LogArg::Int(rsp), word(0), word(1), word(2), word(3)],
        );
    }
}

fn dump_irp<E: CrashEnvironment + ?Sized>(
    env: &E,
    w: &mut Writer<'_>,
    irp: u64,
) -> Result<(), Fault> {
    let mut header = [0u8; size_of::<IRP>()];
    if !env.read(irp, &mut header) {
        return Err(Fault);
    }
    let count = header
        .get(offset_of!(IRP, StackCount))
        .map_or(0, |&c| usize::from(c.min(0x7F)))
        .min(MAX_IRP_LOCATIONS);
    let current = header
        .get(offset_of!(IRP, CurrentLocation))
        .copied()
        .unwrap_or(0);
    w.line(b"IRP STACK:\n", &[]);
    let first = irp
        .checked_add(u64::try_from(size_of::<IRP>()).map_err(|_| Fault)?)
        .ok_or(Fault)?;
    let stride = u64::try_from(size_of::<IO_STACK_LOCATION>()).map_err(|_| Fault)?;
    let mut location = [0u8; size_of::<IO_STACK_LOCATION>()];
    for index in 1..=count {
        let at = u64::try_from(index.saturating_sub(1))
            .ok()
            .and_then(|i| i.checked_mul(stride))
            .and_then(|o| first.checked_add(o))
            .ok_or(Fault)?;
        if !env.read(at, &mut location) {
            return Err(Fault);
        }
        let marker = if u8::try_from(index).ok() == Some(current) {
            b'>'
        } else {
            b' '
        };
        let lead = [
            LogArg::Int(marker.into()),
            LogArg::Int(u64::try_from(index).unwrap_or(0)),
        ];
        let byte = |o: usize| LogArg::Int(location.get(o).copied().unwrap_or(0).into());
        w.line(
            b"[%c%u] %02x %02x %02x %02x\n",
            &[
                lead[0],
                lead[1],
                byte(offset_of!(IO_STACK_LOCATION, MajorFunction)),
                byte(offset_of!(IO_STACK_LOCATION, MinorFunction)),
                byte(offset_of!(IO_STACK_LOCATION, Flags)),
                byte(offset_of!(IO_STACK_LOCATION, Control)),
            ],
        );
        let routine = read_u64(&location, offset_of!(IO_STACK_LOCATION, CompletionRoutine));
        w.module_line(
            env,
            routine,
            (
                b"[%c%u] CompletionRoutine = %s + %p\n",
                b"[%c%u] CompletionRoutine = %p\n",
            ),
            &lead,
        );
        let context = read_u64(&location, offset_of!(IO_STACK_LOCATION, Context));
        w.line(
            b"[%c%u] Context = %p\n",
            &[lead[0], lead[1], LogArg::Int(context)],
        );
    }
    Ok(())
}

fn dump_unicode<E: CrashEnvironment + ?Sized>(
    env: &E,
    w: &mut Writer<'_>,
    address: u64,
) -> Result<(), Fault> {
    if address == 0 {
        w.line(b"%wZ\n", &[LogArg::UnicodeString(None)]);
        return Ok(());
    }
    let mut header = [0u8; size_of::<UNICODE_STRING>()];
    if !env.read(address, &mut header) {
        return Err(Fault);
    }
    let length = usize::from(read_u16(&header, offset_of!(UNICODE_STRING, Length)));
    let buffer = read_u64(&header, offset_of!(UNICODE_STRING, Buffer));
    let mut bytes = [0u8; MAX_STRING * 2];
    let take = (length & !1).min(bytes.len());
    let dst = bytes.get_mut(..take).ok_or(Fault)?;
    if take > 0 && (buffer == 0 || !env.read(buffer, dst)) {
        return Err(Fault);
    }
    let mut units = [0u16; MAX_STRING];
    for (unit, pair) in units.iter_mut().zip(dst.chunks_exact(2)) {
        *unit = u16::from_le_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ]);
    }
    let units = units.get(..take / 2).unwrap_or_default();
    w.line(b"%wZ\n", &[LogArg::UnicodeString(Some(units))]);
    Ok(())
}

/// The steps that print a string the parameters point to.
fn run_string_step<E: CrashEnvironment + ?Sized>(
    env: &E,
    w: &mut Writer<'_>,
    step: Step,
) -> Result<(), Fault> {
    let mut text = [0u8; MAX_STRING];
    match step {
        Step::ObjectName(a) => {
            let s = read_string(env, a, &mut text)?;
            w.line(b"Name = %s\n", &[LogArg::Str(s)]);
        }
        Step::Reason(a) => {
            let s = read_string(env, a, &mut text)?;
            w.line(b"Reason = %s\n", &[LogArg::Str(s)]);
        }
        Step::AssertionFile { file, line } => {
            let s = read_string(env, file, &mut text)?;
            w.line(
                b"FILE: %s LINE: %u\n",
                &[LogArg::Str(s), LogArg::Int(line.into())],
            );
        }
        Step::AssertionText(a) => {
            let s = read_string(env, a, &mut text)?;
            w.line(b"TEXT: %s\n", &[LogArg::Str(s)]);
        }
        _ => {}
    }
    Ok(())
}

fn run_step<E: CrashEnvironment + ?Sized>(
    env: &E,
    w: &mut Writer<'_>,
    plan: &Plan,
    step: Step,
) -> Result<(), Fault> {
    let [p1, p2, p3, p4] = plan.parameters.map(LogArg::Int);
    match step {
        Step::Header => match plan.name {
            Some(name) => w.line(
                b"%s: %p %p %p %p\n",
                &[LogArg::Str(Some(name.as_bytes())), p1, p2, p3, p4],
            ),
            None => w.line(
                b"%08X: %p %p %p %p\n",
                &[LogArg::Int(plan.code.into()), p1, p2, p3, p4],
            ),
        },
        Step::MemoryReferenced(m) => w.line(b"MEMORY REFERENCED: %p\n", &[LogArg::Int(m)]),
        Step::Irql { irql, upper } => {
            let fmt: &[u8] = if upper {
                b"             IRQL: %02X\n"
            } else {
                b"             IRQL: %02x\n"
            };
            w.line(fmt, &[LogArg::Int(irql.into())]);
        }
        Step::Access(a) => w.line(b"           ACCESS: %p\n", &[LogArg::Int(a)]),
        Step::Address(a) => w.module_line(
            env,
            a,
            (b"          ADDRESS: %s + %p\n", b"          ADDRESS: %p\n"),
            &[],
        ),
        Step::ExceptionAt { code, address } => w.module_line(
            env,
            address,
            (b"%08X AT %s + %p\n", b"%08X AT %p\n"),
            &[LogArg::Int(code.into())],
        ),
        Step::ExceptionCode(code) => w.line(b"- Code = %08X\n", &[LogArg::Int(code.into())]),
        Step::ObjectType(t) => w.line(b"Type = %08X\n", &[LogArg::Int(t.into())]),
        Step::Object(o) => w.line(b"Object = %p\n", &[LogArg::Int(o)]),
        Step::ObjectName(_)
        | Step::Reason(_)
        | Step::AssertionFile { .. }
        | Step::AssertionText(_) => run_string_step(env, w, step)?,
        Step::BootDevice(a) => dump_unicode(env, w, a)?,
        Step::PowerCode(c) => w.line(b"Code %08x\n", &[LogArg::Int(low32(c).into())]),
        Step::OutstandingIrp { device } => w.line(
            b"OUTSTANDING IRP (Device Object %p)\n",
            &[LogArg::Int(device)],
        ),
        Step::OutstandingIrpStack { irp, device } => {
            w.line(
                b"OUTSTANDING IRP %p (Device Object %p)\n",
                &[LogArg::Int(irp), LogArg::Int(device)],
            );
            dump_irp(env, w, irp)?;
        }
        Step::CriticalProcess(process) => {
            let name = env.process_image_name(process);
            let name = name.as_ref().map_or(&b"(unknown)"[..], |n| {
                n.split(|&b| b == 0).next().unwrap_or_default()
            });
            w.line(
                b"CRITICAL PROCESS: %p Name:%s DIED IRQL:%d \n",
                &[
                    LogArg::Int(process),
                    LogArg::Str(Some(name)),
                    LogArg::Int(env.current_irql().into()),
                ],
            );
        }
        Step::CriticalThread(thread) => w.line(
            b"CRITICAL THREAD: %p DIED IRQL:%d \n",
            &[LogArg::Int(thread), LogArg::Int(env.current_irql().into())],
        ),
        Step::Exceptions(a) => dump_exceptions(env, w, a),
        Step::ContextStack(a) => {
            let mut context = ContextRecord::ZERO;
            if a == 0 || !env.read(a, &mut context.bytes) {
                w.line(b"CONTEXT (%p):\n", &[LogArg::Int(a)]);
                return Ok(());
            }
            dump_stack(env, w, a, &mut context);
        }
        Step::CurrentStack => {
            let mut context = ContextRecord::ZERO;
            env.capture_context(&mut context);
            let here = u64::try_from((&raw const context).addr()).unwrap_or(0);
            dump_stack(env, w, here, &mut context);
        }
    }
    Ok(())
}

/// The whole callback for `KiBugCheckData`.
///
/// `data[0]` is the code, `data[1..5]` the parameters. [`ACTION`] comes first, then every line,
/// each passed to `emit` (to be logged at CRITICAL).
pub fn dump<E: CrashEnvironment + ?Sized>(env: &E, data: [u64; 5], emit: &mut dyn FnMut(&[u8])) {
    let Action::ShutdownCode(reason) = ACTION;
    env.shutdown_code(reason);
    let mut w = Writer { emit };
    w.line(b"====>\n", &[]);
    let [code, p1, p2, p3, p4] = data;
    let plan = plan(low32(code), [p1, p2, p3, p4]);
    for step in plan.steps() {
        if run_step(env, &mut w, &plan, step).is_err() && step.fault_ends_handler() {
            break;
        }
    }
    w.line(b"<====\n", &[]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    /// A stopped machine: readable memory runs, modules, a captured context and unwind data
    /// (a map from RIP to the frame it unwinds to).
    #[derive(Default)]
    struct Machine {
        memory: BTreeMap<u64, Vec<u8>>,
        modules: Vec<(u64, u64, &'static [u8])>,
        captured: (u64, u64),
        unwinds: BTreeMap<u64, (u64, u64)>,
        shutdown: Cell<Option<u32>>,
        events: RefCell<Vec<String>>,
        processes: BTreeMap<u64, [u8; 16]>,
    }

    impl Machine {
        fn put(&mut self, address: u64, bytes: &[u8]) {
            self.memory.insert(address, bytes.to_vec());
        }
        fn put_u64s(&mut self, address: u64, words: &[u64]) {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            self.put(address, &bytes);
        }
    }

    impl CrashEnvironment for Machine {
        fn shutdown_code(&self, reason: u32) {
            self.shutdown.set(Some(reason));
            self.events
                .borrow_mut()
                .push(std::format!("shutdown_code({reason})"));
        }
        /// Readable as real memory is: by page. A byte no run covers reads as 0 if a run
        /// touches its page, and faults otherwise.
        fn read(&self, address: u64, buffer: &mut [u8]) -> bool {
            for (i, out) in buffer.iter_mut().enumerate() {
                let Some(a) = address.checked_add(i as u64) else {
                    return false;
                };
                let covered = self
                    .memory
                    .range(..=a)
                    .next_back()
                    .and_then(|(&start, run)| run.get(usize::try_from(a - start).ok()?).copied());
                let page = a & !0xFFF;
                let mapped = self.memory.iter().any(|(&start, run)| {
                    let end = start + run.len() as u64;
                    start < page + 0x1000 && end > page
                });
                match (covered, mapped) {
                    (Some(b), _) => *out = b,
                    (None, true) => *out = 0,
                    (None, false) => return false,
                }
            }
            true
        }
        fn module(&self, address: u64) -> Option<(&[u8], u64)> {
            self.modules
                .iter()
                .find(|(s, e, _)| (*s..=*e).contains(&address))
                .map(|(s, _, n)| (*n, address - s))
        }
        fn capture_context(&self, context: &mut ContextRecord) {
            context.set_rip(self.captured.0);
            context.set_rsp(self.captured.1);
        }
        fn unwind(&self, context: &mut ContextRecord) -> bool {
            match self.unwinds.get(&context.rip()) {
                Some(&(rip, rsp)) => {
                    context.set_rip(rip);
                    context.set_rsp(rsp);
                    true
                }
                None => false,
            }
        }
        fn process_image_name(&self, process: u64) -> Option<[u8; 16]> {
            self.processes.get(&process).copied()
        }
        fn current_irql(&self) -> u8 {
            15
        }
    }

    fn run(machine: &Machine, data: [u64; 5]) -> Vec<String> {
        let mut lines = Vec::new();
        dump(machine, data, &mut |l| {
            assert!(l.starts_with(PREFIX), "{}", l.escape_ascii());
            if machine.events.borrow().len() == 1 {
                machine.events.borrow_mut().push(String::from("first line"));
            }
            lines.push(
                String::from_utf8_lossy(&l[PREFIX.len()..])
                    .trim_end()
                    .into(),
            );
        });
        lines
    }

    fn has(lines: &[String], want: &str) -> bool {
        lines.iter().any(|l| l == want)
    }

    #[test]
    fn every_decoded_code_has_upstreams_name() {
        for (code, name) in [
            (0x0A, "IRQL_NOT_LESS_OR_EQUAL"),
            (0xD1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"),
            (0x3B, "SYSTEM_SERVICE_EXCEPTION"),
            (0x7E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"),
            (0x1000_007E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"),
            (0x8E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"),
            (0x1000_008E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M"),
            (0xF4, "CRITICAL_OBJECT_TERMINATION"),
            (0x7B, "INACCESSIBLE_BOOT_DEVICE"),
            (0x9F, "DRIVER_POWER_STATE_FAILURE"),
            (0xDEAD, "ASSERTION_FAILURE"),
            (0xEF, "CRITICAL_PROCESS_DIED"),
        ] {
            assert_eq!(handler(code).map(|(n, _)| n), Some(name));
            assert_eq!(plan(code, [0; 4]).name, Some(name));
        }
        assert_eq!(handler(0), None);
        assert_eq!(handler(0x1000_000A), None);
    }

    #[test]
    fn plans_decode_the_parameters_as_upstream() {
        let p = plan(0xD1, [0x10, 0x1_02, 1, 0xF000]);
        assert_eq!(
            p.steps().collect::<Vec<_>>(),
            [
                Step::Header,
                Step::MemoryReferenced(0x10),
                Step::Irql {
                    irql: 2,
                    upper: true
                },
                Step::Access(1),
                Step::Address(0xF000),
                Step::CurrentStack
            ]
        );
        assert_eq!(
            plan(0x1000_007E, [0x1_C000_0005, 0xA, 0xB, 0xC])
                .steps()
                .collect::<Vec<_>>(),
            [
                Step::Header,
                Step::ExceptionAt {
                    code: 0xC000_0005,
                    address: 0xA
                },
                Step::Exceptions(0xB),
                Step::ContextStack(0xC)
            ]
        );
        assert_eq!(
            plan(0x3B, [1, 2, 3, 4]).steps().collect::<Vec<_>>(),
            [Step::Header, Step::Exceptions(2), Step::ContextStack(3)]
        );
        assert_eq!(
            plan(0x9F, [3, 0xD, 0, 0x1AA]).steps().collect::<Vec<_>>(),
            [
                Step::Header,
                Step::PowerCode(3),
                Step::OutstandingIrpStack {
                    irp: 0x1AA,
                    device: 0xD
                }
            ]
        );
        assert_eq!(
            plan(0x9F, [2, 0, 0, 0]).steps().collect::<Vec<_>>(),
            [Step::Header, Step::PowerCode(2)],
            "other power sub-codes: no stack, as upstream"
        );
        assert_eq!(
            plan(0xEF, [0x50, 7, 0, 0]).steps().collect::<Vec<_>>(),
            [Step::Header, Step::CurrentStack]
        );
        assert_eq!(
            plan(0xDEAD, [1, 2, 0x1_0000_0033, 4]).steps().nth(1),
            Some(Step::AssertionFile {
                file: 2,
                line: 0x33
            })
        );
    }

    #[test]
    fn unknown_codes_get_the_generic_dump() {
        let p = plan(0x1234_5678, [1, 2, 3, 4]);
        assert_eq!(p.name, None);
        assert_eq!(
            p.steps().collect::<Vec<_>>(),
            [Step::Header, Step::CurrentStack]
        );
        let machine = Machine::default();
        let lines = run(&machine, [0xFFFF_FFFF_1234_5678, 1, 2, 3, 4]);
        assert_eq!(lines[0], "====>");
        assert_eq!(
            lines[1],
            "12345678: 0000000000000001 0000000000000002 0000000000000003 0000000000000004"
        );
        assert!(has(&lines, "STACK:"));
        assert_eq!(lines.last().unwrap(), "<====");
    }

    #[test]
    fn the_crash_is_recorded_before_anything_is_logged() {
        let machine = Machine::default();
        run(&machine, [0x0A, 0, 0, 0, 0]);
        assert_eq!(machine.shutdown.get(), Some(SHUTDOWN_CRASH));
        assert_eq!(*machine.events.borrow(), ["shutdown_code(3)", "first line"]);
        assert_eq!(ACTION, Action::ShutdownCode(3));
    }

    #[test]
    fn irql_fault_names_the_module_and_walks_the_stack() {
        let mut m = Machine {
            modules: vec_of(&[(0xF800_0000, 0xF800_FFFF, &b"xenbus.sys"[..])]),
            captured: (0xF800_1000, 0x9000),
            ..Machine::default()
        };
        // Frame 1: unwind data takes RIP 0xF8001000 to 0xF8002000 with RSP 0x9100.
        m.unwinds.insert(0xF800_1000, (0xF800_2000, 0x9100));
        m.put_u64s(0x9100, &[1, 2, 3, 4, 0xF800_3000]);
        // Frame 2: a leaf (no unwind data): return address at [RSP] = 0x12345, RSP + 8.
        m.put_u64s(0x9108, &[2, 3, 4, 0]);
        let lines = run(&m, [0x0A, 0xDEAD_BEEF, 0x102, 1, 0xF800_0010]);
        assert!(has(&lines, "MEMORY REFERENCED: 00000000DEADBEEF"));
        assert!(has(&lines, "             IRQL: 02"));
        assert!(has(&lines, "           ACCESS: 0000000000000001"));
        assert!(has(
            &lines,
            "          ADDRESS: xenbus.sys + 0000000000000010"
        ));
        assert!(has(&lines, "- RIP = 00000000F8001000"));
        assert!(has(
            &lines,
            "0000000000009100: (0000000000000001 0000000000000002 0000000000000003 \
             0000000000000004) xenbus.sys + 0000000000002000"
        ));
        assert!(has(
            &lines,
            "0000000000009108: (0000000000000002 0000000000000003 0000000000000004 \
             0000000000000000) 0000000000000001"
        ));
    }

    fn vec_of(m: &[(u64, u64, &'static [u8])]) -> Vec<(u64, u64, &'static [u8])> {
        m.to_vec()
    }

    #[test]
    fn the_stack_walk_stops_after_twenty_frames() {
        let mut m = Machine {
            captured: (0x1000, 0x8000),
            ..Machine::default()
        };
        // Every frame unwinds to itself: only the bound ends the walk.
        m.unwinds.insert(0x1000, (0x1000, 0x8000));
        m.put_u64s(0x8000, &[0; 4]);
        let lines = run(&m, [0x99, 0, 0, 0, 0]);
        let frames = lines
            .iter()
            .filter(|l| l.starts_with("0000000000008000:"))
            .count();
        assert_eq!(frames, MAX_FRAMES);
    }

    #[test]
    fn the_stack_walk_stops_at_rip_zero_or_unreadable_stack() {
        let m = Machine::default();
        let lines = run(&m, [0x99, 0, 0, 0, 0]);
        let after = lines.iter().skip_while(|l| *l != "STACK:").count();
        assert_eq!(after, 2, "STACK: then the closing line");
        let m = Machine {
            captured: (0x1000, 0xBAD0_0000),
            ..Machine::default()
        };
        let lines = run(&m, [0x99, 0, 0, 0, 0]);
        assert_eq!(lines.iter().skip_while(|l| *l != "STACK:").count(), 2);
    }

    fn exception_record(code: u32, next: u64, address: u64, params: &[u64], count: u32) -> Vec<u8> {
        let mut r = std::vec![0u8; size_of::<EXCEPTION_RECORD>()];
        r[0..4].copy_from_slice(&code.to_le_bytes());
        r[4..8].copy_from_slice(&1u32.to_le_bytes());
        r[8..16].copy_from_slice(&next.to_le_bytes());
        r[16..24].copy_from_slice(&address.to_le_bytes());
        r[24..28].copy_from_slice(&count.to_le_bytes());
        for (i, p) in params.iter().enumerate() {
            r[32 + 8 * i..40 + 8 * i].copy_from_slice(&p.to_le_bytes());
        }
        r
    }

    #[test]
    fn exception_chains_are_bounded_and_parameters_clamped() {
        let mut m = Machine::default();
        // A record pointing at itself, claiming 1000 parameters.
        m.put(
            0x5000,
            &exception_record(0xC000_0005, 0x5000, 0x7777, &[9; 15], 1000),
        );
        let lines = run(&m, [0x3B, 0, 0x5000, 0, 0]);
        assert_eq!(
            lines
                .iter()
                .filter(|l| *l == "EXCEPTION (0000000000005000):")
                .count(),
            MAX_EXCEPTION_RECORDS
        );
        assert!(has(&lines, "- Code = C0000005"));
        assert!(has(&lines, "- Address = 0000000000007777"));
        assert!(has(&lines, "- Parameter[14] = 0000000000000009"));
        assert!(!lines.iter().any(|l| l.starts_with("- Parameter[15]")));
        // A context that cannot be read prints its header only; the handler still closes.
        assert!(has(&lines, "CONTEXT (0000000000000000):"));
        assert_eq!(lines.last().unwrap(), "<====");
    }

    #[test]
    fn thread_exception_prints_the_address_outside_modules_and_dumps_the_context() {
        let mut m = Machine::default();
        m.put(0x5000, &exception_record(0x8000_0003, 0, 0x4242, &[], 0));
        let mut context = ContextRecord::ZERO;
        context.set_rip(0x4242);
        context.set_rsp(0x8000);
        context.set_u64_at(offset_of!(CONTEXT, R15), 0xF15);
        m.put(0x6000, &context.bytes);
        m.put_u64s(0x8000, &[0x0, 0, 0, 0, 0]);
        let lines = run(&m, [0x7E, 0x8000_0003, 0x4242, 0x5000, 0x6000]);
        assert!(
            has(&lines, "80000003 AT 0000000000004242"),
            "the address, not a NULL name"
        );
        assert!(has(&lines, "CONTEXT (0000000000006000):"));
        assert!(has(&lines, "- R15 = 0000000000000F15"));
        // The leaf frame reads return address 0 at 0x8000: one frame, then RIP 0 ends it.
        assert!(lines.iter().any(|l| l.starts_with("0000000000008008:")));
    }

    #[test]
    fn strings_are_read_safely_and_null_prints_null() {
        let mut m = Machine::default();
        m.put(0x7000, b"csrss.exe\0");
        // A string running to the end of readable memory without a terminator.
        m.put(0x7FF0, b"0123456789ABCDEF");
        let lines = run(&m, [0xF4, 3, 0x1234, 0x7000, 0]);
        assert!(has(&lines, "Type = 00000003"));
        assert!(has(&lines, "Object = 0000000000001234"));
        assert!(has(&lines, "Name = csrss.exe"));
        assert!(has(&lines, "Reason = (null)"));
        assert!(has(&lines, "STACK:"));
        let lines = run(&m, [0xF4, 3, 0x1234, 0x7FF0, 0]);
        assert!(!lines.iter().any(|l| l.starts_with("Name =")));
        assert!(!has(&lines, "STACK:"), "a fault in the handler ends it");
        assert_eq!(lines.last().unwrap(), "<====");
    }

    #[test]
    fn assertion_failure_prints_file_line_and_text() {
        let mut m = Machine::default();
        m.put(0x100, b"Status == 0\0");
        m.put(0x200, b"fdo.c\0");
        let lines = run(&m, [0xDEAD, 0x100, 0x200, 1234, 0]);
        assert!(has(
            &lines,
            "ASSERTION_FAILURE: 0000000000000100 0000000000000200 00000000000004D2 0000000000000000"
        ));
        assert!(has(&lines, "FILE: fdo.c LINE: 1234"));
        assert!(has(&lines, "TEXT: Status == 0"));
    }

    #[test]
    fn long_strings_are_cut_to_a_line() {
        let mut m = Machine::default();
        let mut long = std::vec![b'x'; 5000];
        long.push(0);
        m.put(0x1_0000, &long);
        let lines = run(&m, [0xDEAD, 0x1_0000, 0, 0, 0]);
        let text = lines.iter().find(|l| l.starts_with("TEXT: ")).unwrap();
        assert!(text.len() <= crate::log::LINE_SIZE);
    }

    #[test]
    fn boot_device_name_is_printed_from_its_unicode_string() {
        let mut m = Machine::default();
        let name: Vec<u8> = "\\ArcName\\multi(0)"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        m.put(0x3000, &name);
        let mut us = std::vec![0u8; 16];
        us[0..2].copy_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        us[8..16].copy_from_slice(&0x3000u64.to_le_bytes());
        m.put(0x2000, &us);
        let lines = run(&m, [0x7B, 0x2000, 0, 0, 0]);
        assert!(has(&lines, "\\ArcName\\multi(0)"));
        // A buffer running into an unmapped page: unreadable, the handler ends.
        us[0..2].copy_from_slice(&0x100u16.to_le_bytes());
        us[8..16].copy_from_slice(&0x3FF0u64.to_le_bytes());
        m.put(0x2000, &us);
        let lines = run(&m, [0x7B, 0x2000, 0, 0, 0]);
        assert!(!has(&lines, "STACK:"));
        let lines = run(&m, [0x7B, 0, 0, 0, 0]);
        assert!(has(&lines, "(null)"));
    }

    #[test]
    fn power_failure_dumps_every_irp_stack_location() {
        let mut m = Machine {
            modules: vec_of(&[(0xF000, 0xFFFF, &b"xenvbd.sys"[..])]),
            ..Machine::default()
        };
        let mut irp = std::vec![0u8; size_of::<IRP>()];
        irp[offset_of!(IRP, StackCount)] = 2;
        irp[offset_of!(IRP, CurrentLocation)] = 2;
        let mut bytes = irp;
        for (major, routine, context) in [(0x16u8, 0xF010u64, 0xC1u64), (0x1B, 0x0, 0xC2)] {
            let mut loc = std::vec![0u8; size_of::<IO_STACK_LOCATION>()];
            loc[0] = major;
            loc[1] = 2;
            let r = offset_of!(IO_STACK_LOCATION, CompletionRoutine);
            loc[r..r + 8].copy_from_slice(&routine.to_le_bytes());
            let c = offset_of!(IO_STACK_LOCATION, Context);
            loc[c..c + 8].copy_from_slice(&context.to_le_bytes());
            bytes.extend_from_slice(&loc);
        }
        m.put(0x4000, &bytes);
        let lines = run(&m, [0x9F, 3, 0xD0D0, 0, 0x4000]);
        assert!(has(&lines, "Code 00000003"));
        assert!(has(
            &lines,
            "OUTSTANDING IRP 0000000000004000 (Device Object 000000000000D0D0)"
        ));
        assert!(has(&lines, "[ 1] 16 02 00 00"));
        assert!(has(
            &lines,
            "[ 1] CompletionRoutine = xenvbd.sys + 0000000000000010"
        ));
        assert!(has(&lines, "[ 1] Context = 00000000000000C1"));
        assert!(has(&lines, "[>2] 1b 02 00 00"));
        assert!(has(&lines, "[>2] CompletionRoutine = 0000000000000000"));
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("[ 3]") || l.starts_with("[>3]"))
        );
        // A huge StackCount is bounded.
        let mut big = bytes.clone();
        big[offset_of!(IRP, StackCount)] = 0x7F;
        m.put(0x4000, &big);
        let lines = run(&m, [0x9F, 3, 0xD0D0, 0, 0x4000]);
        assert!(has(&lines, "[>2] Context = 00000000000000C2"));
        let locations = lines.iter().filter(|l| l.contains("] Context = ")).count();
        assert_eq!(locations, MAX_IRP_LOCATIONS);
        assert_eq!(lines.last().unwrap(), "<====");
        // Locations running into an unmapped page end the handler, not the machine.
        // (The IRP at 0x7E00: location 5 starts at 0x7FF0 and crosses into page 0x8000.)
        m.put(0x7E00, &big);
        let lines = run(&m, [0x9F, 3, 0xD0D0, 0, 0x7E00]);
        assert_eq!(
            lines.iter().filter(|l| l.contains("] Context = ")).count(),
            4
        );
        assert!(!has(&lines, "[ 5] 00 00 00 00"));
        assert_eq!(lines.last().unwrap(), "<====");
        // Sub-code 1: the device only.
        let lines = run(&m, [0x9F, 1, 0xD0D0, 0, 0]);
        assert!(has(
            &lines,
            "OUTSTANDING IRP (Device Object 000000000000D0D0)"
        ));
    }

    #[test]
    fn critical_process_names_the_image_or_says_unknown() {
        let mut m = Machine::default();
        let mut name = [0u8; 16];
        name[..9].copy_from_slice(b"csrss.exe");
        m.processes.insert(0xE000, name);
        let lines = run(&m, [0xEF, 0xE000, 0, 0, 0]);
        assert!(has(
            &lines,
            "CRITICAL PROCESS: 000000000000E000 Name:csrss.exe DIED IRQL:15"
        ));
        let lines = run(&m, [0xEF, 0xE001, 0, 0, 0]);
        assert!(has(
            &lines,
            "CRITICAL PROCESS: 000000000000E001 Name:(unknown) DIED IRQL:15"
        ));
        let lines = run(&m, [0xEF, 0x7000, 1, 0, 0]);
        assert!(has(
            &lines,
            "CRITICAL THREAD: 0000000000007000 DIED IRQL:15"
        ));
    }

    #[test]
    fn hostile_parameters_never_panic() {
        let m = Machine {
            captured: (u64::MAX, u64::MAX - 3),
            ..Machine::default()
        };
        for code in [
            0x0A,
            0xD1,
            0x3B,
            0x7E,
            0x1000_007E,
            0x8E,
            0xF4,
            0x7B,
            0x9F,
            0xDEAD,
            0xEF,
            7,
        ] {
            for p in [0, 1, 3, u64::MAX, u64::MAX - 7, 0x8000_0000_0000_0000] {
                let lines = run(&m, [code, p, p, p, p]);
                assert_eq!(lines.last().unwrap(), "<====");
            }
        }
    }
}
