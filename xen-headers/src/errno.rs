// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/errno.h`: Xen's errno values; hypercalls return their negation.
//!
//! A failing hypercall returns `-EFOO` (e.g. `-22` for [`EINVAL`]). The values follow x86 Linux
//! numbering. Only the values the header exposes to guests are here: `XEN_EINTR` and
//! `XEN_ERESTART` exist only inside the hypervisor (`#ifdef __XEN__`) and never reach a guest.
//!
//! The constants drop C's `XEN_` prefix: `XEN_EPERM` is [`EPERM`].

/// `XEN_EPERM`: operation not permitted.
pub const EPERM: i32 = 1;
/// `XEN_ENOENT`: no such file or directory.
pub const ENOENT: i32 = 2;
/// `XEN_ESRCH`: no such process.
pub const ESRCH: i32 = 3;
/// `XEN_EIO`: I/O error.
pub const EIO: i32 = 5;
/// `XEN_ENXIO`: no such device or address.
pub const ENXIO: i32 = 6;
/// `XEN_E2BIG`: arg list too long.
pub const E2BIG: i32 = 7;
/// `XEN_ENOEXEC`: exec format error.
pub const ENOEXEC: i32 = 8;
/// `XEN_EBADF`: bad file number.
pub const EBADF: i32 = 9;
/// `XEN_ECHILD`: no child processes.
pub const ECHILD: i32 = 10;
/// `XEN_EAGAIN`: try again.
pub const EAGAIN: i32 = 11;
/// `XEN_EWOULDBLOCK`: operation would block; the same value as [`EAGAIN`].
pub const EWOULDBLOCK: i32 = EAGAIN;
/// `XEN_ENOMEM`: out of memory.
pub const ENOMEM: i32 = 12;
/// `XEN_EACCES`: permission denied.
pub const EACCES: i32 = 13;
/// `XEN_EFAULT`: bad address.
pub const EFAULT: i32 = 14;
/// `XEN_EBUSY`: device or resource busy.
pub const EBUSY: i32 = 16;
/// `XEN_EEXIST`: file exists.
pub const EEXIST: i32 = 17;
/// `XEN_EXDEV`: cross-device link.
pub const EXDEV: i32 = 18;
/// `XEN_ENODEV`: no such device.
pub const ENODEV: i32 = 19;
/// `XEN_ENOTDIR`: not a directory.
pub const ENOTDIR: i32 = 20;
/// `XEN_EISDIR`: is a directory.
pub const EISDIR: i32 = 21;
/// `XEN_EINVAL`: invalid argument.
pub const EINVAL: i32 = 22;
/// `XEN_ENFILE`: file table overflow.
pub const ENFILE: i32 = 23;
/// `XEN_EMFILE`: too many open files.
pub const EMFILE: i32 = 24;
/// `XEN_ENOSPC`: no space left on device.
pub const ENOSPC: i32 = 28;
/// `XEN_EROFS`: read-only file system.
pub const EROFS: i32 = 30;
/// `XEN_EMLINK`: too many links.
pub const EMLINK: i32 = 31;
/// `XEN_EDOM`: math argument out of domain of func.
pub const EDOM: i32 = 33;
/// `XEN_ERANGE`: math result not representable.
pub const ERANGE: i32 = 34;
/// `XEN_EDEADLK`: resource deadlock would occur.
pub const EDEADLK: i32 = 35;
/// `XEN_EDEADLOCK`: resource deadlock would occur; the same value as [`EDEADLK`].
pub const EDEADLOCK: i32 = EDEADLK;
/// `XEN_ENAMETOOLONG`: file name too long.
pub const ENAMETOOLONG: i32 = 36;
/// `XEN_ENOLCK`: no record locks available.
pub const ENOLCK: i32 = 37;
/// `XEN_ENOSYS`: function not implemented.
pub const ENOSYS: i32 = 38;
/// `XEN_ENOTEMPTY`: directory not empty.
pub const ENOTEMPTY: i32 = 39;
/// `XEN_ENODATA`: no data available.
pub const ENODATA: i32 = 61;
/// `XEN_ETIME`: timer expired.
pub const ETIME: i32 = 62;
/// `XEN_EBADMSG`: not a data message.
pub const EBADMSG: i32 = 74;
/// `XEN_EOVERFLOW`: value too large for defined data type.
pub const EOVERFLOW: i32 = 75;
/// `XEN_EILSEQ`: illegal byte sequence.
pub const EILSEQ: i32 = 84;
/// `XEN_ENOTSOCK`: socket operation on non-socket.
pub const ENOTSOCK: i32 = 88;
/// `XEN_EMSGSIZE`: message too large.
pub const EMSGSIZE: i32 = 90;
/// `XEN_EOPNOTSUPP`: operation not supported on transport endpoint.
pub const EOPNOTSUPP: i32 = 95;
/// `XEN_EADDRINUSE`: address already in use.
pub const EADDRINUSE: i32 = 98;
/// `XEN_EADDRNOTAVAIL`: cannot assign requested address.
pub const EADDRNOTAVAIL: i32 = 99;
/// `XEN_ENOBUFS`: no buffer space available.
pub const ENOBUFS: i32 = 105;
/// `XEN_EISCONN`: transport endpoint is already connected.
pub const EISCONN: i32 = 106;
/// `XEN_ENOTCONN`: transport endpoint is not connected.
pub const ENOTCONN: i32 = 107;
/// `XEN_ETIMEDOUT`: connection timed out.
pub const ETIMEDOUT: i32 = 110;
/// `XEN_ECONNREFUSED`: connection refused.
pub const ECONNREFUSED: i32 = 111;

/// The name of a Xen errno value (`"EINVAL"` for 22), for logging; `None` for a value Xen does
/// not define.
///
/// Takes the positive value: pass `-rc` for a hypercall's negative return code. Aliases give
/// the name of the value they alias ([`EWOULDBLOCK`] is `"EAGAIN"`, [`EDEADLOCK`] is
/// `"EDEADLK"`).
#[must_use]
pub const fn name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EIO => "EIO",
        ENXIO => "ENXIO",
        E2BIG => "E2BIG",
        ENOEXEC => "ENOEXEC",
        EBADF => "EBADF",
        ECHILD => "ECHILD",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EXDEV => "EXDEV",
        ENODEV => "ENODEV",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        EMLINK => "EMLINK",
        EDOM => "EDOM",
        ERANGE => "ERANGE",
        EDEADLK => "EDEADLK",
        ENAMETOOLONG => "ENAMETOOLONG",
        ENOLCK => "ENOLCK",
        ENOSYS => "ENOSYS",
        ENOTEMPTY => "ENOTEMPTY",
        ENODATA => "ENODATA",
        ETIME => "ETIME",
        EBADMSG => "EBADMSG",
        EOVERFLOW => "EOVERFLOW",
        EILSEQ => "EILSEQ",
        ENOTSOCK => "ENOTSOCK",
        EMSGSIZE => "EMSGSIZE",
        EOPNOTSUPP => "EOPNOTSUPP",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENOBUFS => "ENOBUFS",
        EISCONN => "EISCONN",
        ENOTCONN => "ENOTCONN",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_value_by_its_own_name() {
        let all = [
            (EPERM, "EPERM"),
            (ENOENT, "ENOENT"),
            (ESRCH, "ESRCH"),
            (EIO, "EIO"),
            (ENXIO, "ENXIO"),
            (E2BIG, "E2BIG"),
            (ENOEXEC, "ENOEXEC"),
            (EBADF, "EBADF"),
            (ECHILD, "ECHILD"),
            (EAGAIN, "EAGAIN"),
            (ENOMEM, "ENOMEM"),
            (EACCES, "EACCES"),
            (EFAULT, "EFAULT"),
            (EBUSY, "EBUSY"),
            (EEXIST, "EEXIST"),
            (EXDEV, "EXDEV"),
            (ENODEV, "ENODEV"),
            (ENOTDIR, "ENOTDIR"),
            (EISDIR, "EISDIR"),
            (EINVAL, "EINVAL"),
            (ENFILE, "ENFILE"),
            (EMFILE, "EMFILE"),
            (ENOSPC, "ENOSPC"),
            (EROFS, "EROFS"),
            (EMLINK, "EMLINK"),
            (EDOM, "EDOM"),
            (ERANGE, "ERANGE"),
            (EDEADLK, "EDEADLK"),
            (ENAMETOOLONG, "ENAMETOOLONG"),
            (ENOLCK, "ENOLCK"),
            (ENOSYS, "ENOSYS"),
            (ENOTEMPTY, "ENOTEMPTY"),
            (ENODATA, "ENODATA"),
            (ETIME, "ETIME"),
            (EBADMSG, "EBADMSG"),
            (EOVERFLOW, "EOVERFLOW"),
            (EILSEQ, "EILSEQ"),
            (ENOTSOCK, "ENOTSOCK"),
            (EMSGSIZE, "EMSGSIZE"),
            (EOPNOTSUPP, "EOPNOTSUPP"),
            (EADDRINUSE, "EADDRINUSE"),
            (EADDRNOTAVAIL, "EADDRNOTAVAIL"),
            (ENOBUFS, "ENOBUFS"),
            (EISCONN, "EISCONN"),
            (ENOTCONN, "ENOTCONN"),
            (ETIMEDOUT, "ETIMEDOUT"),
            (ECONNREFUSED, "ECONNREFUSED"),
        ];
        for (value, expected) in all {
            assert_eq!(name(value), Some(expected), "errno {value}");
        }
    }

    #[test]
    fn aliases_name_the_value_they_alias() {
        assert_eq!(EWOULDBLOCK, EAGAIN);
        assert_eq!(name(EWOULDBLOCK), Some("EAGAIN"));
        assert_eq!(EDEADLOCK, EDEADLK);
        assert_eq!(name(EDEADLOCK), Some("EDEADLK"));
    }

    #[test]
    fn unknown_negative_and_hypervisor_internal_values_have_no_name() {
        assert_eq!(name(0), None);
        assert_eq!(name(-EINVAL), None);
        assert_eq!(name(4), None, "EINTR is internal to Xen");
        assert_eq!(name(85), None, "ERESTART is internal to Xen");
        assert_eq!(name(15), None);
        assert_eq!(name(i32::MAX), None);
        assert_eq!(name(i32::MIN), None);
    }
}
