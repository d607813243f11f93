// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/`: the shared-ring protocols xenbus speaks (xenstore and the PV console).

pub mod console;
pub mod xs_wire;
