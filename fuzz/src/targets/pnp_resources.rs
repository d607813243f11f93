// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `pnp_resources`: the resource lists the PnP manager hands xenbus.sys
//! (`xenbus::pnp::resources`): a requirements list from the PCI driver to filter, and the raw
//! and translated `CM_RESOURCE_LIST`s of `IRP_MN_START_DEVICE`, as arbitrary bytes.
//!
//! Invariants:
//! * a filtered list is the input's descriptors followed by one per processor: its `ListSize`
//!   is its length, its count the input's plus the processors, and every byte of a descriptor
//!   that is not an interrupt is unchanged;
//! * hiding message interrupts changes only type bytes (each from interrupt to device-private),
//!   never the length, and a refused list is left byte-for-byte as it was;
//! * every interrupt `start_resources` reports has its processor's bit set in its mask, and a
//!   line only for a non-message interrupt.

use crate::input::{Reader, Writer};
use xenbus::pnp::resources::{
    ProcessorNumber, filter_requirements, hide_message_interrupts, pdo_requirements,
    start_resources,
};

/// `IO_RESOURCE_REQUIREMENTS_LIST` up to the first descriptor, and the descriptor size.
const FIRST: usize = 40;
const DESCRIPTOR: usize = 32;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let processors: Vec<ProcessorNumber> = (0..r.below(5))
        .map(|_| ProcessorNumber {
            group: u16::from(r.below(3)),
            number: r.below(64),
        })
        .collect();
    let requirements = r.long_bytes(4096).to_vec();
    let raw = r.long_bytes(4096).to_vec();
    let translated = r.rest().to_vec();

    if let Ok(list) = filter_requirements(&requirements, &processors) {
        let size = u32::from_le_bytes(list[..4].try_into().unwrap()) as usize;
        assert_eq!(size, list.len());
        let count = u32::from_le_bytes(list[36..40].try_into().unwrap()) as usize;
        let old = u32::from_le_bytes(requirements[36..40].try_into().unwrap()) as usize;
        assert_eq!(count, old + processors.len());
        assert_eq!(list.len(), FIRST + count * DESCRIPTOR);
        assert_eq!(
            list[4..36],
            requirements[4..36],
            "only the sizes change in the header"
        );
        for index in 0..old {
            let at = FIRST + index * DESCRIPTOR;
            if requirements[at + 1] != 2 {
                assert_eq!(list[at..at + DESCRIPTOR], requirements[at..at + DESCRIPTOR]);
            }
        }
    }

    for list in [&raw, &translated] {
        let mut changed = list.clone();
        match hide_message_interrupts(&mut changed) {
            Ok(hidden) => {
                let diffs: Vec<usize> =
                    (0..list.len()).filter(|&i| list[i] != changed[i]).collect();
                assert_eq!(diffs.len(), hidden);
                for at in diffs {
                    assert_eq!((list[at], changed[at]), (2, 0x81));
                }
            }
            Err(_) => assert_eq!(&changed, list),
        }
    }

    if let Ok(found) = start_resources(&raw, &translated) {
        for interrupt in found.interrupts {
            assert_ne!(interrupt.affinity & (1 << interrupt.processor), 0);
            assert_eq!(interrupt.message, interrupt.line.is_none());
        }
    }
}

/// Seeds: the PDO's own requirements list (as if a bus below answered with it) with two
/// processors, and a START pair with a BAR, a line and two message interrupts.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut start = Vec::new();
    start.extend(1_u32.to_le_bytes());
    start.extend(5_i32.to_le_bytes()); // PCIBus
    start.extend(0_u32.to_le_bytes());
    start.extend(1_u16.to_le_bytes());
    start.extend(1_u16.to_le_bytes());
    start.extend(4_u32.to_le_bytes());
    let descriptor = |kind: u8, flags: u16, a: u32, b: u32, c: u64| {
        let mut d = vec![kind, 1];
        d.extend(flags.to_le_bytes());
        d.extend(a.to_le_bytes());
        d.extend(b.to_le_bytes());
        d.extend(c.to_le_bytes());
        d
    };
    start.extend(descriptor(3, 0, 0xF000_0000, 0, 0x0100_0000));
    start.extend(descriptor(2, 0, 0x0008_0008, 0x81, 1));
    start.extend(descriptor(2, 3, 0x0009_0000, 0x90, 1));
    start.extend(descriptor(2, 3, 0x0009_0001, 0x91, 8));
    let mut w = Writer::new();
    w.u8(2).u8(0).u8(0).u8(0).u8(1);
    w.long_bytes(&pdo_requirements());
    w.long_bytes(&start);
    w.bytes(&start);
    vec![("pdo-requirements-and-start", w.finish())]
}
