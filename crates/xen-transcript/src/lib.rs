// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The hypercall transcript: what the PVH test kernel records on the real Xen hypervisor and
//! `crates/xen-diff` replays against the simulator.
//!
//! Layering: a `no_std` + `alloc` leaf beside `xen-headers`. The kernel (freestanding) uses the
//! [`layout`] table and the [`hex`] encoder to write records; the host replay uses the same
//! table and the decoder to read them back, so both sides agree on which argument is a guest
//! pointer and how many bytes it covers.
//!
//! # Format (one line per item, `XTR` prefix, fields separated by one space)
//! ```text
//! XTR-BEGIN 1
//! XTR env <key> <value>...          environment facts (RAM frames the suite uses, domid, vCPUs)
//! XTR c <seq> <op> <a0> .. <a4> <t> a call: op and the five argument registers (hex), and
//!                                   Xen system time in ns when it was made (hex)
//! XTR i <seq> <region> <data>       bytes of a guest buffer before the call (region m: the
//!                                   structure an argument points to; n: the array a guest
//!                                   handle inside it points to)
//! XTR b <seq> <gfn> <off> <data>    guest memory before the call (a window the guest or Xen
//!                                   writes: event bitmaps, vcpu_info, FIFO words, grant
//!                                   entries, pages a call reads or changes)
//! XTR r <seq> <ret>                 the return value (signed decimal)
//! XTR o <seq> <region> <data>       the buffer after the call
//! XTR a <seq> <gfn> <off> <data>    the window after the call
//! XTR-END <records> <unrecorded>
//! ```
//! `<data>` is [`hex`]: two lower-case digits per byte, with `~BBNNNN` for a run of `NNNN`
//! bytes `BB` (all hex).

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;

pub mod hex;
pub mod layout;

/// The version on the `XTR-BEGIN` line.
pub const FORMAT_VERSION: u32 = 1;
