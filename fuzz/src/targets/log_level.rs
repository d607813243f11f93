// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `log_level`: xen.sys's log-level parser (`XenLogLevel`/`QemuLogLevel` `REG_MULTI_SZ`
//! values, `xen::log`) and the log those levels route, on arbitrary values and line traffic.
//!
//! Invariants:
//! * `level_from_multi_sz` is the union of the levels named (ASCII case-insensitively, exact
//!   names) by the strings before the first empty one (checked against a model);
//!   `read_log_level` maps every stored kind as documented and `effective_level` falls back
//!   to the default only on an error;
//! * `level_for_dbg_print` is `1 << n` below 32 and the value itself above;
//! * the log: a disposition receives, in queue order, exactly the lines whose level shares a
//!   bit with its mask (model of the slot ring, flushed when full), every line at most
//!   `LINE_SIZE` bytes, a captured or written line clamped to it byte for byte; capture
//!   queues exactly what its filter keeps; a handle survives `to_raw`/`from_raw`, a stale one
//!   removes nothing; never more than `DISPOSITION_COUNT` dispositions.
//!
//! Input: a value to parse (long bytes), then log operations.

use std::cell::RefCell;
use std::rc::Rc;

use xen::log::{
    CaptureFilter, DISPOSITION_COUNT, DispositionHandle, LEVEL_NAMES, LINE_SIZE, Level, LevelError,
    Log, LogArg, SLOT_COUNT, Sink, SliceLogArgs, StoredLevel, effective_level, level_for_dbg_print,
    level_from_multi_sz, level_from_name, read_log_level,
};

use crate::input::{Reader, Writer};

type Lines = Rc<RefCell<Vec<(Level, Vec<u8>)>>>;

struct Recorder(Lines);

impl Sink for Recorder {
    fn write(&mut self, level: Level, text: &[u8]) {
        assert!(text.len() <= LINE_SIZE, "a line longer than LINE_SIZE");
        self.0.borrow_mut().push((level, text.to_vec()));
    }
}

fn model_level(data: &[u8]) -> Level {
    let mut level = Level::NONE;
    for s in data.split(|&b| b == 0) {
        if s.is_empty() {
            break;
        }
        for (name, l) in LEVEL_NAMES {
            if name.len() == s.len()
                && name
                    .bytes()
                    .zip(s)
                    .all(|(a, &b)| a == b.to_ascii_uppercase())
            {
                level |= l;
            }
        }
    }
    level
}

struct Disp {
    handle: DispositionHandle,
    mask: Level,
    lines: Lines,
    expected: Vec<(Level, Option<Vec<u8>>)>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let value = r.long_bytes(600);
    let level = level_from_multi_sz(value);
    assert_eq!(level, model_level(value));
    assert_eq!(read_log_level(StoredLevel::MultiSz(value)), Ok(level));
    assert_eq!(
        read_log_level(StoredLevel::Missing),
        Err(LevelError::NotFound)
    );
    assert_eq!(
        read_log_level(StoredLevel::NotMultiSz),
        Err(LevelError::NotMultiSz)
    );
    assert_eq!(effective_level(Ok(level), Level::CRITICAL), level);
    assert_eq!(
        effective_level(Err(LevelError::Os(-1)), Level::CRITICAL),
        Level::CRITICAL
    );
    for s in value.split(|&b| b == 0).take(8) {
        assert_eq!(
            level_from_name(s),
            LEVEL_NAMES
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s))
                .map(|&(_, l)| l)
        );
    }

    let mut log: Log<Recorder> = Log::new();
    let mut disps: Vec<Disp> = Vec::new();
    let mut stale: Vec<DispositionHandle> = Vec::new();
    // Lines queued and not flushed: level and text if known.
    let mut queued: Vec<(Level, Option<Vec<u8>>)> = Vec::new();
    let flush = |queued: &mut Vec<(Level, Option<Vec<u8>>)>, disps: &mut Vec<Disp>| {
        for (level, text) in queued.drain(..) {
            for d in disps.iter_mut() {
                if d.mask.intersects(level) {
                    d.expected.push((level, text.clone()));
                }
            }
        }
    };
    let mut ops = 0;
    while !r.is_empty() && ops < 256 {
        ops += 1;
        match r.below(7) {
            0 => {
                let mask = Level::from_bits_retain(r.u32());
                let lines: Lines = Rc::default();
                let result = log.add_disposition(mask, Recorder(Rc::clone(&lines)));
                if mask.is_empty() {
                    assert_eq!(result, Ok(None));
                } else if disps.len() == DISPOSITION_COUNT {
                    assert!(result.is_err(), "a ninth disposition");
                } else {
                    let handle = result.expect("room for a disposition").expect("a handle");
                    let raw = handle.to_raw();
                    assert_ne!(raw, 0);
                    assert_eq!(DispositionHandle::from_raw(raw as usize), Some(handle));
                    disps.push(Disp {
                        handle,
                        mask,
                        lines,
                        expected: Vec::new(),
                    });
                }
            }
            1 => {
                if disps.is_empty() || r.bool() {
                    if let Some(&h) = stale.get(usize::from(r.u8())) {
                        assert!(
                            log.remove_disposition(Some(h)).is_none(),
                            "a stale handle removed something"
                        );
                    }
                    let raw = r.u32() as usize;
                    if !disps
                        .iter()
                        .any(|d| Some(d.handle) == DispositionHandle::from_raw(raw))
                    {
                        assert!(
                            log.remove_disposition(DispositionHandle::from_raw(raw))
                                .is_none()
                        );
                    }
                } else {
                    let d = disps.remove(usize::from(r.u8()) % disps.len());
                    assert!(log.remove_disposition(Some(d.handle)).is_some());
                    check(&d);
                    stale.push(d.handle);
                }
            }
            2 => {
                let text = r.long_bytes(300);
                let dbg = r.u32();
                let filter = if r.bool() {
                    CaptureFilter::Everything
                } else {
                    CaptureFilter::XenPrefix
                };
                let keeps = filter.keeps(text);
                assert_eq!(
                    keeps,
                    !text.is_empty()
                        && (filter == CaptureFilter::Everything
                            || (text.len() >= 4 && text.starts_with(b"xen")))
                );
                if queued.len() == SLOT_COUNT && keeps {
                    flush(&mut queued, &mut disps);
                }
                assert_eq!(log.capture(text, dbg, filter), keeps);
                if keeps {
                    let level = level_for_dbg_print(dbg);
                    let expected = if dbg < 32 { 1u32 << dbg } else { dbg };
                    assert_eq!(level.bits(), expected);
                    queued.push((level, Some(text[..text.len().min(LINE_SIZE)].to_vec())));
                }
            }
            3 => {
                let level = Level::from_bits_retain(r.u32());
                let text = r.long_bytes(300);
                if queued.len() == SLOT_COUNT {
                    flush(&mut queued, &mut disps);
                }
                log.write_line(level, text);
                queued.push((level, Some(text[..text.len().min(LINE_SIZE)].to_vec())));
                flush(&mut queued, &mut disps);
            }
            4 => {
                let level = Level::from_bits_retain(r.u32());
                let count = u32::from(r.u16());
                let fmt = r.short_bytes(200);
                let strings: Vec<&[u8]> = (0..3).map(|_| r.short_bytes(40)).collect();
                let wide: Vec<u16> = r
                    .short_bytes(40)
                    .iter()
                    .map(|&b| u16::from(b) * 0x101)
                    .collect();
                let mut args: Vec<LogArg<'_>> = Vec::new();
                for _ in 0..r.below(8) {
                    args.push(match r.below(6) {
                        0 | 1 => LogArg::Int(r.u64()),
                        2 => LogArg::Str(if r.bool() { Some(strings[0]) } else { None }),
                        3 => LogArg::WideStr(Some(&wide)),
                        4 => LogArg::AnsiString(Some(strings[1])),
                        _ => LogArg::UnicodeString(if r.bool() { Some(&wide) } else { None }),
                    });
                }
                if queued.len() == SLOT_COUNT {
                    flush(&mut queued, &mut disps);
                }
                log.printf(level, count, fmt, &mut SliceLogArgs::new(&args));
                // Without a conversion the line is the format itself, cut at the item count.
                let text = (!fmt.contains(&b'%')).then(|| {
                    let fmt = fmt.split(|&b| b == 0).next().unwrap_or_default();
                    let items = if count == 0 {
                        fmt.len()
                    } else {
                        (count.min(256) as usize).min(fmt.len())
                    };
                    fmt[..items.min(LINE_SIZE)].to_vec()
                });
                queued.push((level, text));
                flush(&mut queued, &mut disps);
            }
            5 => {
                log.flush();
                flush(&mut queued, &mut disps);
            }
            _ => {
                let raw = r.u32();
                assert_eq!(
                    level_for_dbg_print(raw).bits(),
                    1u32.checked_shl(raw).unwrap_or(raw)
                );
            }
        }
        assert_eq!(log.pending(), queued.len());
        assert!(log.pending() <= SLOT_COUNT);
        assert_eq!(log.disposition_count(), disps.len());
    }
    log.flush();
    flush(&mut queued, &mut disps);
    for d in &disps {
        check(d);
    }
}

fn check(d: &Disp) {
    let got = d.lines.borrow();
    assert_eq!(
        got.len(),
        d.expected.len(),
        "lines delivered to a disposition"
    );
    for ((level, text), (want_level, want_text)) in got.iter().zip(&d.expected) {
        assert_eq!(level, want_level);
        assert!(d.mask.intersects(*level));
        if let Some(want) = want_text {
            assert_eq!(text, want);
        }
    }
}

/// Seeds: the registry values of the unit tests and upstream's defaults, and line traffic.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, value) in [
        ("levels", &b"TRACE\0info\0Warning\0ERROR\0CRITICAL\0\0"[..]),
        ("empty-string-ends", b"ERROR\0\0CRITICAL\0\0"),
        ("unknown-names", b"ERRORS\0 INFO\0\0"),
        ("no-terminator", b"CRITICAL"),
    ] {
        let mut w = Writer::new();
        w.long_bytes(value);
        out.push((name, w.finish()));
    }
    let mut traffic = Writer::new();
    traffic.long_bytes(b"INFO\0\0");
    traffic.u8(0).u32(0x8000_000F);
    traffic.u8(0).u32(1 << 3);
    traffic.u8(2).long_bytes(b"xenbus: hello").u32(3).u8(0);
    traffic.u8(2).long_bytes(b"nope").u32(0).u8(0);
    traffic.u8(3).u32(0x8000_0000).long_bytes(&[b'x'; 300]);
    traffic
        .u8(4)
        .u32(8)
        .u16(0)
        .short_bytes(b"%s %d %-5x|%05d|%ws %Z %wZ %p %llu %c")
        .short_bytes(b"str")
        .short_bytes(b"ansi")
        .short_bytes(b"")
        .short_bytes(b"WIDE")
        .u8(7)
        .u8(2)
        .u8(1)
        .u8(0)
        .u64((-42i64).cast_unsigned())
        .u8(1)
        .u64(0x2a)
        .u8(3)
        .u8(4)
        .u8(5)
        .u8(1)
        .u8(0)
        .u64(0xFFFF_F800_0000_1000);
    traffic.u8(1).u8(0).u8(0);
    traffic.u8(5);
    out.push(("traffic", traffic.finish()));
    out
}
