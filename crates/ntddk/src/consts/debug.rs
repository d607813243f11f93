// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Debug output constants (`DbgPrintEx`, `DbgSetDebugFilterState`).

/// `DPFLTR_IHVDRIVER_ID`: the component third-party drivers print under.
pub const DPFLTR_IHVDRIVER_ID: u32 = 77;
/// `DPFLTR_DEFAULT_ID`.
pub const DPFLTR_DEFAULT_ID: u32 = 101;
/// `DPFLTR_ERROR_LEVEL`.
pub const DPFLTR_ERROR_LEVEL: u32 = 0;
/// `DPFLTR_WARNING_LEVEL`.
pub const DPFLTR_WARNING_LEVEL: u32 = 1;
/// `DPFLTR_TRACE_LEVEL`.
pub const DPFLTR_TRACE_LEVEL: u32 = 2;
/// `DPFLTR_INFO_LEVEL`.
pub const DPFLTR_INFO_LEVEL: u32 = 3;
/// `DPFLTR_MASK`.
pub const DPFLTR_MASK: u32 = 0x8000_0000;
