// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/`.

mod hvm_info_table;
mod hvm_op;
mod params;

use super::Table;

pub fn items(t: &mut Table) {
    hvm_op::items(t);
    params::items(t);
    hvm_info_table::items(t);
}
