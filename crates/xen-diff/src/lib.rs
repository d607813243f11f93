// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The differential check between the real Xen hypervisor and the simulator: parses hypercall
//! transcripts recorded by the PVH test kernel on real Xen and replays them (work in progress).
