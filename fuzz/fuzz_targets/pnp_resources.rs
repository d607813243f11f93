// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! libFuzzer entry for `xenbus_fuzz::targets::pnp_resources` (its module docs list the invariants).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xenbus_fuzz::targets::pnp_resources::run(data));
