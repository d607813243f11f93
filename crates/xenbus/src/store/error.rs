// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Store errors and their one mapping to NTSTATUS, as the C package maps them.

use core::fmt;

use super::wire::XSD_ERRORS;

/// An NTSTATUS value.
pub use ntstatus::NtStatus;

/// The NTSTATUS values the store returns, under short names.
pub mod status {
    pub use ntstatus::{
        STATUS_ACCESS_DENIED as ACCESS_DENIED, STATUS_DIRECTORY_NOT_EMPTY as DIRECTORY_NOT_EMPTY,
        STATUS_FILE_IS_A_DIRECTORY as FILE_IS_A_DIRECTORY,
        STATUS_INSUFFICIENT_RESOURCES as INSUFFICIENT_RESOURCES,
        STATUS_INVALID_BUFFER_SIZE as INVALID_BUFFER_SIZE, STATUS_INVALID_HANDLE as INVALID_HANDLE,
        STATUS_INVALID_PARAMETER as INVALID_PARAMETER, STATUS_IO_TIMEOUT as IO_TIMEOUT,
        STATUS_MEDIA_WRITE_PROTECTED as MEDIA_WRITE_PROTECTED, STATUS_NO_MEMORY as NO_MEMORY,
        STATUS_NOT_IMPLEMENTED as NOT_IMPLEMENTED,
        STATUS_OBJECT_NAME_NOT_FOUND as OBJECT_NAME_NOT_FOUND,
        STATUS_OBJECT_PATH_NOT_FOUND as OBJECT_PATH_NOT_FOUND,
        STATUS_OBJECTID_EXISTS as OBJECTID_EXISTS, STATUS_PIPE_BUSY as PIPE_BUSY,
        STATUS_PIPE_CONNECTED as PIPE_CONNECTED, STATUS_QUOTA_EXCEEDED as QUOTA_EXCEEDED,
        STATUS_RETRY as RETRY, STATUS_SUCCESS as SUCCESS,
        STATUS_UNEXPECTED_IO_ERROR as UNEXPECTED_IO_ERROR, STATUS_UNSUCCESSFUL as UNSUCCESSFUL,
    };
}

/// The error names xenstored sends in an `XS_ERROR` reply, in `xsd_errors[]` order, plus
/// `EQUOTA` (which the C package checks first) and anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XsErrno {
    /// `EINVAL`.
    Einval,
    /// `EACCES`.
    Eacces,
    /// `EEXIST`.
    Eexist,
    /// `EISDIR`.
    Eisdir,
    /// `ENOENT`.
    Enoent,
    /// `ENOMEM`.
    Enomem,
    /// `ENOSPC`.
    Enospc,
    /// `EIO`.
    Eio,
    /// `ENOTEMPTY`.
    Enotempty,
    /// `ENOSYS`.
    Enosys,
    /// `EROFS`.
    Erofs,
    /// `EBUSY`.
    Ebusy,
    /// `EAGAIN`: a transaction conflicted.
    Eagain,
    /// `EISCONN`.
    Eisconn,
    /// `E2BIG`.
    E2big,
    /// `EPERM`.
    Eperm,
    /// `EQUOTA`: not in `xsd_errors[]`, but oxenstored sends it and the C package maps it.
    Equota,
    /// A name the table does not know.
    Unknown,
}

impl XsErrno {
    /// Decodes an `XS_ERROR` payload: the name up to the first NUL, matched exactly.
    #[must_use]
    pub fn from_payload(payload: &[u8]) -> Self {
        let name = payload.split(|&b| b == 0).next().unwrap_or_default();
        if name == b"EQUOTA" {
            return Self::Equota;
        }
        XSD_ERRORS
            .iter()
            .find(|e| e.errstring.as_bytes() == name)
            .map_or(Self::Unknown, |e| Self::from_errno(e.errnum))
    }

    /// The variant for a Linux errno value from the `xsd_errors[]` table.
    #[must_use]
    pub const fn from_errno(errno: i32) -> Self {
        match errno {
            22 => Self::Einval,
            13 => Self::Eacces,
            17 => Self::Eexist,
            21 => Self::Eisdir,
            2 => Self::Enoent,
            12 => Self::Enomem,
            28 => Self::Enospc,
            5 => Self::Eio,
            39 => Self::Enotempty,
            38 => Self::Enosys,
            30 => Self::Erofs,
            16 => Self::Ebusy,
            11 => Self::Eagain,
            106 => Self::Eisconn,
            7 => Self::E2big,
            1 => Self::Eperm,
            _ => Self::Unknown,
        }
    }

    /// The status the C package returns for this error.
    #[must_use]
    pub const fn ntstatus(self) -> NtStatus {
        match self {
            Self::Einval => status::INVALID_PARAMETER,
            Self::Eacces | Self::Eperm => status::ACCESS_DENIED,
            Self::Eexist => status::OBJECTID_EXISTS,
            Self::Eisdir => status::FILE_IS_A_DIRECTORY,
            Self::Enoent => status::OBJECT_NAME_NOT_FOUND,
            Self::Enomem => status::NO_MEMORY,
            Self::Enospc => status::INSUFFICIENT_RESOURCES,
            Self::Eio => status::UNEXPECTED_IO_ERROR,
            Self::Enotempty => status::DIRECTORY_NOT_EMPTY,
            Self::Enosys => status::NOT_IMPLEMENTED,
            Self::Erofs => status::MEDIA_WRITE_PROTECTED,
            Self::Ebusy => status::PIPE_BUSY,
            Self::Eagain => status::RETRY,
            Self::Eisconn => status::PIPE_CONNECTED,
            Self::Equota => status::QUOTA_EXCEEDED,
            Self::E2big | Self::Unknown => status::UNSUCCESSFUL,
        }
    }
}

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// xenstored answered `XS_ERROR`.
    Daemon(XsErrno),
    /// A caller argument is invalid (a NUL inside a path, a permission mask out of range, a bad
    /// format string).
    InvalidParameter,
    /// A path, value or payload exceeds its limit; nothing was sent.
    InvalidBufferSize,
    /// Directory answered with an empty list.
    PathNotFound,
    /// The transaction was invalidated by a suspend; nothing was sent.
    TransactionExpired,
    /// The transaction or watch handle is not (or no longer) known.
    InvalidHandle,
    /// No identifiers or memory left for another request, watch or transaction.
    InsufficientResources,
    /// The peer broke the wire protocol (an impossible ring index, an oversized length, a reply
    /// of the wrong type). The connection stays failed until the next resume.
    Protocol,
    /// The reply was longer than `XENSTORE_PAYLOAD_MAX` (oxenstored sends such directory
    /// lists); it was skipped.
    ReplyTooLarge,
    /// The transport is closed.
    Disconnected,
    /// No reply arrived within the configured number of wait slices.
    TimedOut,
}

impl StoreError {
    /// The status the `XENBUS_STORE` methods return for this error.
    #[must_use]
    pub const fn ntstatus(self) -> NtStatus {
        match self {
            Self::Daemon(errno) => errno.ntstatus(),
            Self::InvalidParameter => status::INVALID_PARAMETER,
            Self::InvalidBufferSize => status::INVALID_BUFFER_SIZE,
            Self::PathNotFound => status::OBJECT_PATH_NOT_FOUND,
            Self::InvalidHandle => status::INVALID_HANDLE,
            Self::InsufficientResources => status::INSUFFICIENT_RESOURCES,
            Self::TimedOut => status::IO_TIMEOUT,
            Self::TransactionExpired
            | Self::Protocol
            | Self::ReplyTooLarge
            | Self::Disconnected => status::UNSUCCESSFUL,
        }
    }

    /// True for the error a caller answers by retrying its transaction.
    #[must_use]
    pub const fn is_retry(self) -> bool {
        self.ntstatus() == status::RETRY
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Daemon(errno) => write!(f, "xenstored error {errno:?}"),
            Self::InvalidParameter => f.write_str("invalid parameter"),
            Self::InvalidBufferSize => f.write_str("path, value or payload too long"),
            Self::PathNotFound => f.write_str("empty directory"),
            Self::TransactionExpired => f.write_str("transaction expired by a suspend"),
            Self::InvalidHandle => f.write_str("unknown handle"),
            Self::InsufficientResources => f.write_str("no identifiers left"),
            Self::Protocol => f.write_str("xenstore protocol violation by the peer"),
            Self::ReplyTooLarge => f.write_str("reply longer than XENSTORE_PAYLOAD_MAX"),
            Self::Disconnected => f.write_str("transport closed"),
            Self::TimedOut => f.write_str("no reply from xenstored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_name_maps_as_the_c_package_does() {
        let cases: &[(&[u8], NtStatus)] = &[
            (b"EINVAL\0", status::INVALID_PARAMETER),
            (b"EACCES\0", status::ACCESS_DENIED),
            (b"EEXIST\0", status::OBJECTID_EXISTS),
            (b"EISDIR\0", status::FILE_IS_A_DIRECTORY),
            (b"ENOENT\0", status::OBJECT_NAME_NOT_FOUND),
            (b"ENOMEM\0", status::NO_MEMORY),
            (b"ENOSPC\0", status::INSUFFICIENT_RESOURCES),
            (b"EIO\0", status::UNEXPECTED_IO_ERROR),
            (b"ENOTEMPTY\0", status::DIRECTORY_NOT_EMPTY),
            (b"ENOSYS\0", status::NOT_IMPLEMENTED),
            (b"EROFS\0", status::MEDIA_WRITE_PROTECTED),
            (b"EBUSY\0", status::PIPE_BUSY),
            (b"EAGAIN\0", status::RETRY),
            (b"EISCONN\0", status::PIPE_CONNECTED),
            (b"E2BIG\0", status::UNSUCCESSFUL),
            (b"EPERM\0", status::ACCESS_DENIED),
            (b"EQUOTA\0", status::QUOTA_EXCEEDED),
            (b"EWHAT\0", status::UNSUCCESSFUL),
            (b"", status::UNSUCCESSFUL),
        ];
        for &(payload, expected) in cases {
            assert_eq!(
                StoreError::Daemon(XsErrno::from_payload(payload)).ntstatus(),
                expected,
                "{payload:?}"
            );
        }
    }

    #[test]
    fn a_prefix_of_a_name_is_not_that_name() {
        assert_eq!(XsErrno::from_payload(b"E\0"), XsErrno::Unknown);
        assert_eq!(XsErrno::from_payload(b"ENOENTX\0"), XsErrno::Unknown);
        assert_eq!(XsErrno::from_payload(b"ENOENT"), XsErrno::Enoent);
    }

    #[test]
    fn only_eagain_asks_for_a_retry() {
        assert!(StoreError::Daemon(XsErrno::Eagain).is_retry());
        assert!(!StoreError::Daemon(XsErrno::Enoent).is_retry());
        assert!(!StoreError::TransactionExpired.is_retry());
    }
}
