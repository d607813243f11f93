// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/hvm_info_table.h`.

use crate::table::Table;

pub fn items(_t: &mut Table) {}
