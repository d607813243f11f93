// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/features.h`.

use super::Table;

pub fn items(_t: &mut Table) {}
