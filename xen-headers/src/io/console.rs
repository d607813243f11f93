// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/console.h`: the PV console ring page [`XenconsInterface`].
//!
//! Two byte rings with free-running indices: `in` carries input from the console backend to the
//! guest, `out` carries the guest's output to the backend. An index is turned into a byte offset
//! with [`mask_xencons_idx`] and the size of the ring it indexes.

use core::mem::size_of;

/// `XENCONS_RING_IDX`: a free-running console ring index (wraps at 2^32).
pub type XenconsRingIdx = u32;

/// The size in bytes of the `in` ring (Rust-only name; C spells it
/// `sizeof(((struct xencons_interface *)0)->in)`).
pub const XENCONS_IN_RING_SIZE: usize = 1024;
/// The size in bytes of the `out` ring (Rust-only name; C spells it
/// `sizeof(((struct xencons_interface *)0)->out)`).
pub const XENCONS_OUT_RING_SIZE: usize = 2048;

const _: () =
    assert!(XENCONS_IN_RING_SIZE.is_power_of_two() && XENCONS_OUT_RING_SIZE.is_power_of_two());

/// `MASK_XENCONS_IDX(idx, ring)`: the byte offset of the free-running index `idx` in a ring of
/// `ring_size` bytes (a power of two: [`XENCONS_IN_RING_SIZE`] or [`XENCONS_OUT_RING_SIZE`]).
///
/// Computes `idx & (ring_size - 1)` exactly as C does with `sizeof(ring)`, including C's
/// wrap-around for a size of 0 (every bit kept).
#[must_use]
#[expect(
    clippy::cast_possible_truncation,
    reason = "the result is at most idx, which is a u32"
)]
pub const fn mask_xencons_idx(idx: XenconsRingIdx, ring_size: usize) -> XenconsRingIdx {
    (idx as usize & ring_size.wrapping_sub(1)) as XenconsRingIdx
}

/// `struct xencons_interface`: the console ring page shared with the console backend.
///
/// This type only describes the page's layout. The page is shared with another domain that
/// writes it concurrently, so never form a `&` or `&mut` reference to a live ring page (nor
/// copy it out with one): access each field through a raw pointer with volatile or atomic
/// operations (e.g. `AtomicU32::from_ptr(&raw mut (*page).out_prod)`, or `read_volatile` /
/// `write_volatile`), with the barriers the ring protocol needs.
///
/// The guest consumes `in` (advancing `in_cons`) and produces into `out` (advancing
/// `out_prod`); the backend does the opposite.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenconsInterface {
    /// `in`: input from the backend to the guest.
    pub in_: [u8; XENCONS_IN_RING_SIZE],
    /// Output from the guest to the backend.
    pub out: [u8; XENCONS_OUT_RING_SIZE],
    /// Consumer index of `in` (advanced by the guest).
    pub in_cons: XenconsRingIdx,
    /// Producer index of `in` (advanced by the backend).
    pub in_prod: XenconsRingIdx,
    /// Consumer index of `out` (advanced by the backend).
    pub out_cons: XenconsRingIdx,
    /// Producer index of `out` (advanced by the guest).
    pub out_prod: XenconsRingIdx,
}

impl Default for XenconsInterface {
    fn default() -> Self {
        Self {
            in_: [0; XENCONS_IN_RING_SIZE],
            out: [0; XENCONS_OUT_RING_SIZE],
            in_cons: 0,
            in_prod: 0,
            out_cons: 0,
            out_prod: 0,
        }
    }
}

const _: () = assert!(size_of::<XenconsInterface>() == 3088);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_mask_by_the_size_of_their_ring() {
        assert_eq!(mask_xencons_idx(0, XENCONS_IN_RING_SIZE), 0);
        assert_eq!(mask_xencons_idx(1023, XENCONS_IN_RING_SIZE), 1023);
        assert_eq!(mask_xencons_idx(1024, XENCONS_IN_RING_SIZE), 0);
        assert_eq!(mask_xencons_idx(1500, XENCONS_IN_RING_SIZE), 476);
        assert_eq!(mask_xencons_idx(1500, XENCONS_OUT_RING_SIZE), 1500);
        assert_eq!(mask_xencons_idx(2049, XENCONS_OUT_RING_SIZE), 1);
        assert_eq!(mask_xencons_idx(u32::MAX, XENCONS_OUT_RING_SIZE), 2047);
    }

    #[test]
    fn a_zero_size_keeps_every_bit_like_c() {
        assert_eq!(mask_xencons_idx(u32::MAX, 0), u32::MAX);
        assert_eq!(mask_xencons_idx(12345, 0), 12345);
    }

    #[test]
    fn default_page_is_zeroed() {
        let page = XenconsInterface::default();
        assert!(page.in_.iter().chain(page.out.iter()).all(|&b| b == 0));
        assert_eq!(
            (page.in_cons, page.in_prod, page.out_cons, page.out_prod),
            (0, 0, 0, 0)
        );
    }
}
