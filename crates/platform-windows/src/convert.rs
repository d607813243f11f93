// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The arithmetic and encodings between the platform port's types and the kernel's.
//!
//! Relative due times and periods, NTSTATUS to [`PortError`], registry paths and values, log
//! levels and log lines. Portable, so the host tests prove them.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use ntddk::{
    DPFLTR_ERROR_LEVEL, DPFLTR_INFO_LEVEL, DPFLTR_TRACE_LEVEL, DPFLTR_WARNING_LEVEL, REG_DWORD,
    REG_MULTI_SZ, REG_SZ, STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND, STATUS_OBJECT_TYPE_MISMATCH,
};
use ntstatus::NtStatus;
use platform_port::{LogLevel, PortError, RegValue};

/// 100 ns units in a [`Duration`], saturating at `i64::MAX`.
fn hundred_ns(duration: Duration) -> i64 {
    let units = duration.as_nanos().div_ceil(100);
    i64::try_from(units).unwrap_or(i64::MAX)
}

/// A relative kernel time for `duration`: negative 100 ns units.
///
/// For `KeSetTimerEx`'s `DueTime` and `KeWaitForSingleObject`'s `Timeout`; rounded away from
/// zero so a wait is never shorter than asked. A zero duration stays 0 (expire now; for a
/// wait, a poll).
#[must_use]
pub fn relative_time(duration: Duration) -> i64 {
    hundred_ns(duration).saturating_neg()
}

/// `KeSetTimerEx`'s `Period` (milliseconds, 0 for a one-shot timer) for `period`: rounded up, at
/// least 1 ms for any period, at most `i32::MAX` ms.
#[must_use]
pub fn period_ms(period: Option<Duration>) -> i32 {
    period.map_or(0, |p| {
        let ms = p.as_nanos().div_ceil(1_000_000).max(1);
        i32::try_from(ms).unwrap_or(i32::MAX)
    })
}

/// Whether a wait with `timeout` is a poll (zero timeout): the only wait allowed at
/// `DISPATCH_LEVEL`.
#[must_use]
pub fn is_poll(timeout: Option<Duration>) -> bool {
    timeout.is_some_and(|t| t.is_zero())
}

/// The [`PortError`] for a failed kernel call's status.
#[must_use]
pub const fn port_error(status: NtStatus) -> PortError {
    match status {
        STATUS_OBJECT_NAME_NOT_FOUND | STATUS_OBJECT_PATH_NOT_FOUND => PortError::NotFound,
        STATUS_NO_MEMORY => PortError::NoMemory,
        STATUS_INSUFFICIENT_RESOURCES => PortError::Insufficient,
        STATUS_OBJECT_TYPE_MISMATCH => PortError::WrongType,
        STATUS_INVALID_PARAMETER | STATUS_BUFFER_TOO_SMALL => PortError::InvalidParameter,
        _ => PortError::Failed,
    }
}

/// The kernel's name of the machine hive (`HKEY_LOCAL_MACHINE`).
pub const MACHINE: &str = r"\Registry\Machine";

/// The components of a key path below `HKEY_LOCAL_MACHINE` (`SYSTEM\CurrentControlSet\...`).
///
/// # Errors
/// [`PortError::InvalidParameter`] for a path with no component, an empty component (`a\\b`),
/// or a NUL.
pub fn key_components(key: &str) -> Result<Vec<&str>, PortError> {
    if key.contains('\0') {
        return Err(PortError::InvalidParameter);
    }
    let trimmed = key.trim_matches('\\');
    if trimmed.is_empty() {
        return Err(PortError::InvalidParameter);
    }
    let components: Vec<&str> = trimmed.split('\\').collect();
    if components.iter().any(|c| c.is_empty()) {
        return Err(PortError::InvalidParameter);
    }
    Ok(components)
}

/// The kernel's absolute name of a key below `HKEY_LOCAL_MACHINE`
/// (`\Registry\Machine\SYSTEM\...`).
///
/// # Errors
/// As [`key_components`].
pub fn machine_path(key: &str) -> Result<String, PortError> {
    let components = key_components(key)?;
    let mut path = String::from(MACHINE);
    for component in components {
        path.push('\\');
        path.push_str(component);
    }
    Ok(path)
}

/// Little-endian UTF-16 data as code units (an odd trailing byte is dropped).
fn units(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2).map(|pair| {
        u16::from_le_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ])
    })
}

/// A registry value's data as the port's [`RegValue`].
///
/// `REG_DWORD` (exactly four bytes), `REG_SZ` (up to the first NUL; a missing terminator is
/// tolerated, as the kernel stores what the writer gave) and `REG_MULTI_SZ` (strings up to the
/// empty one). Text that is not valid UTF-16 is replaced (U+FFFD).
///
/// # Errors
/// [`PortError::WrongType`] for another type or a `REG_DWORD` of another size.
pub fn decode_value(kind: u32, data: &[u8]) -> Result<RegValue, PortError> {
    match kind {
        REG_DWORD => <[u8; 4]>::try_from(data)
            .map(|bytes| RegValue::Dword(u32::from_le_bytes(bytes)))
            .map_err(|_| PortError::WrongType),
        REG_SZ => {
            let text: Vec<u16> = units(data).take_while(|&u| u != 0).collect();
            Ok(RegValue::Sz(String::from_utf16_lossy(&text)))
        }
        REG_MULTI_SZ => {
            let all: Vec<u16> = units(data).collect();
            let strings = all
                .split(|&u| u == 0)
                .take_while(|s| !s.is_empty())
                .map(String::from_utf16_lossy)
                .collect();
            Ok(RegValue::MultiSz(strings))
        }
        _ => Err(PortError::WrongType),
    }
}

/// Appends `text` as little-endian UTF-16 with its terminating NUL.
fn push_text(out: &mut Vec<u8>, text: &str) -> Result<(), PortError> {
    if text.contains('\0') {
        return Err(PortError::InvalidParameter);
    }
    for unit in text.encode_utf16().chain(core::iter::once(0)) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    Ok(())
}

/// A [`RegValue`] as `ZwSetValueKey`'s type and data (strings NUL-terminated, a
/// `REG_MULTI_SZ` ended by an empty string).
///
/// # Errors
/// [`PortError::InvalidParameter`] for text holding a NUL, or an empty string inside a
/// `REG_MULTI_SZ` (it would end the list early).
pub fn encode_value(value: &RegValue) -> Result<(u32, Vec<u8>), PortError> {
    let mut data = Vec::new();
    let kind = match value {
        RegValue::Dword(v) => {
            data.extend_from_slice(&v.to_le_bytes());
            REG_DWORD
        }
        RegValue::Sz(text) => {
            push_text(&mut data, text)?;
            REG_SZ
        }
        RegValue::MultiSz(strings) => {
            for text in strings {
                if text.is_empty() {
                    return Err(PortError::InvalidParameter);
                }
                push_text(&mut data, text)?;
            }
            data.extend_from_slice(&[0, 0]);
            REG_MULTI_SZ
        }
    };
    Ok((kind, data))
}

/// The kernel debugger's level (`DPFLTR_*_LEVEL`) for a log level.
#[must_use]
pub const fn debugger_level(level: LogLevel) -> u32 {
    match level {
        LogLevel::Trace => DPFLTR_TRACE_LEVEL,
        LogLevel::Info => DPFLTR_INFO_LEVEL,
        LogLevel::Warning => DPFLTR_WARNING_LEVEL,
        LogLevel::Error | LogLevel::Critical => DPFLTR_ERROR_LEVEL,
    }
}

/// xen.sys's `LOG_LEVEL` value for a log level (`LogPrintf`'s first argument): `1 << DPFLTR_*`,
/// and `0x80000000` for `LOG_LEVEL_CRITICAL`.
#[must_use]
pub const fn xen_log_level(level: LogLevel) -> u32 {
    match level {
        LogLevel::Critical => 0x8000_0000,
        other => 1 << debugger_level(other),
    }
}

/// One formatted log line in a fixed buffer, so logging never allocates (it runs at any IRQL).
///
/// At most [`LogLine::CAPACITY`] bytes of text (the rest is cut; a NUL ends the text), always
/// ending with a newline and followed by a NUL, as `LogPrintf`'s `%s` and `DbgPrintEx` want.
#[derive(Debug)]
pub struct LogLine {
    bytes: [u8; Self::CAPACITY + 2],
    used: usize,
    closed: bool,
}

impl Default for LogLine {
    fn default() -> Self {
        Self::new()
    }
}

impl LogLine {
    /// The most text a line holds (xen.sys cuts its own lines at 256 bytes with the NUL).
    pub const CAPACITY: usize = 253;

    /// An empty line (a lone newline).
    #[must_use]
    pub const fn new() -> Self {
        let mut bytes = [0; Self::CAPACITY + 2];
        bytes[0] = b'\n';
        Self {
            bytes,
            used: 0,
            closed: false,
        }
    }

    /// Formats `args` into a line.
    #[must_use]
    pub fn format(args: core::fmt::Arguments<'_>) -> Self {
        let mut line = Self::new();
        let _ = core::fmt::Write::write_fmt(&mut line, args);
        line
    }

    /// The text with its newline, without the NUL.
    #[must_use]
    pub fn text(&self) -> &[u8] {
        self.bytes.get(..self.end()).unwrap_or(&[])
    }

    /// The text with its newline and the NUL after it (a C string).
    #[must_use]
    pub fn c_text(&self) -> &[u8] {
        self.bytes.get(..=self.end()).unwrap_or(&[])
    }

    /// Where the NUL is: after the text and the newline it ends with (added when missing).
    fn end(&self) -> usize {
        let ends_with_newline = self
            .used
            .checked_sub(1)
            .and_then(|last| self.bytes.get(last))
            == Some(&b'\n');
        if ends_with_newline {
            self.used
        } else {
            self.used.saturating_add(1)
        }
    }
}

impl core::fmt::Write for LogLine {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.closed || b == 0 || self.used >= Self::CAPACITY {
                self.closed = true;
                break;
            }
            if let Some(slot) = self.bytes.get_mut(self.used) {
                *slot = b;
                self.used = self.used.saturating_add(1);
            }
        }
        // The newline (unless the text has one) and the NUL: there is room for both.
        let end = self.end();
        if end > self.used
            && let Some(slot) = self.bytes.get_mut(self.used)
        {
            *slot = b'\n';
        }
        if let Some(slot) = self.bytes.get_mut(end) {
            *slot = 0;
        }
        Ok(())
    }
}

/// The index of the highest processor an affinity mask names (upstream's `_BitScanReverse64`
/// on `ProcessorEnableMask`), or `None` for an empty mask.
#[must_use]
pub const fn highest_processor(affinity: usize) -> Option<u8> {
    if affinity == 0 {
        return None;
    }
    // At most 63: a `usize` has 64 bits on x64.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a bit index of a usize is below 64"
    )]
    let bit = (usize::BITS
        .saturating_sub(1)
        .saturating_sub(affinity.leading_zeros())) as u8;
    Some(bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use core::fmt::Write as _;

    #[test]
    fn relative_times_are_negative_hundred_nanosecond_units_rounded_up() {
        assert_eq!(relative_time(Duration::from_millis(1)), -10_000);
        assert_eq!(relative_time(Duration::from_nanos(1)), -1);
        assert_eq!(relative_time(Duration::from_nanos(250)), -3);
        assert_eq!(relative_time(Duration::ZERO), 0);
        assert_eq!(relative_time(Duration::MAX), -i64::MAX);
    }

    #[test]
    fn periods_are_whole_milliseconds_at_least_one() {
        assert_eq!(period_ms(None), 0);
        assert_eq!(period_ms(Some(Duration::from_millis(250))), 250);
        assert_eq!(period_ms(Some(Duration::from_micros(10))), 1);
        assert_eq!(period_ms(Some(Duration::ZERO)), 1);
        assert_eq!(period_ms(Some(Duration::from_micros(1_500))), 2);
        assert_eq!(period_ms(Some(Duration::MAX)), i32::MAX);
    }

    #[test]
    fn only_a_zero_timeout_is_a_poll() {
        assert!(is_poll(Some(Duration::ZERO)));
        assert!(!is_poll(Some(Duration::from_nanos(1))));
        assert!(!is_poll(None));
    }

    #[test]
    fn statuses_map_to_the_port_errors_that_name_them() {
        assert_eq!(
            port_error(STATUS_OBJECT_NAME_NOT_FOUND),
            PortError::NotFound
        );
        assert_eq!(
            port_error(STATUS_OBJECT_PATH_NOT_FOUND),
            PortError::NotFound
        );
        assert_eq!(port_error(STATUS_NO_MEMORY), PortError::NoMemory);
        assert_eq!(
            port_error(STATUS_INSUFFICIENT_RESOURCES),
            PortError::Insufficient
        );
        assert_eq!(
            port_error(STATUS_OBJECT_TYPE_MISMATCH),
            PortError::WrongType
        );
        assert_eq!(
            port_error(STATUS_INVALID_PARAMETER),
            PortError::InvalidParameter
        );
        assert_eq!(port_error(ntddk::STATUS_ACCESS_DENIED), PortError::Failed);
    }

    #[test]
    fn key_paths_become_machine_paths_and_bad_ones_are_refused() {
        assert_eq!(
            machine_path(r"SYSTEM\CurrentControlSet\Services\xenbus").unwrap(),
            r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\xenbus"
        );
        assert_eq!(
            machine_path(r"\SOFTWARE\").unwrap(),
            r"\Registry\Machine\SOFTWARE"
        );
        assert_eq!(machine_path(""), Err(PortError::InvalidParameter));
        assert_eq!(machine_path(r"\"), Err(PortError::InvalidParameter));
        assert_eq!(machine_path(r"a\\b"), Err(PortError::InvalidParameter));
        assert_eq!(machine_path("a\0b"), Err(PortError::InvalidParameter));
        assert_eq!(key_components(r"a\b\c").unwrap(), ["a", "b", "c"]);
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn values_decode_by_type() {
        assert_eq!(
            decode_value(REG_DWORD, &7u32.to_le_bytes()),
            Ok(RegValue::Dword(7))
        );
        assert_eq!(decode_value(REG_DWORD, &[1, 2]), Err(PortError::WrongType));
        assert_eq!(
            decode_value(REG_SZ, &utf16("xenbus\0junk")),
            Ok(RegValue::Sz("xenbus".to_string()))
        );
        assert_eq!(
            decode_value(REG_SZ, &utf16("unterminated")),
            Ok(RegValue::Sz("unterminated".to_string()))
        );
        assert_eq!(
            decode_value(REG_MULTI_SZ, &utf16("a\0bc\0\0ignored\0")),
            Ok(RegValue::MultiSz(vec!["a".to_string(), "bc".to_string()]))
        );
        assert_eq!(
            decode_value(REG_MULTI_SZ, &utf16("\0")),
            Ok(RegValue::MultiSz(Vec::new()))
        );
        assert_eq!(decode_value(3, &[0; 4]), Err(PortError::WrongType));
    }

    #[test]
    fn values_encode_as_the_kernel_stores_them_and_round_trip() {
        let cases = [
            RegValue::Dword(0xdead_beef),
            RegValue::Sz("Parameters".to_string()),
            RegValue::MultiSz(vec!["XENFILT".to_string(), "é".to_string()]),
            RegValue::MultiSz(Vec::new()),
        ];
        for value in cases {
            let (kind, data) = encode_value(&value).unwrap();
            assert_eq!(decode_value(kind, &data), Ok(value));
        }
        assert_eq!(
            encode_value(&RegValue::Sz("ab".to_string())),
            Ok((REG_SZ, vec![b'a', 0, b'b', 0, 0, 0]))
        );
        assert_eq!(
            encode_value(&RegValue::MultiSz(vec!["a".to_string()])),
            Ok((REG_MULTI_SZ, vec![b'a', 0, 0, 0, 0, 0]))
        );
        assert_eq!(
            encode_value(&RegValue::MultiSz(vec![String::new()])),
            Err(PortError::InvalidParameter)
        );
        assert_eq!(
            encode_value(&RegValue::Sz("a\0".to_string())),
            Err(PortError::InvalidParameter)
        );
    }

    #[test]
    fn log_levels_map_to_the_debugger_and_to_xen_sys() {
        assert_eq!(debugger_level(LogLevel::Error), DPFLTR_ERROR_LEVEL);
        assert_eq!(debugger_level(LogLevel::Critical), DPFLTR_ERROR_LEVEL);
        assert_eq!(xen_log_level(LogLevel::Trace), 1 << DPFLTR_TRACE_LEVEL);
        assert_eq!(xen_log_level(LogLevel::Info), 1 << DPFLTR_INFO_LEVEL);
        assert_eq!(xen_log_level(LogLevel::Warning), 1 << DPFLTR_WARNING_LEVEL);
        assert_eq!(xen_log_level(LogLevel::Error), 1 << DPFLTR_ERROR_LEVEL);
        assert_eq!(xen_log_level(LogLevel::Critical), 0x8000_0000);
    }

    #[test]
    fn a_log_line_ends_with_one_newline_and_a_nul() {
        let line = LogLine::format(format_args!("EVTCHN: {} ports", 3));
        assert_eq!(line.text(), b"EVTCHN: 3 ports\n");
        assert_eq!(line.c_text(), b"EVTCHN: 3 ports\n\0");
        let line = LogLine::format(format_args!("done\n"));
        assert_eq!(line.c_text(), b"done\n\0");
        assert_eq!(LogLine::new().c_text(), b"\n\0");
    }

    #[test]
    fn a_long_log_line_is_cut_and_still_terminated() {
        let mut line = LogLine::new();
        for _ in 0..100 {
            write!(line, "0123456789").unwrap();
        }
        assert_eq!(line.text().len(), LogLine::CAPACITY + 1);
        assert_eq!(line.text().last(), Some(&b'\n'));
        assert_eq!(line.c_text().last(), Some(&0));
    }

    #[test]
    fn a_nul_inside_a_log_line_ends_it() {
        let line = LogLine::format(format_args!("ab\0cd"));
        assert_eq!(line.c_text(), b"ab\n\0");
    }

    #[test]
    fn the_highest_processor_of_an_affinity_is_its_top_bit() {
        assert_eq!(highest_processor(0), None);
        assert_eq!(highest_processor(1), Some(0));
        assert_eq!(highest_processor(0b1010), Some(3));
        assert_eq!(highest_processor(usize::MAX), Some(63));
    }
}
