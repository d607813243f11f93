// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/hvm_info_table.h`.

use crate::table::{Table, consts, layout};
use xen_headers::hvm::hvm_info_table::{HVM_MAX_VCPUS, HvmInfoTable};

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::hvm::hvm_info_table;
        HVM_INFO_PFN => HVM_INFO_PFN,
        HVM_INFO_OFFSET => HVM_INFO_OFFSET,
        HVM_INFO_PADDR => HVM_INFO_PADDR,
    );
    t.int("HVM_MAX_VCPUS", HVM_MAX_VCPUS as u64);

    layout!(
        t,
        "struct hvm_info_table",
        HvmInfoTable {
            signature,
            length,
            checksum,
            apic_mode,
            nr_vcpus,
            low_mem_pgend,
            reserved_mem_pgstart,
            high_mem_pgend,
            vcpu_online,
        }
    );
}
