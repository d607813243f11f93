// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/`: HVM operations, parameters and the HVM info table.

pub mod hvm_info_table;
pub mod hvm_op;
pub mod params;
