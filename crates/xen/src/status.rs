// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! NTSTATUS values and the one typed error every hypercall wrapper returns.
//!
//! Upstream keeps this knowledge in `include/xen-errno.h` (`ERRNO_TO_STATUS`) and in
//! `src/xen/grant_table.c` (`GNTST_TO_STATUS`). Here the wrappers return [`Error`], a typed
//! reason, and [`Error::ntstatus`] maps it once, exactly as upstream maps it, where the C ABI
//! needs an NTSTATUS.

use xen_headers::errno;
use xen_headers::grant_table::{
    GNTST_BAD_HANDLE, GNTST_EAGAIN, GNTST_OKAY, GNTST_PERMISSION_DENIED,
};

pub use ntstatus::{
    NtStatus, STATUS_ACCESS_DENIED, STATUS_CANCELLED, STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_FILE_IS_A_DIRECTORY, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER, STATUS_MEDIA_WRITE_PROTECTED, STATUS_NO_MEMORY,
    STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECTID_EXISTS, STATUS_PIPE_BUSY, STATUS_PIPE_CONNECTED, STATUS_RETRY, STATUS_SUCCESS,
    STATUS_UNEXPECTED_IO_ERROR, STATUS_UNSUCCESSFUL,
};

/// Why a Xen service failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The hypercall returned `-errno`; the value held is the positive errno (Xen's numbering,
    /// which is Linux's).
    Errno(i32),
    /// A grant-table operation failed one entry with this `GNTST_*` status (negative).
    Grant(i16),
    /// Xen answered but not with what was asked for (upstream's `STATUS_UNSUCCESSFUL` cases,
    /// e.g. `GNTTABOP_query_size` with a bad status).
    Unsuccessful,
    /// The request was refused before or after the hypercall because of its arguments (e.g. the
    /// port asked about is not interdomain).
    InvalidParameter,
    /// `SCHEDOP_shutdown(SHUTDOWN_suspend)` returned 1: the suspend was cancelled and the domain
    /// resumed where it was.
    Cancelled,
    /// No Xen, or no known hypercall instruction for this CPU.
    NotSupported,
}

impl Error {
    /// The error for a negative hypercall return value `rc` (`-errno`).
    ///
    /// A value too large for an `i32` cannot be a real errno; it keeps `i32::MAX`, which maps to
    /// `STATUS_UNSUCCESSFUL` like every other unknown errno.
    #[must_use]
    pub fn from_rc(rc: isize) -> Self {
        Self::Errno(i32::try_from(rc.unsigned_abs()).unwrap_or(i32::MAX))
    }

    /// The NTSTATUS upstream returns for this error.
    #[must_use]
    pub const fn ntstatus(self) -> NtStatus {
        match self {
            Self::Errno(errno) => errno_to_status(errno),
            Self::Grant(status) => gntst_to_status(status),
            Self::Unsuccessful => STATUS_UNSUCCESSFUL,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
            Self::Cancelled => STATUS_CANCELLED,
            Self::NotSupported => STATUS_NOT_SUPPORTED,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Errno(errno) => write!(f, "Xen errno {errno}"),
            Self::Grant(status) => write!(f, "grant status {status}"),
            Self::Unsuccessful => f.write_str("unsuccessful"),
            Self::InvalidParameter => f.write_str("invalid parameter"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::NotSupported => f.write_str("not supported"),
        }
    }
}

/// Upstream's `ERRNO_TO_STATUS`: a positive Xen errno to NTSTATUS. Anything not listed
/// (`ESRCH`, `EFAULT`, `E2BIG`...) is `STATUS_UNSUCCESSFUL`.
#[must_use]
pub const fn errno_to_status(errno: i32) -> NtStatus {
    match errno {
        errno::EINVAL => STATUS_INVALID_PARAMETER,
        errno::EACCES | errno::EPERM => STATUS_ACCESS_DENIED,
        errno::EEXIST => STATUS_OBJECTID_EXISTS,
        errno::EISDIR => STATUS_FILE_IS_A_DIRECTORY,
        errno::ENOENT => STATUS_OBJECT_NAME_NOT_FOUND,
        errno::ENOMEM => STATUS_NO_MEMORY,
        errno::ENOSPC => STATUS_INSUFFICIENT_RESOURCES,
        errno::EIO => STATUS_UNEXPECTED_IO_ERROR,
        errno::ENOTEMPTY => STATUS_DIRECTORY_NOT_EMPTY,
        errno::ENOSYS => STATUS_NOT_IMPLEMENTED,
        errno::EROFS => STATUS_MEDIA_WRITE_PROTECTED,
        errno::EBUSY => STATUS_PIPE_BUSY,
        errno::EAGAIN => STATUS_RETRY,
        errno::EISCONN => STATUS_PIPE_CONNECTED,
        _ => STATUS_UNSUCCESSFUL,
    }
}

/// Upstream's `GNTST_TO_STATUS`: a grant-table entry status to NTSTATUS.
#[must_use]
pub const fn gntst_to_status(status: i16) -> NtStatus {
    match status {
        GNTST_OKAY => STATUS_SUCCESS,
        GNTST_BAD_HANDLE => STATUS_INVALID_HANDLE,
        GNTST_PERMISSION_DENIED => STATUS_ACCESS_DENIED,
        GNTST_EAGAIN => STATUS_RETRY,
        _ => STATUS_UNSUCCESSFUL,
    }
}

/// What every wrapper returns.
pub type Result<T> = core::result::Result<T, Error>;

/// Turns a hypercall return value into the wrapper's result: negative is `-errno`, anything else
/// is the operation's non-negative result.
///
/// # Errors
///
/// [`Error::Errno`] when `rc` is negative.
pub fn check(rc: isize) -> Result<usize> {
    usize::try_from(rc).map_err(|_| Error::from_rc(rc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of upstream's `ERRNO_TO_STATUS`, by the numbers Xen uses.
    const UPSTREAM_ERRNO_TABLE: &[(i32, NtStatus)] = &[
        (22, STATUS_INVALID_PARAMETER),
        (13, STATUS_ACCESS_DENIED),
        (1, STATUS_ACCESS_DENIED),
        (17, STATUS_OBJECTID_EXISTS),
        (21, STATUS_FILE_IS_A_DIRECTORY),
        (2, STATUS_OBJECT_NAME_NOT_FOUND),
        (12, STATUS_NO_MEMORY),
        (28, STATUS_INSUFFICIENT_RESOURCES),
        (5, STATUS_UNEXPECTED_IO_ERROR),
        (39, STATUS_DIRECTORY_NOT_EMPTY),
        (38, STATUS_NOT_IMPLEMENTED),
        (30, STATUS_MEDIA_WRITE_PROTECTED),
        (16, STATUS_PIPE_BUSY),
        (11, STATUS_RETRY),
        (106, STATUS_PIPE_CONNECTED),
    ];

    #[test]
    fn every_upstream_errno_maps_to_its_status() {
        for &(errno, status) in UPSTREAM_ERRNO_TABLE {
            assert_eq!(errno_to_status(errno), status, "errno {errno}");
            assert_eq!(Error::Errno(errno).ntstatus(), status, "errno {errno}");
        }
    }

    #[test]
    fn unlisted_errnos_are_unsuccessful() {
        // ESRCH, E2BIG, EFAULT, ERANGE, EOPNOTSUPP, 0 and nonsense.
        for errno in [3, 7, 14, 34, 95, 0, -1, i32::MAX, i32::MIN] {
            assert_eq!(errno_to_status(errno), STATUS_UNSUCCESSFUL, "errno {errno}");
        }
    }

    #[test]
    fn status_values_have_their_documented_bits() {
        assert_eq!(STATUS_INVALID_PARAMETER.cast_unsigned(), 0xC000_000D);
        assert_eq!(STATUS_OBJECTID_EXISTS.cast_unsigned(), 0xC000_022B);
        assert_eq!(STATUS_RETRY.cast_unsigned(), 0xC000_022D);
        assert_eq!(STATUS_PIPE_CONNECTED.cast_unsigned(), 0xC000_00B2);
        assert_eq!(STATUS_CANCELLED.cast_unsigned(), 0xC000_0120);
    }

    #[test]
    fn grant_statuses_map_as_upstream() {
        assert_eq!(gntst_to_status(0), STATUS_SUCCESS);
        assert_eq!(gntst_to_status(-4), STATUS_INVALID_HANDLE);
        assert_eq!(gntst_to_status(-8), STATUS_ACCESS_DENIED);
        assert_eq!(gntst_to_status(-12), STATUS_RETRY);
        for other in [-1, -2, -3, -5, -6, -7, -9, -10, -11, -13, 1, i16::MIN] {
            assert_eq!(gntst_to_status(other), STATUS_UNSUCCESSFUL, "{other}");
        }
    }

    #[test]
    fn negative_rc_is_errno_and_the_rest_is_a_result() {
        assert_eq!(check(-22), Err(Error::Errno(22)));
        assert_eq!(check(0), Ok(0));
        assert_eq!(check(7), Ok(7));
        assert_eq!(check(isize::MIN), Err(Error::Errno(i32::MAX)));
        assert_eq!(Error::from_rc(isize::MIN).ntstatus(), STATUS_UNSUCCESSFUL);
    }

    #[test]
    fn non_errno_errors_map_to_upstreams_statuses() {
        assert_eq!(Error::Unsuccessful.ntstatus(), STATUS_UNSUCCESSFUL);
        assert_eq!(Error::InvalidParameter.ntstatus(), STATUS_INVALID_PARAMETER);
        assert_eq!(Error::Cancelled.ntstatus(), STATUS_CANCELLED);
        assert_eq!(Error::NotSupported.ntstatus(), STATUS_NOT_SUPPORTED);
        assert_eq!(Error::Grant(-4).ntstatus(), STATUS_INVALID_HANDLE);
    }
}
