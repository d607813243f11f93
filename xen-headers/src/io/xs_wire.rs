// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/xs_wire.h`: the xenstore wire protocol — message types, the [`XsdSockmsg`]
//! header, the error-name table and the shared ring page [`XenstoreDomainInterface`].
//!
//! A message is an [`XsdSockmsg`] header followed by `len` payload bytes (at most
//! [`XENSTORE_PAYLOAD_MAX`]), generally NUL-terminated strings. Requests go through the `req`
//! ring, replies and watch events come back through `rsp`; both are byte streams with
//! free-running indices masked by [`mask_xenstore_idx`]. A failed request is answered with an
//! [`XS_ERROR`] message whose payload is an errno name (`"ENOENT\0"`), mapped back to a number
//! by [`errno_from_name`].

use core::mem::size_of;

/// `enum xsd_sockmsg_type`: the type of a message (the `type` field of [`XsdSockmsg`]).
pub type XsdSockmsgType = u32;

/// `XS_CONTROL`: daemon control commands (dom0 tools only).
pub const XS_CONTROL: XsdSockmsgType = 0;
/// `XS_DEBUG`: the old name of [`XS_CONTROL`].
pub const XS_DEBUG: XsdSockmsgType = XS_CONTROL;
/// `XS_DIRECTORY`: list a node's children (payload `path\0`; reply: NUL-separated names).
pub const XS_DIRECTORY: XsdSockmsgType = 1;
/// `XS_READ`: read a node's value (payload `path\0`; reply: the value, not NUL-terminated).
pub const XS_READ: XsdSockmsgType = 2;
/// `XS_GET_PERMS`: read a node's permissions.
pub const XS_GET_PERMS: XsdSockmsgType = 3;
/// `XS_WATCH`: register a watch (payload `path\0token\0`).
pub const XS_WATCH: XsdSockmsgType = 4;
/// `XS_UNWATCH`: remove a watch (payload `path\0token\0`).
pub const XS_UNWATCH: XsdSockmsgType = 5;
/// `XS_TRANSACTION_START`: start a transaction (payload `\0`; reply: the id in decimal).
pub const XS_TRANSACTION_START: XsdSockmsgType = 6;
/// `XS_TRANSACTION_END`: end a transaction (payload `T\0` to commit, `F\0` to abort).
pub const XS_TRANSACTION_END: XsdSockmsgType = 7;
/// `XS_INTRODUCE`: introduce a new domain to xenstored (dom0 tools only).
pub const XS_INTRODUCE: XsdSockmsgType = 8;
/// `XS_RELEASE`: forget a domain (dom0 tools only).
pub const XS_RELEASE: XsdSockmsgType = 9;
/// `XS_GET_DOMAIN_PATH`: the home path of a domain (`/local/domain/<domid>`).
pub const XS_GET_DOMAIN_PATH: XsdSockmsgType = 10;
/// `XS_WRITE`: write a node (payload `path\0` then the value, not NUL-terminated).
pub const XS_WRITE: XsdSockmsgType = 11;
/// `XS_MKDIR`: create a node with an empty value.
pub const XS_MKDIR: XsdSockmsgType = 12;
/// `XS_RM`: remove a node and its children (payload `path\0`).
pub const XS_RM: XsdSockmsgType = 13;
/// `XS_SET_PERMS`: set a node's permissions (payload `path\0` then one `<c><domid>\0` each).
pub const XS_SET_PERMS: XsdSockmsgType = 14;
/// `XS_WATCH_EVENT`: an unsolicited watch firing from xenstored (payload `path\0token\0`, see
/// [`XS_WATCH_PATH`] and [`XS_WATCH_TOKEN`]).
pub const XS_WATCH_EVENT: XsdSockmsgType = 15;
/// `XS_ERROR`: the reply to a failed request (payload: an errno name from [`XSD_ERRORS`]).
pub const XS_ERROR: XsdSockmsgType = 16;
/// `XS_IS_DOMAIN_INTRODUCED`: whether a domain is known to xenstored (dom0 tools only).
pub const XS_IS_DOMAIN_INTRODUCED: XsdSockmsgType = 17;
/// `XS_RESUME`: clear a domain's shutdown flag (dom0 tools only).
pub const XS_RESUME: XsdSockmsgType = 18;
/// `XS_SET_TARGET`: let one domain act for another (dom0 tools only).
pub const XS_SET_TARGET: XsdSockmsgType = 19;
// 20 was XS_RESTRICT, removed from the protocol; the C enum leaves its slot empty.
/// `XS_RESET_WATCHES`: remove every watch and transaction of the connection.
pub const XS_RESET_WATCHES: XsdSockmsgType = XS_SET_TARGET + 2;
/// `XS_DIRECTORY_PART`: list a large directory in parts.
pub const XS_DIRECTORY_PART: XsdSockmsgType = 22;
/// `XS_TYPE_COUNT`: the number of valid types (one past the last).
pub const XS_TYPE_COUNT: XsdSockmsgType = 23;
/// `XS_INVALID`: guaranteed to remain an invalid type.
pub const XS_INVALID: XsdSockmsgType = 0xffff;

/// `XS_WRITE_NONE`: an old write-mode flag string (no create).
pub const XS_WRITE_NONE: &str = "NONE";
/// `XS_WRITE_CREATE`: an old write-mode flag string (create if missing).
pub const XS_WRITE_CREATE: &str = "CREATE";
/// `XS_WRITE_CREATE_EXCL`: an old write-mode flag string (create, fail if present).
pub const XS_WRITE_CREATE_EXCL: &str = "CREATE|EXCL";

/// `struct xsd_errors`: one entry of the error-name table [`XSD_ERRORS`].
///
/// This is the Rust shape of the table, not the C layout (`errstring` is a Rust string slice,
/// not a `const char *`): the table is never shared with C, only its contents, which travel as
/// the payload of [`XS_ERROR`] messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XsdError {
    /// The errno value (Linux numbering, which is Xen's: see [`crate::errno`]).
    pub errnum: i32,
    /// Its name as sent on the wire, without the terminating NUL (`"EINVAL"`).
    pub errstring: &'static str,
}

/// `xsd_errors`: the errno names xenstored may send in an [`XS_ERROR`] reply, in the C order
/// (new errors are only ever appended).
pub const XSD_ERRORS: [XsdError; 16] = [
    XsdError {
        errnum: crate::errno::EINVAL,
        errstring: "EINVAL",
    },
    XsdError {
        errnum: crate::errno::EACCES,
        errstring: "EACCES",
    },
    XsdError {
        errnum: crate::errno::EEXIST,
        errstring: "EEXIST",
    },
    XsdError {
        errnum: crate::errno::EISDIR,
        errstring: "EISDIR",
    },
    XsdError {
        errnum: crate::errno::ENOENT,
        errstring: "ENOENT",
    },
    XsdError {
        errnum: crate::errno::ENOMEM,
        errstring: "ENOMEM",
    },
    XsdError {
        errnum: crate::errno::ENOSPC,
        errstring: "ENOSPC",
    },
    XsdError {
        errnum: crate::errno::EIO,
        errstring: "EIO",
    },
    XsdError {
        errnum: crate::errno::ENOTEMPTY,
        errstring: "ENOTEMPTY",
    },
    XsdError {
        errnum: crate::errno::ENOSYS,
        errstring: "ENOSYS",
    },
    XsdError {
        errnum: crate::errno::EROFS,
        errstring: "EROFS",
    },
    XsdError {
        errnum: crate::errno::EBUSY,
        errstring: "EBUSY",
    },
    XsdError {
        errnum: crate::errno::EAGAIN,
        errstring: "EAGAIN",
    },
    XsdError {
        errnum: crate::errno::EISCONN,
        errstring: "EISCONN",
    },
    XsdError {
        errnum: crate::errno::E2BIG,
        errstring: "E2BIG",
    },
    XsdError {
        errnum: crate::errno::EPERM,
        errstring: "EPERM",
    },
];

/// The errno value of an [`XS_ERROR`] payload, looked up in [`XSD_ERRORS`]: `b"ENOENT\0"` (or
/// `b"ENOENT"`) gives [`ENOENT`](crate::errno::ENOENT).
///
/// One trailing NUL is ignored, so the payload can be passed as received. The match is exact
/// and case-sensitive. Names outside the table give `None`; callers decide what an unknown error
/// means (upstream XenBus, for one, checks for `"EQUOTA"` before consulting the table).
#[must_use]
pub fn errno_from_name(name: &[u8]) -> Option<i32> {
    let name = name.strip_suffix(b"\0").unwrap_or(name);
    XSD_ERRORS
        .iter()
        .find(|e| e.errstring.as_bytes() == name)
        .map(|e| e.errnum)
}

/// The name xenstored sends in an [`XS_ERROR`] reply for `errnum` (the first [`XSD_ERRORS`]
/// entry with that value), without the terminating NUL; `None` if the table has no such value.
#[must_use]
pub fn error_name(errnum: i32) -> Option<&'static str> {
    XSD_ERRORS
        .iter()
        .find(|e| e.errnum == errnum)
        .map(|e| e.errstring)
}

/// `struct xsd_sockmsg`: the header of every xenstore message, followed by `len` payload bytes.
///
/// The fields are in the byte order of the machine both ends share (little-endian on x86);
/// [`XsdSockmsg::to_bytes`] and [`XsdSockmsg::from_bytes`] convert to and from the 16 bytes that
/// travel through the ring.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XsdSockmsg {
    /// The message type (`XS_*`, see [`XsdSockmsgType`]).
    pub type_: u32,
    /// Request identifier, echoed in the daemon's reply.
    pub req_id: u32,
    /// Transaction id (0 if not related to a transaction).
    pub tx_id: u32,
    /// Length of the payload that follows the header.
    pub len: u32,
}

const _: () = assert!(size_of::<XsdSockmsg>() == 16);

impl XsdSockmsg {
    /// The size of the header on the wire.
    pub const SIZE: usize = size_of::<Self>();

    /// A header with the given fields.
    #[must_use]
    pub const fn new(type_: XsdSockmsgType, req_id: u32, tx_id: u32, len: u32) -> Self {
        Self {
            type_,
            req_id,
            tx_id,
            len,
        }
    }

    /// The header as it is written into the ring.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; Self::SIZE] {
        let [t0, t1, t2, t3] = self.type_.to_ne_bytes();
        let [r0, r1, r2, r3] = self.req_id.to_ne_bytes();
        let [x0, x1, x2, x3] = self.tx_id.to_ne_bytes();
        let [l0, l1, l2, l3] = self.len.to_ne_bytes();
        [
            t0, t1, t2, t3, r0, r1, r2, r3, x0, x1, x2, x3, l0, l1, l2, l3,
        ]
    }

    /// The header read from the ring (no validation: check `type_` and `len` before trusting
    /// them; `len` above [`XENSTORE_PAYLOAD_MAX`] is a protocol violation).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        let [t0, t1, t2, t3, rest @ ..] = bytes;
        let [r0, r1, r2, r3, rest @ ..] = rest;
        let [x0, x1, x2, x3, len @ ..] = rest;
        Self {
            type_: u32::from_ne_bytes([t0, t1, t2, t3]),
            req_id: u32::from_ne_bytes([r0, r1, r2, r3]),
            tx_id: u32::from_ne_bytes([x0, x1, x2, x3]),
            len: u32::from_ne_bytes(len),
        }
    }
}

/// `XS_WATCH_PATH` (`enum xs_watch_type`): index of the path among the NUL-separated strings of
/// an [`XS_WATCH_EVENT`] payload.
pub const XS_WATCH_PATH: usize = 0;
/// `XS_WATCH_TOKEN` (`enum xs_watch_type`): index of the token among the NUL-separated strings
/// of an [`XS_WATCH_EVENT`] payload.
pub const XS_WATCH_TOKEN: usize = 1;

/// `XENSTORE_RING_SIZE`: the size in bytes of each of the two rings (a power of two).
pub const XENSTORE_RING_SIZE: usize = 1024;

/// `XENSTORE_RING_IDX`: a free-running ring index (wraps at 2^32; mask it with
/// [`mask_xenstore_idx`] to get a byte offset).
pub type XenstoreRingIdx = u32;

/// [`XENSTORE_RING_SIZE`] − 1, as a ring index.
const XENSTORE_RING_MASK: XenstoreRingIdx = 1023;

const _: () = assert!(
    XENSTORE_RING_SIZE.is_power_of_two() && XENSTORE_RING_MASK as usize == XENSTORE_RING_SIZE - 1
);

/// `MASK_XENSTORE_IDX(idx)`: the byte offset in a ring of the free-running index `idx`.
#[must_use]
pub const fn mask_xenstore_idx(idx: XenstoreRingIdx) -> XenstoreRingIdx {
    idx & XENSTORE_RING_MASK
}

/// `struct xenstore_domain_interface`: the xenstore ring page shared with xenstored.
///
/// This type only describes the page's layout. The page is shared with another domain that
/// writes it concurrently, so never form a `&` or `&mut` reference to a live ring page (nor
/// copy it out with one): access each field through a raw pointer with volatile or atomic
/// operations (e.g. `AtomicU32::from_ptr(&raw mut (*page).rsp_prod)`, or `read_volatile` /
/// `write_volatile`), with the barriers the ring protocol needs.
///
/// Each side produces into one ring and consumes from the other: the guest writes `req` and
/// advances `req_prod`, xenstored advances `req_cons`; xenstored writes `rsp` and advances
/// `rsp_prod`, the guest advances `rsp_cons`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenstoreDomainInterface {
    /// Requests to the xenstore daemon.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// Replies and asynchronous watch events.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// Consumer index of `req` (advanced by xenstored).
    pub req_cons: XenstoreRingIdx,
    /// Producer index of `req` (advanced by the guest).
    pub req_prod: XenstoreRingIdx,
    /// Consumer index of `rsp` (advanced by the guest).
    pub rsp_cons: XenstoreRingIdx,
    /// Producer index of `rsp` (advanced by xenstored).
    pub rsp_prod: XenstoreRingIdx,
    /// Bitmap of features the server supports (`XENSTORE_SERVER_FEATURE_*`).
    pub server_features: u32,
    /// Connection state ([`XENSTORE_CONNECTED`] or [`XENSTORE_RECONNECT`]).
    pub connection: u32,
    /// Error state (`XENSTORE_ERROR_*`; valid if the server has
    /// [`XENSTORE_SERVER_FEATURE_ERROR`]).
    pub error: u32,
}

impl Default for XenstoreDomainInterface {
    fn default() -> Self {
        Self {
            req: [0; XENSTORE_RING_SIZE],
            rsp: [0; XENSTORE_RING_SIZE],
            req_cons: 0,
            req_prod: 0,
            rsp_cons: 0,
            rsp_prod: 0,
            server_features: 0,
            connection: XENSTORE_CONNECTED,
            error: XENSTORE_ERROR_NONE,
        }
    }
}

const _: () = assert!(size_of::<XenstoreDomainInterface>() == 2076);

/// `XENSTORE_PAYLOAD_MAX`: the largest payload a message may carry (violating it is a protocol
/// error that breaks the connection).
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// `XENSTORE_ABS_PATH_MAX`: the longest absolute path (longer ones get an error reply).
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// `XENSTORE_REL_PATH_MAX`: the longest relative path (longer ones get an error reply).
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// `XENSTORE_SERVER_FEATURE_RECONNECTION`: the server can reconnect the ring (`connection`).
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// `XENSTORE_SERVER_FEATURE_ERROR`: the ring page's `error` field is present.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;

/// `XENSTORE_CONNECTED`: the steady state of the `connection` field.
pub const XENSTORE_CONNECTED: u32 = 0;
/// `XENSTORE_RECONNECT`: a reconnection is in progress (`connection` field).
pub const XENSTORE_RECONNECT: u32 = 1;

/// `XENSTORE_ERROR_NONE`: no error (`error` field).
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// `XENSTORE_ERROR_COMM`: a communication problem.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// `XENSTORE_ERROR_RINGIDX`: an invalid ring index.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// `XENSTORE_ERROR_PROTO`: a protocol violation (payload too long).
pub const XENSTORE_ERROR_PROTO: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno;

    #[test]
    fn error_names_map_to_errno_values_with_or_without_the_nul() {
        assert_eq!(errno_from_name(b"EINVAL"), Some(errno::EINVAL));
        assert_eq!(errno_from_name(b"ENOENT\0"), Some(errno::ENOENT));
        assert_eq!(errno_from_name(b"EAGAIN\0"), Some(errno::EAGAIN));
        assert_eq!(errno_from_name(b"EPERM"), Some(errno::EPERM));
        assert_eq!(errno_from_name(b"E2BIG\0"), Some(errno::E2BIG));
    }

    #[test]
    fn unknown_or_malformed_error_names_are_not_found() {
        assert_eq!(errno_from_name(b""), None);
        assert_eq!(errno_from_name(b"\0"), None);
        assert_eq!(errno_from_name(b"EQUOTA\0"), None);
        assert_eq!(errno_from_name(b"einval"), None);
        assert_eq!(errno_from_name(b"EINVAL\0\0"), None);
        assert_eq!(errno_from_name(b"EINVA"), None);
        assert_eq!(errno_from_name(b"EINVALX"), None);
    }

    #[test]
    fn every_table_entry_round_trips_and_is_named_like_its_errno() {
        for e in XSD_ERRORS {
            assert_eq!(errno_from_name(e.errstring.as_bytes()), Some(e.errnum));
            assert_eq!(error_name(e.errnum), Some(e.errstring));
            assert_eq!(errno::name(e.errnum), Some(e.errstring));
        }
        assert_eq!(error_name(errno::EFAULT), None);
    }

    #[test]
    fn header_bytes_round_trip_in_field_order() {
        let h = XsdSockmsg::new(XS_WRITE, 0x0102_0304, 7, 12);
        let b = h.to_bytes();
        assert_eq!(b.len(), XsdSockmsg::SIZE);
        assert_eq!(b[0..4], XS_WRITE.to_ne_bytes());
        assert_eq!(b[4..8], 0x0102_0304_u32.to_ne_bytes());
        assert_eq!(b[8..12], 7_u32.to_ne_bytes());
        assert_eq!(b[12..16], 12_u32.to_ne_bytes());
        assert_eq!(XsdSockmsg::from_bytes(b), h);
    }

    #[test]
    fn ring_indices_mask_to_offsets() {
        assert_eq!(mask_xenstore_idx(0), 0);
        assert_eq!(mask_xenstore_idx(1023), 1023);
        assert_eq!(mask_xenstore_idx(1024), 0);
        assert_eq!(mask_xenstore_idx(1025), 1);
        assert_eq!(mask_xenstore_idx(u32::MAX), 1023);
    }

    #[test]
    fn message_types_keep_their_protocol_numbers() {
        assert_eq!(XS_DEBUG, XS_CONTROL);
        assert_eq!(XS_RESET_WATCHES, 21);
        assert_eq!(XS_TYPE_COUNT, XS_DIRECTORY_PART + 1);
    }

    #[test]
    fn default_ring_page_is_zeroed_and_connected() {
        let page = XenstoreDomainInterface::default();
        assert!(page.req.iter().chain(page.rsp.iter()).all(|&b| b == 0));
        assert_eq!(page.connection, XENSTORE_CONNECTED);
        assert_eq!(page.error, XENSTORE_ERROR_NONE);
    }
}
