// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The xenstore wire format as the store uses it: message types, limits, the 16-byte header and
//! request encoding. The ABI facts come from `xen_headers::io::xs_wire`.

use alloc::vec::Vec;

pub use xen_headers::io::xs_wire::{
    XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX, XENSTORE_RING_SIZE,
    XS_CONTROL, XS_DIRECTORY, XS_DIRECTORY_PART, XS_ERROR, XS_GET_DOMAIN_PATH, XS_GET_PERMS,
    XS_INTRODUCE, XS_IS_DOMAIN_INTRODUCED, XS_MKDIR, XS_READ, XS_RELEASE, XS_RESET_WATCHES,
    XS_RESUME, XS_RM, XS_SET_PERMS, XS_SET_TARGET, XS_TRANSACTION_END, XS_TRANSACTION_START,
    XS_UNWATCH, XS_WATCH, XS_WATCH_EVENT, XS_WRITE, XSD_ERRORS, XsdSockmsg,
};

/// Size of `struct xsd_sockmsg`.
pub const HEADER_LEN: usize = XsdSockmsg::SIZE;

/// Types whose replies the C package drops unless they answer one of our requests: it never
/// sends them, so an unmatched one is noise.
pub const IGNORED_REPLY_TYPES: [u32; 10] = [
    XS_CONTROL,
    XS_GET_PERMS,
    XS_INTRODUCE,
    XS_RELEASE,
    XS_GET_DOMAIN_PATH,
    XS_MKDIR,
    XS_IS_DOMAIN_INTRODUCED,
    XS_RESUME,
    XS_SET_TARGET,
    XS_RESET_WATCHES,
];

/// `struct xsd_sockmsg`.
pub type Header = XsdSockmsg;

/// The payload length of `header` if it is within `XENSTORE_PAYLOAD_MAX`.
#[must_use]
pub fn payload_len(header: &Header) -> Option<usize> {
    usize::try_from(header.len)
        .ok()
        .filter(|&len| len <= XENSTORE_PAYLOAD_MAX)
}

/// Builds one request: the header followed by the payload pieces, checking the payload limit.
///
/// # Errors
/// `None` if the payload exceeds `XENSTORE_PAYLOAD_MAX` or memory runs out.
#[must_use]
pub fn encode_request(ty: u32, req_id: u32, tx_id: u32, pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let len = pieces
        .iter()
        .try_fold(0usize, |acc, piece| acc.checked_add(piece.len()))?;
    if len > XENSTORE_PAYLOAD_MAX {
        return None;
    }
    let header = Header::new(ty, req_id, tx_id, u32::try_from(len).ok()?);
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(HEADER_LEN.checked_add(len)?).ok()?;
    bytes.extend_from_slice(&header.to_bytes());
    for piece in pieces {
        bytes.extend_from_slice(piece);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_start_with_the_header() {
        let bytes = encode_request(XS_WRITE, 0xBEEF, 7, &[b"/a\0", b"v"]).unwrap();
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&bytes[..HEADER_LEN]);
        assert_eq!(
            Header::from_bytes(head),
            Header::new(XS_WRITE, 0xBEEF, 7, 4)
        );
        assert_eq!(&bytes[HEADER_LEN..], b"/a\0v");
    }

    #[test]
    fn payload_limit_is_enforced_on_both_sides() {
        let big = [b'x'; XENSTORE_PAYLOAD_MAX];
        assert!(encode_request(XS_WRITE, 1, 0, &[&big]).is_some());
        assert!(encode_request(XS_WRITE, 1, 0, &[&big, b"y"]).is_none());
        let mut h = Header::new(XS_READ, 0, 0, 4096);
        assert_eq!(payload_len(&h), Some(4096));
        h.len = 4097;
        assert_eq!(payload_len(&h), None);
        h.len = u32::MAX;
        assert_eq!(payload_len(&h), None);
    }
}
