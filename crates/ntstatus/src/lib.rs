// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Windows `NTSTATUS` values the drivers return, spelled once from their documented bit
//! patterns (`ntstatus.h`), so every crate and every C caller sees the same numbers.
//!
//! Layering: a leaf, `no_std`, no dependencies; used by the portable cores of xen.sys and
//! xenbus.sys, whose typed errors map onto these values once at the C ABI boundary.

#![no_std]

/// A Windows `NTSTATUS`: negative values (severity bits `11`) are errors.
pub type NtStatus = i32;

/// Spells an NTSTATUS from its documented bit pattern.
const fn nt(bits: u32) -> NtStatus {
    NtStatus::from_ne_bytes(bits.to_ne_bytes())
}

/// `NT_SUCCESS`: success and informational codes are non-negative.
#[must_use]
pub const fn nt_success(status: NtStatus) -> bool {
    status >= 0
}

/// `STATUS_SUCCESS` (0x00000000).
pub const STATUS_SUCCESS: NtStatus = nt(0x0000_0000);
/// `STATUS_TIMEOUT` (0x00000102): a wait ended without the event (a success code).
pub const STATUS_TIMEOUT: NtStatus = nt(0x0000_0102);
/// `STATUS_PENDING` (0x00000103): the IRP completes later.
pub const STATUS_PENDING: NtStatus = nt(0x0000_0103);
/// `STATUS_BUFFER_OVERFLOW` (0x80000005): a value does not fit the caller's buffer (a warning: the severity bits are `10`).
pub const STATUS_BUFFER_OVERFLOW: NtStatus = nt(0x8000_0005);
/// `STATUS_NO_MORE_ENTRIES` (0x8000001A): the end of an enumeration.
pub const STATUS_NO_MORE_ENTRIES: NtStatus = nt(0x8000_001A);
/// `STATUS_UNSUCCESSFUL` (0xC0000001).
pub const STATUS_UNSUCCESSFUL: NtStatus = nt(0xC000_0001);
/// `STATUS_MORE_PROCESSING_REQUIRED` (0xC0000016): a completion routine keeps the IRP.
pub const STATUS_MORE_PROCESSING_REQUIRED: NtStatus = nt(0xC000_0016);
/// `STATUS_NOT_IMPLEMENTED` (0xC0000002).
pub const STATUS_NOT_IMPLEMENTED: NtStatus = nt(0xC000_0002);
/// `STATUS_INVALID_INFO_CLASS` (0xC0000003): an information class the routine does not know.
pub const STATUS_INVALID_INFO_CLASS: NtStatus = nt(0xC000_0003);
/// `STATUS_INFO_LENGTH_MISMATCH` (0xC0000004): the buffer is too small for the information; the
/// length returned says how much is needed.
pub const STATUS_INFO_LENGTH_MISMATCH: NtStatus = nt(0xC000_0004);
/// `STATUS_INVALID_HANDLE` (0xC0000008).
pub const STATUS_INVALID_HANDLE: NtStatus = nt(0xC000_0008);
/// `STATUS_NO_SUCH_DEVICE` (0xC000000E).
pub const STATUS_NO_SUCH_DEVICE: NtStatus = nt(0xC000_000E);
/// `STATUS_INVALID_PARAMETER` (0xC000000D).
pub const STATUS_INVALID_PARAMETER: NtStatus = nt(0xC000_000D);
/// `STATUS_NO_MEMORY` (0xC0000017).
pub const STATUS_NO_MEMORY: NtStatus = nt(0xC000_0017);
/// `STATUS_ACCESS_DENIED` (0xC0000022).
pub const STATUS_ACCESS_DENIED: NtStatus = nt(0xC000_0022);
/// `STATUS_BUFFER_TOO_SMALL` (0xC0000023).
pub const STATUS_BUFFER_TOO_SMALL: NtStatus = nt(0xC000_0023);
/// `STATUS_OBJECT_TYPE_MISMATCH` (0xC0000024).
pub const STATUS_OBJECT_TYPE_MISMATCH: NtStatus = nt(0xC000_0024);
/// `STATUS_OBJECT_NAME_NOT_FOUND` (0xC0000034).
pub const STATUS_OBJECT_NAME_NOT_FOUND: NtStatus = nt(0xC000_0034);
/// `STATUS_OBJECT_PATH_NOT_FOUND` (0xC000003A).
pub const STATUS_OBJECT_PATH_NOT_FOUND: NtStatus = nt(0xC000_003A);
/// `STATUS_QUOTA_EXCEEDED` (0xC0000044).
pub const STATUS_QUOTA_EXCEEDED: NtStatus = nt(0xC000_0044);
/// `STATUS_PROCEDURE_NOT_FOUND` (0xC000007A): a routine that is not there (a notify routine
/// never registered, for the routines that remove one).
pub const STATUS_PROCEDURE_NOT_FOUND: NtStatus = nt(0xC000_007A);
/// `STATUS_INSUFFICIENT_RESOURCES` (0xC000009A).
pub const STATUS_INSUFFICIENT_RESOURCES: NtStatus = nt(0xC000_009A);
/// `STATUS_MEDIA_WRITE_PROTECTED` (0xC00000A2).
pub const STATUS_MEDIA_WRITE_PROTECTED: NtStatus = nt(0xC000_00A2);
/// `STATUS_PIPE_BUSY` (0xC00000AE).
pub const STATUS_PIPE_BUSY: NtStatus = nt(0xC000_00AE);
/// `STATUS_PIPE_CONNECTED` (0xC00000B2).
pub const STATUS_PIPE_CONNECTED: NtStatus = nt(0xC000_00B2);
/// `STATUS_IO_TIMEOUT` (0xC00000B5).
pub const STATUS_IO_TIMEOUT: NtStatus = nt(0xC000_00B5);
/// `STATUS_FILE_IS_A_DIRECTORY` (0xC00000BA).
pub const STATUS_FILE_IS_A_DIRECTORY: NtStatus = nt(0xC000_00BA);
/// `STATUS_NOT_SUPPORTED` (0xC00000BB).
pub const STATUS_NOT_SUPPORTED: NtStatus = nt(0xC000_00BB);
/// `STATUS_UNEXPECTED_IO_ERROR` (0xC00000E9).
pub const STATUS_UNEXPECTED_IO_ERROR: NtStatus = nt(0xC000_00E9);
/// `STATUS_DIRECTORY_NOT_EMPTY` (0xC0000101).
pub const STATUS_DIRECTORY_NOT_EMPTY: NtStatus = nt(0xC000_0101);
/// `STATUS_CANCELLED` (0xC0000120).
pub const STATUS_CANCELLED: NtStatus = nt(0xC000_0120);
/// `STATUS_INVALID_BUFFER_SIZE` (0xC0000206).
pub const STATUS_INVALID_BUFFER_SIZE: NtStatus = nt(0xC000_0206);
/// `STATUS_OBJECTID_EXISTS` (0xC000022B).
pub const STATUS_OBJECTID_EXISTS: NtStatus = nt(0xC000_022B);
/// `STATUS_RETRY` (0xC000022D).
pub const STATUS_RETRY: NtStatus = nt(0xC000_022D);
/// `STATUS_INCOMPATIBLE_DRIVER_BLOCKED` (0xC0000424).
pub const STATUS_INCOMPATIBLE_DRIVER_BLOCKED: NtStatus = nt(0xC000_0424);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_patterns_become_the_signed_values_windows_uses() {
        assert_eq!(STATUS_SUCCESS, 0);
        assert_eq!(STATUS_UNSUCCESSFUL, -1_073_741_823);
        assert_eq!(STATUS_RETRY.cast_unsigned(), 0xC000_022D);
        assert_eq!(STATUS_BUFFER_OVERFLOW.cast_unsigned(), 0x8000_0005);
    }

    #[test]
    fn only_errors_and_warnings_fail_nt_success() {
        assert!(nt_success(STATUS_SUCCESS));
        assert!(nt_success(STATUS_TIMEOUT));
        assert!(!nt_success(STATUS_BUFFER_OVERFLOW));
        assert!(!nt_success(STATUS_NOT_SUPPORTED));
    }
}
