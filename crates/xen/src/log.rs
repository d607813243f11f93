// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The xen.sys log: levels, the slot ring, dispositions (sinks), `DbgPrint` capture and the
//! mirrors to the Xen and QEMU consoles.
//!
//! Upstream's model (`src/xen/log.c`), kept here as a portable value type, [`Log`]:
//!
//! * A line is formatted into one of [`SLOT_COUNT`] slots of [`LINE_SIZE`] bytes, tagged with
//!   its [`Level`]. `LogPrintf` fills a slot and flushes at once; the `DbgPrint` callback only
//!   queues the slot ([`Log::capture`]) and the caller flushes from a DPC. When all slots are
//!   pending, the ring is flushed before a new one is taken.
//! * Flushing hands each pending line, in order, to every disposition whose mask shares a bit
//!   with the line's level, then clears the slot. Up to [`DISPOSITION_COUNT`] dispositions; a
//!   mask of [`Level::NONE`] adds nothing and succeeds.
//! * xen.sys's own dispositions write to I/O port `0xE9` (the Xen debug console; mask from
//!   `Parameters\XenLogLevel`, default [`DEFAULT_XEN_LOG_LEVEL`]) and port `0x12` (QEMU's log;
//!   mask `QemuLogLevel`, default [`DEFAULT_QEMU_LOG_LEVEL`]); see [`PortSink`]. xenbus adds
//!   its console sink; [`ConsoleSink`] mirrors to the Xen console through a [`ConsoleWrite`]
//!   implementation, [`XenConsole`] being the `console_io` hypercall one.
//! * `DbgPrint` capture (unless `XEN:DBG_PRINT=OFF`, see [`crate::options::dbg_print`]) keeps,
//!   in free builds, only strings of at least four bytes that start with lower-case `xen`: the
//!   Xen drivers' `module|function: ` prefix. (Upstream's README says "XEN"; the code, which we
//!   follow, says `xen`.)
//!
//! The caller provides the locking (upstream: one `HIGH_LEVEL` spin lock around every method
//! here), so sinks run with that lock held and must not log themselves.
//!
//! # Decisions on upstream behaviour
//!
//! * **A1, the 256-byte overflow.** Upstream copies the whole `DbgPrint` string (up to 64 KiB)
//!   into a 256-byte slot. [`Log::capture`] keeps the first [`LINE_SIZE`] bytes, which is all
//!   that a sink could see of a formatted line anyway.
//! * **`DbgPrint` levels above 31.** Upstream shifts `1 << Level`, undefined for such values.
//!   `DbgPrintEx` treats a level above 31 as a mask, so [`level_for_dbg_print`] does the same.
//! * **Stale disposition handles.** Upstream's handle is the address of a table entry, so
//!   removing a handle twice removes whichever sink reused the entry. Our
//!   [`DispositionHandle`] carries a generation and a stale one removes nothing.
//! * **Sinks get a terminated copy.** Upstream passes the slot itself, unterminated when it is
//!   full; the C ABI adapter passes a NUL-terminated copy (the length is unchanged), so a sink
//!   that treats the buffer as a C string cannot run past it.
//! * The formatter's own decisions are in [`format`].

pub mod format;

use bitflags::bitflags;
use platform_port::PortIo;

pub use self::format::{LINE_SIZE, Line, LogArg, LogArgs, SliceLogArgs, VaLogArgs, format_into};
use crate::unplug;

bitflags! {
    /// `LOG_LEVEL`: a mask of message levels. The values are `1 << DPFLTR_*_LEVEL` so that a
    /// captured `DbgPrint` at level n lands on bit n. Unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Level: u32 {
        /// `LOG_LEVEL_ERROR` (`DPFLTR_ERROR_LEVEL` 0).
        const ERROR = 1 << 0;
        /// `LOG_LEVEL_WARNING` (`DPFLTR_WARNING_LEVEL` 1).
        const WARNING = 1 << 1;
        /// `LOG_LEVEL_TRACE` (`DPFLTR_TRACE_LEVEL` 2).
        const TRACE = 1 << 2;
        /// `LOG_LEVEL_INFO` (`DPFLTR_INFO_LEVEL` 3).
        const INFO = 1 << 3;
        /// `LOG_LEVEL_CRITICAL`.
        const CRITICAL = 0x8000_0000;
        // Children may pass any bits; keep them.
        const _ = !0;
    }
}

impl Level {
    /// `LOG_LEVEL_NONE`.
    pub const NONE: Self = Self::empty();
}

/// Number of slots in the ring (upstream `LOG_NR_SLOTS`).
pub const SLOT_COUNT: usize = 32;
/// Number of dispositions (upstream `LOG_NR_DISPOSITIONS`).
pub const DISPOSITION_COUNT: usize = 8;
/// The mask of the port-`0xE9` sink when `XenLogLevel` is missing or unreadable.
pub const DEFAULT_XEN_LOG_LEVEL: Level = Level::CRITICAL;
/// The mask of the port-`0x12` sink when `QemuLogLevel` is missing or unreadable.
pub const DEFAULT_QEMU_LOG_LEVEL: Level = Level::INFO
    .union(Level::WARNING)
    .union(Level::ERROR)
    .union(Level::CRITICAL);
/// The Xen HVM debug console port.
pub const XEN_DEBUG_PORT: u16 = 0xE9;
/// QEMU's platform-device log port.
pub const QEMU_LOG_PORT: u16 = unplug::PORT_VERSION;

/// The level names `LogReadLogLevel` accepts, case-insensitively.
pub const LEVEL_NAMES: [(&str, Level); 5] = [
    ("TRACE", Level::TRACE),
    ("INFO", Level::INFO),
    ("WARNING", Level::WARNING),
    ("ERROR", Level::ERROR),
    ("CRITICAL", Level::CRITICAL),
];

/// The level a name stands for (exact name, ASCII case-insensitive), if any.
#[must_use]
pub fn level_from_name(name: &[u8]) -> Option<Level> {
    LEVEL_NAMES
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(_, level)| level)
}

/// The union of the levels named in a `REG_MULTI_SZ` (already narrowed to bytes).
///
/// Strings are NUL-separated and the list ends at the first empty string, as upstream's
/// conversion reads it. Unknown names are ignored.
#[must_use]
pub fn level_from_multi_sz(data: &[u8]) -> Level {
    data.split(|&b| b == 0)
        .take_while(|s| !s.is_empty())
        .filter_map(level_from_name)
        .fold(Level::NONE, Level::union)
}

/// A registry value as `LogReadLogLevel` finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredLevel<'a> {
    /// The value does not exist.
    Missing,
    /// A `REG_MULTI_SZ`, narrowed to bytes.
    MultiSz(&'a [u8]),
    /// A `REG_SZ`, `REG_DWORD` or anything else that is not a `REG_MULTI_SZ`.
    NotMultiSz,
    /// The read failed with this NTSTATUS.
    Unreadable(i32),
}

/// Why `LogReadLogLevel` failed (the level reported alongside is [`Level::NONE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelError {
    /// The value is missing (`STATUS_OBJECT_NAME_NOT_FOUND`; upstream does not log this).
    NotFound,
    /// The value is not a `REG_MULTI_SZ` (`STATUS_INVALID_PARAMETER`).
    NotMultiSz,
    /// The read failed with this NTSTATUS.
    Os(i32),
}

/// `LogReadLogLevel`: the mask a level value names.
///
/// # Errors
/// [`LevelError`] when the value is missing, of another type or unreadable.
pub fn read_log_level(value: StoredLevel<'_>) -> Result<Level, LevelError> {
    match value {
        StoredLevel::Missing => Err(LevelError::NotFound),
        StoredLevel::NotMultiSz => Err(LevelError::NotMultiSz),
        StoredLevel::Unreadable(status) => Err(LevelError::Os(status)),
        StoredLevel::MultiSz(data) => Ok(level_from_multi_sz(data)),
    }
}

/// The mask a built-in sink uses: the value read, or `default` if the read failed (xen.sys's
/// `DllInitialize`).
#[must_use]
pub fn effective_level(read: Result<Level, LevelError>, default: Level) -> Level {
    read.unwrap_or(default)
}

/// The level a captured `DbgPrint` line gets: `1 << level` for the `DPFLTR_*_LEVEL` numbers
/// 0 to 31; a larger value is already a mask (the `DbgPrintEx` convention).
#[must_use]
pub const fn level_for_dbg_print(level: u32) -> Level {
    match 1u32.checked_shl(level) {
        Some(bit) => Level::from_bits_retain(bit),
        None => Level::from_bits_retain(level),
    }
}

/// Which `DbgPrint` lines [`Log::capture`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFilter {
    /// Free builds: only lines of at least four bytes starting with `xen`.
    XenPrefix,
    /// Checked builds: every non-empty line.
    Everything,
}

impl CaptureFilter {
    /// Whether this filter keeps `text`.
    #[must_use]
    pub fn keeps(self, text: &[u8]) -> bool {
        match self {
            Self::Everything => !text.is_empty(),
            // Upstream: `Length < sizeof ("xen")` rejects, so "xen" alone is dropped.
            Self::XenPrefix => text.len() >= 4 && text.starts_with(b"xen"),
        }
    }
}

/// Where flushed lines go.
pub trait Sink {
    /// Writes one line (at most [`LINE_SIZE`] bytes, no terminator) of level `level`.
    fn write(&mut self, level: Level, text: &[u8]);
}

/// Writes to the Xen console; implemented over the `console_io` hypercall (`CONSOLEIO_write`).
pub trait ConsoleWrite {
    /// Writes `bytes` to the console; failures are ignored (there is nowhere to report them).
    fn console_write(&self, bytes: &[u8]);
}

/// A [`Sink`] that mirrors lines to the Xen console.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSink<C>(pub C);

impl<C: ConsoleWrite> Sink for ConsoleSink<C> {
    fn write(&mut self, _level: Level, text: &[u8]) {
        self.0.console_write(text);
    }
}

/// The Xen console through the `console_io` hypercall ([`crate::console::write`]); a failed
/// write is dropped (a sink has nowhere to report it, and must not log).
#[derive(Debug, Clone, Copy)]
pub struct XenConsole<'h, H: ?Sized>(pub &'h H);

impl<H: crate::hypercall::Hypervisor + ?Sized> ConsoleWrite for XenConsole<'_, H> {
    fn console_write(&self, bytes: &[u8]) {
        let _dropped = crate::console::write(self.0, bytes);
    }
}

/// A [`Sink`] writing each byte to an I/O port (upstream's `rep outsb` disposition).
#[derive(Debug, Clone, Copy)]
pub struct PortSink<'p, P: ?Sized> {
    io: &'p P,
    port: u16,
}

impl<'p, P: PortIo + ?Sized> PortSink<'p, P> {
    /// The Xen debug console, port `0xE9`.
    pub const fn xen_debug(io: &'p P) -> Self {
        Self {
            io,
            port: XEN_DEBUG_PORT,
        }
    }

    /// QEMU's log port `0x12`, only if the platform device answers with its magic: the
    /// unplug protocol allows the log port only after a magic check, which upstream skips (A3).
    pub fn qemu(io: &'p P) -> Option<Self> {
        unplug::platform_device_present(io).then_some(Self {
            io,
            port: QEMU_LOG_PORT,
        })
    }

    /// The port written to.
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }
}

impl<P: PortIo + ?Sized> Sink for PortSink<'_, P> {
    fn write(&mut self, _level: Level, text: &[u8]) {
        for &b in text {
            self.io.outb(self.port, b);
        }
    }
}

/// A handle to a disposition, for [`Log::remove_disposition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DispositionHandle {
    index: u8,
    generation: u32,
}

/// Generations use 24 bits so that a handle fits in 32 bits.
const GENERATION_MASK: u32 = 0x00ff_ffff;

impl DispositionHandle {
    /// A non-zero value identifying this handle (the C ABI hands it out as an opaque pointer).
    #[must_use]
    pub const fn to_raw(self) -> u32 {
        (self.generation << 8) | (self.index as u32).wrapping_add(1)
    }

    /// The handle `raw` stands for, if it could be one (0 is none).
    #[must_use]
    pub fn from_raw(raw: usize) -> Option<Self> {
        let raw = u32::try_from(raw).ok()?;
        let index = u8::try_from(raw & 0xff).ok()?.checked_sub(1)?;
        Some(Self {
            index,
            generation: raw >> 8,
        })
    }
}

/// Why [`Log::add_disposition`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogError {
    /// All [`DISPOSITION_COUNT`] entries are taken (`STATUS_UNSUCCESSFUL`).
    TableFull,
}

#[derive(Debug, Clone)]
struct Slot {
    level: Level,
    line: Line,
}

impl Slot {
    const EMPTY: Self = Self {
        level: Level::NONE,
        line: Line::EMPTY,
    };
}

#[derive(Debug, Clone)]
struct Disposition<S> {
    mask: Level,
    sink: S,
    generation: u32,
}

/// The log: slot ring plus disposition table (upstream `LOG_CONTEXT`).
#[derive(Debug, Clone)]
pub struct Log<S> {
    slots: [Slot; SLOT_COUNT],
    pending: usize,
    dispositions: [Option<Disposition<S>>; DISPOSITION_COUNT],
    generation: u32,
}

impl<S> Default for Log<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Log<S> {
    /// An empty log with no dispositions.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: [const { Slot::EMPTY }; SLOT_COUNT],
            pending: 0,
            dispositions: [const { None }; DISPOSITION_COUNT],
            generation: 0,
        }
    }

    /// Empties the log in place: no pending lines, no dispositions (`LogTeardown`). In place
    /// because a log is larger than a page: a kernel stack must never hold a copy of it.
    pub fn clear(&mut self) {
        for slot in &mut self.slots {
            *slot = Slot::EMPTY;
        }
        self.pending = 0;
        for disposition in &mut self.dispositions {
            *disposition = None;
        }
        self.generation = 0;
    }

    /// Number of lines waiting for a flush.
    #[must_use]
    pub const fn pending(&self) -> usize {
        self.pending
    }

    /// Number of dispositions in use.
    #[must_use]
    pub fn disposition_count(&self) -> usize {
        self.dispositions.iter().flatten().count()
    }

    /// `LogAddDisposition`: routes lines whose level shares a bit with `mask` to `sink`.
    /// A mask of [`Level::NONE`] adds nothing and returns `Ok(None)`.
    ///
    /// # Errors
    /// [`LogError::TableFull`] when all entries are in use (`sink` is dropped).
    pub fn add_disposition(
        &mut self,
        mask: Level,
        sink: S,
    ) -> Result<Option<DispositionHandle>, LogError> {
        if mask.is_empty() {
            return Ok(None);
        }
        let (index, entry) = self
            .dispositions
            .iter_mut()
            .enumerate()
            .find(|(_, d)| d.is_none())
            .ok_or(LogError::TableFull)?;
        self.generation = self.generation.wrapping_add(1) & GENERATION_MASK;
        let generation = self.generation;
        *entry = Some(Disposition {
            mask,
            sink,
            generation,
        });
        Ok(Some(DispositionHandle {
            index: u8::try_from(index).map_err(|_| LogError::TableFull)?,
            generation,
        }))
    }

    /// `LogRemoveDisposition`: removes the disposition and returns its sink. `None`, or a
    /// handle whose disposition is already gone, removes nothing.
    pub fn remove_disposition(&mut self, handle: Option<DispositionHandle>) -> Option<S> {
        let handle = handle?;
        let entry = self.dispositions.get_mut(usize::from(handle.index))?;
        if entry.as_ref()?.generation != handle.generation {
            return None;
        }
        entry.take().map(|d| d.sink)
    }
}

impl<S: Sink> Log<S> {
    /// Hands every pending line, oldest first, to each disposition whose mask matches its
    /// level, then clears the slots (upstream `LogFlush`, also what the capture DPC runs).
    pub fn flush(&mut self) {
        let pending = self.pending;
        for slot in self.slots.iter_mut().take(pending) {
            for d in self.dispositions.iter_mut().flatten() {
                if d.mask.intersects(slot.level) {
                    d.sink.write(slot.level, slot.line.as_bytes());
                }
            }
            slot.line.clear();
            slot.level = Level::NONE;
        }
        self.pending = 0;
    }

    /// The next free slot, flushing first if all are pending.
    fn take_slot(&mut self) -> Option<&mut Slot> {
        if self.pending >= SLOT_COUNT {
            self.flush();
        }
        let slot = self.slots.get_mut(self.pending)?;
        self.pending = self.pending.saturating_add(1);
        Some(slot)
    }

    /// `LogCchVPrintf`: formats a line of `level` (upstream's formatter, `count` items; 0 = no
    /// limit) and flushes the whole ring.
    pub fn printf<'a, A: LogArgs<'a> + ?Sized>(
        &mut self,
        level: Level,
        count: u32,
        fmt: &[u8],
        args: &mut A,
    ) {
        if let Some(slot) = self.take_slot() {
            slot.level = level;
            slot.line.clear();
            format_into(&mut slot.line, count, fmt, args);
        }
        self.flush();
    }

    /// Logs an already formatted line (clamped to [`LINE_SIZE`]) and flushes.
    pub fn write_line(&mut self, level: Level, text: &[u8]) {
        if let Some(slot) = self.take_slot() {
            slot.level = level;
            slot.line = Line::from_clamped(text);
        }
        self.flush();
    }

    /// The `DbgPrint` callback: queues `text` (clamped to [`LINE_SIZE`]) if `filter` keeps it.
    ///
    /// The line's level is [`level_for_dbg_print`] of `dbg_level`. Returns true when a line was
    /// queued: the caller then schedules a [`Log::flush`] (upstream queues a DPC).
    pub fn capture(&mut self, text: &[u8], dbg_level: u32, filter: CaptureFilter) -> bool {
        if text.is_empty() || !filter.keeps(text) {
            return false;
        }
        let Some(slot) = self.take_slot() else {
            return false;
        };
        slot.level = level_for_dbg_print(dbg_level);
        slot.line = Line::from_clamped(text);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use std::rc::Rc;
    use std::vec::Vec;

    type Lines = Rc<RefCell<Vec<(Level, Vec<u8>)>>>;

    #[derive(Clone, Default)]
    struct Recorder(Lines);

    impl Sink for Recorder {
        fn write(&mut self, level: Level, text: &[u8]) {
            self.0.borrow_mut().push((level, text.to_vec()));
        }
    }

    impl Recorder {
        fn texts(&self) -> Vec<Vec<u8>> {
            self.0.borrow().iter().map(|(_, t)| t.clone()).collect()
        }
    }

    fn log_with(mask: Level) -> (Log<Recorder>, Recorder) {
        let mut log = Log::new();
        let r = Recorder::default();
        log.add_disposition(mask, r.clone()).unwrap().unwrap();
        (log, r)
    }

    #[test]
    fn level_values_are_upstreams() {
        assert_eq!(Level::NONE.bits(), 0);
        assert_eq!(Level::TRACE.bits(), 4);
        assert_eq!(Level::INFO.bits(), 8);
        assert_eq!(Level::WARNING.bits(), 2);
        assert_eq!(Level::ERROR.bits(), 1);
        assert_eq!(Level::CRITICAL.bits(), 0x8000_0000);
        assert_eq!(DEFAULT_QEMU_LOG_LEVEL.bits(), 0x8000_000B);
        assert_eq!(DEFAULT_XEN_LOG_LEVEL.bits(), 0x8000_0000);
        assert_eq!(Level::from_bits_retain(0x30).bits(), 0x30);
    }

    #[test]
    fn level_names_are_case_insensitive_and_exact() {
        assert_eq!(
            level_from_multi_sz(b"error\0Critical\0\0"),
            Level::from_bits_retain(0x8000_0001)
        );
        assert_eq!(level_from_name(b"wArNiNg"), Some(Level::WARNING));
        assert_eq!(level_from_name(b"WARN"), None);
        assert_eq!(level_from_name(b"INFO "), None);
        assert_eq!(level_from_name(b""), None);
        assert_eq!(
            level_from_multi_sz(b"TRACE\0bogus\0INFO"),
            Level::TRACE | Level::INFO
        );
        // The list ends at the first empty string.
        assert_eq!(level_from_multi_sz(b"ERROR\0\0INFO\0\0"), Level::ERROR);
        assert_eq!(level_from_multi_sz(b""), Level::NONE);
        assert_eq!(level_from_multi_sz(b"\0ERROR"), Level::NONE);
    }

    #[test]
    fn read_log_level_errors_and_defaults() {
        assert_eq!(
            read_log_level(StoredLevel::Missing),
            Err(LevelError::NotFound)
        );
        assert_eq!(
            read_log_level(StoredLevel::NotMultiSz),
            Err(LevelError::NotMultiSz)
        );
        assert_eq!(
            read_log_level(StoredLevel::Unreadable(-5)),
            Err(LevelError::Os(-5))
        );
        assert_eq!(
            read_log_level(StoredLevel::MultiSz(b"INFO\0")),
            Ok(Level::INFO)
        );
        // A REG_SZ falls back to the default.
        assert_eq!(
            effective_level(
                read_log_level(StoredLevel::NotMultiSz),
                DEFAULT_XEN_LOG_LEVEL
            ),
            Level::CRITICAL
        );
        assert_eq!(
            effective_level(read_log_level(StoredLevel::Missing), DEFAULT_QEMU_LOG_LEVEL).bits(),
            0x8000_000B
        );
        // An empty multi-sz is a successful read of NONE: no sink at all.
        assert_eq!(
            effective_level(
                read_log_level(StoredLevel::MultiSz(b"\0")),
                DEFAULT_XEN_LOG_LEVEL
            ),
            Level::NONE
        );
    }

    #[test]
    fn dbg_print_levels() {
        assert_eq!(level_for_dbg_print(0), Level::ERROR);
        assert_eq!(level_for_dbg_print(1), Level::WARNING);
        assert_eq!(level_for_dbg_print(2), Level::TRACE);
        assert_eq!(level_for_dbg_print(3), Level::INFO);
        assert_eq!(level_for_dbg_print(31), Level::CRITICAL);
        assert_eq!(level_for_dbg_print(32).bits(), 32);
        assert_eq!(level_for_dbg_print(0x8000_0001).bits(), 0x8000_0001);
    }

    #[test]
    fn a_line_reaches_sinks_iff_level_and_mask_intersect() {
        let mut log = Log::new();
        let crit = Recorder::default();
        let info = Recorder::default();
        log.add_disposition(Level::CRITICAL, crit.clone()).unwrap();
        log.add_disposition(DEFAULT_QEMU_LOG_LEVEL, info.clone())
            .unwrap();
        log.write_line(Level::INFO, b"info\n");
        log.write_line(Level::CRITICAL, b"crit\n");
        log.write_line(Level::TRACE, b"trace\n");
        log.write_line(Level::NONE, b"none\n");
        log.write_line(Level::from_bits_retain(0x8000_0004), b"both\n");
        assert_eq!(crit.texts(), [&b"crit\n"[..], b"both\n"]);
        assert_eq!(info.texts(), [&b"info\n"[..], b"crit\n", b"both\n"]);
        assert_eq!(log.pending(), 0);
    }

    #[test]
    fn printf_formats_and_flushes() {
        let (mut log, r) = log_with(Level::INFO);
        log.printf(
            Level::INFO,
            256,
            b"xen|%s: %u\n",
            &mut SliceLogArgs::new(&[LogArg::Str(Some(b"Fn")), LogArg::Int(42)]),
        );
        assert_eq!(r.texts(), [b"xen|Fn: 42\n"]);
        assert_eq!(r.0.borrow()[0].0, Level::INFO);
    }

    #[test]
    fn none_mask_adds_nothing_and_succeeds() {
        let mut log: Log<Recorder> = Log::new();
        assert_eq!(
            log.add_disposition(Level::NONE, Recorder::default()),
            Ok(None)
        );
        assert_eq!(log.disposition_count(), 0);
        assert_eq!(log.remove_disposition(None).map(|_| ()), None);
    }

    #[test]
    fn table_holds_eight_and_then_fails() {
        let mut log: Log<Recorder> = Log::new();
        let mut handles = Vec::new();
        for _ in 0..DISPOSITION_COUNT {
            handles.push(
                log.add_disposition(Level::ERROR, Recorder::default())
                    .unwrap(),
            );
        }
        assert_eq!(
            log.add_disposition(Level::ERROR, Recorder::default())
                .map(|_| ()),
            Err(LogError::TableFull)
        );
        assert!(log.remove_disposition(handles[3]).is_some());
        assert!(
            log.add_disposition(Level::ERROR, Recorder::default())
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn stale_handles_remove_nothing() {
        let mut log = Log::new();
        let a = Recorder::default();
        let h1 = log.add_disposition(Level::ERROR, a.clone()).unwrap();
        assert!(log.remove_disposition(h1).is_some());
        let b = Recorder::default();
        let h2 = log.add_disposition(Level::ERROR, b.clone()).unwrap();
        // Same table entry, new generation: the old handle no longer removes it.
        assert_eq!(h1.unwrap().index, h2.unwrap().index);
        assert!(log.remove_disposition(h1).is_none());
        log.write_line(Level::ERROR, b"still here");
        assert_eq!(b.texts(), [b"still here"]);
        assert!(a.texts().is_empty());
    }

    #[test]
    fn handles_round_trip_through_raw_values() {
        let mut log: Log<Recorder> = Log::new();
        for _ in 0..20 {
            let h = log
                .add_disposition(Level::INFO, Recorder::default())
                .unwrap()
                .unwrap();
            let raw = h.to_raw();
            assert_ne!(raw, 0);
            assert_eq!(DispositionHandle::from_raw(raw as usize), Some(h));
            assert!(log.remove_disposition(Some(h)).is_some());
        }
        assert_eq!(DispositionHandle::from_raw(0), None);
        assert_eq!(DispositionHandle::from_raw(0x100), None);
        // A garbage handle with an index beyond the table removes nothing.
        let mut log: Log<Recorder> = Log::new();
        assert!(
            log.remove_disposition(DispositionHandle::from_raw(0xff))
                .is_none()
        );
        assert!(
            log.remove_disposition(DispositionHandle::from_raw(usize::MAX))
                .is_none()
        );
    }

    #[test]
    fn capture_filters_on_the_xen_prefix_in_free_builds() {
        let (mut log, r) = log_with(Level::all());
        let f = CaptureFilter::XenPrefix;
        assert!(!log.capture(b"", 3, f));
        assert!(!log.capture(b"xen", 3, f));
        assert!(!log.capture(b"XEN|Fn: x", 3, f));
        assert!(!log.capture(b"ntfs: hello", 3, f));
        assert!(log.capture(b"xen|", 3, f));
        assert!(log.capture(b"xenvif|Fn: up\n", 0, f));
        // Captured lines wait for the DPC's flush.
        assert!(r.texts().is_empty());
        assert_eq!(log.pending(), 2);
        log.flush();
        assert_eq!(r.texts(), [&b"xen|"[..], b"xenvif|Fn: up\n"]);
        assert_eq!(r.0.borrow()[0].0, Level::INFO);
        assert_eq!(r.0.borrow()[1].0, Level::ERROR);
    }

    #[test]
    fn checked_builds_capture_everything_but_empty_strings() {
        let (mut log, _r) = log_with(Level::all());
        assert!(log.capture(b"n", 1, CaptureFilter::Everything));
        assert!(!log.capture(b"", 1, CaptureFilter::Everything));
    }

    #[test]
    fn capture_clamps_long_strings_to_the_line() {
        let (mut log, r) = log_with(Level::all());
        let mut text = b"xen|".to_vec();
        text.resize(600, b'y');
        assert!(log.capture(&text, 3, CaptureFilter::XenPrefix));
        log.flush();
        let texts = r.texts();
        assert_eq!(texts[0].len(), LINE_SIZE);
        assert_eq!(texts[0][..], text[..LINE_SIZE]);
    }

    #[test]
    fn a_full_ring_is_flushed_before_taking_a_slot() {
        let (mut log, r) = log_with(Level::all());
        for i in 0..SLOT_COUNT {
            assert!(log.capture(
                std::format!("xen{i}").as_bytes(),
                3,
                CaptureFilter::XenPrefix
            ));
        }
        assert_eq!(log.pending(), SLOT_COUNT);
        assert!(r.texts().is_empty());
        assert!(log.capture(b"xen-next", 3, CaptureFilter::XenPrefix));
        assert_eq!(r.texts().len(), SLOT_COUNT);
        assert_eq!(log.pending(), 1);
        // A printf flushes everything pending, in order.
        log.write_line(Level::INFO, b"printf");
        let texts = r.texts();
        assert_eq!(texts.len(), SLOT_COUNT + 2);
        assert_eq!(texts[SLOT_COUNT], b"xen-next");
        assert_eq!(texts[SLOT_COUNT + 1], b"printf");
        assert_eq!(texts[0], b"xen0");
    }

    #[test]
    fn flushed_slots_are_cleared() {
        let (mut log, _r) = log_with(Level::all());
        log.write_line(Level::INFO, b"secret");
        assert!(
            log.slots
                .iter()
                .all(|s| s.line.is_empty() && s.level.is_empty())
        );
    }

    struct Ports(RefCell<Vec<(u16, u8)>>, u16);

    impl PortIo for Ports {
        fn inb(&self, _port: u16) -> u8 {
            0xff
        }
        fn inw(&self, port: u16) -> u16 {
            if port == unplug::PORT_MAGIC {
                self.1
            } else {
                0xffff
            }
        }
        fn outb(&self, port: u16, value: u8) {
            self.0.borrow_mut().push((port, value));
        }
        fn outw(&self, _port: u16, _value: u16) {
            unreachable!("log sinks write bytes only");
        }
        fn outl(&self, _port: u16, _value: u32) {
            unreachable!("log sinks write bytes only");
        }
    }

    #[test]
    fn port_sinks_write_every_byte_to_their_port() {
        let io = Ports(RefCell::new(Vec::new()), unplug::MAGIC);
        let mut log = Log::new();
        log.add_disposition(Level::CRITICAL, PortSink::xen_debug(&io))
            .unwrap();
        let qemu = PortSink::qemu(&io).unwrap();
        assert_eq!(qemu.port(), 0x12);
        log.add_disposition(DEFAULT_QEMU_LOG_LEVEL, qemu).unwrap();
        log.write_line(Level::CRITICAL, b"ab");
        log.write_line(Level::INFO, b"c");
        // Line by line; within a line, disposition by disposition.
        assert_eq!(
            *io.0.borrow(),
            [
                (0xE9, b'a'),
                (0xE9, b'b'),
                (0x12, b'a'),
                (0x12, b'b'),
                (0x12, b'c')
            ]
        );
    }

    #[test]
    fn qemu_port_sink_needs_the_platform_magic() {
        for magic in [0xffff, 0, 0x1234] {
            let io = Ports(RefCell::new(Vec::new()), magic);
            assert!(PortSink::qemu(&io).is_none());
        }
        let io = Ports(RefCell::new(Vec::new()), unplug::MAGIC_BLACKLISTED);
        assert!(PortSink::qemu(&io).is_some());
    }

    #[derive(Clone, Default)]
    struct Console(Rc<RefCell<Vec<u8>>>);

    impl ConsoleWrite for Console {
        fn console_write(&self, bytes: &[u8]) {
            self.0.borrow_mut().extend_from_slice(bytes);
        }
    }

    #[test]
    fn console_sink_issues_one_console_io_write_per_line() {
        use crate::hypercall::fake::Fake;
        let seen = RefCell::new(Vec::new());
        let hv = Fake::new(|op, args| {
            assert_eq!(op, 18, "HYPERVISOR_console_io");
            assert_eq!(args[0], 0, "CONSOLEIO_write");
            let ptr = core::ptr::with_exposed_provenance::<u8>(args[2]);
            // SAFETY: the wrapper passes a live buffer of `args[1]` bytes for the call.
            let bytes = unsafe { core::slice::from_raw_parts(ptr, args[1]) };
            seen.borrow_mut().push(bytes.to_vec());
            -1
        });
        let mut log = Log::new();
        log.add_disposition(Level::CRITICAL, ConsoleSink(XenConsole(&hv)))
            .unwrap();
        log.write_line(Level::CRITICAL, b"xen|BUGCHECK: ====>\n");
        log.write_line(Level::INFO, b"not mirrored\n");
        // Xen refusing (EPERM) is dropped; the next line still goes out.
        log.write_line(Level::CRITICAL, b"second\n");
        assert_eq!(
            *seen.borrow(),
            [b"xen|BUGCHECK: ====>\n".to_vec(), b"second\n".to_vec()]
        );
        assert_eq!(hv.calls.borrow().len(), 2);
    }

    #[test]
    fn console_sink_mirrors_matching_lines() {
        let c = Console::default();
        let mut log = Log::new();
        log.add_disposition(Level::WARNING | Level::ERROR, ConsoleSink(c.clone()))
            .unwrap();
        log.write_line(Level::WARNING, b"w\n");
        log.write_line(Level::INFO, b"i\n");
        log.write_line(Level::ERROR, b"e\n");
        assert_eq!(*c.0.borrow(), b"w\ne\n");
    }
}
