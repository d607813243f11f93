// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Process notification: tell Xen a page-table root is about to die.
//!
//! # What upstream does (`src/xen/process.c`)
//!
//! A `PsSetCreateProcessNotifyRoutine` callback ignores creations; on a process exit (which the
//! kernel reports in the dying process's context) it raises to `DISPATCH_LEVEL`, reads `CR3`
//! and passes it unchanged to `HvmPagetableDying`, ignoring the result. With shadow paging Xen
//! can then drop that address space's shadows early; it is only a hint. The same file resolves
//! `PsGetProcessImageFileName` for the bug-check dump.
//!
//! # Where we differ
//!
//! `CR3` carries more than the root's address: with PCIDs its low 12 bits are the process
//! context id, and bits 52 and up are not address bits. We send the root's physical address
//! ([`CR3_ADDRESS_MASK`]). For a 4-level guest Xen only uses the frame number of what it is
//! given, so nothing changes there; a stray high bit can no longer name a frame that does not
//! exist. A `CR3` whose address is 0 sends nothing.

/// The physical-address bits of `CR3` (bits 12..=51).
pub const CR3_ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// The address to pass to `HVMOP_pagetable_dying` for a process notification (`create` false:
/// an exit), or `None` when there is nothing to tell Xen.
#[must_use]
pub const fn pagetable_dying(create: bool, cr3: u64) -> Option<u64> {
    let root = cr3 & CR3_ADDRESS_MASK;
    if create || root == 0 {
        None
    } else {
        Some(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exits_are_reported_with_the_root_address() {
        assert_eq!(pagetable_dying(true, 0x1234_5000), None);
        assert_eq!(pagetable_dying(false, 0x1234_5000), Some(0x1234_5000));
    }

    #[test]
    fn pcid_and_high_bits_are_not_sent() {
        assert_eq!(pagetable_dying(false, 0x1234_5ABC), Some(0x1234_5000));
        assert_eq!(
            pagetable_dying(false, 0x8000_0000_1234_5001),
            Some(0x1234_5000)
        );
        assert_eq!(pagetable_dying(false, u64::MAX), Some(CR3_ADDRESS_MASK));
        assert_eq!(pagetable_dying(false, 0xFFF), None);
        assert_eq!(pagetable_dying(false, 0), None);
    }
}
