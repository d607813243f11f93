// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/`.

mod console;
mod xs_wire;

use super::Table;

pub fn items(t: &mut Table) {
    xs_wire::items(t);
    console::items(t);
}
