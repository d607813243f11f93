// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/xs_wire.h`.

use crate::table::Table;

pub fn items(_t: &mut Table) {}
