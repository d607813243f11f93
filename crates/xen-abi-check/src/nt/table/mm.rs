// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::mm`: MDLs and physical memory ranges.

use super::{NtTable, layout};

pub fn items(t: &mut NtTable) {
    layout!(
        t,
        MDL {
            Next,
            Size,
            MdlFlags,
            Process,
            MappedSystemVa,
            StartVa,
            ByteCount,
            ByteOffset,
        }
    );
    layout!(
        t,
        PHYSICAL_MEMORY_RANGE {
            BaseAddress,
            NumberOfBytes
        }
    );
}
