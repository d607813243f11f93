// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_xen_version` and `HYPERVISOR_console_io`.

use super::{Trusted, neg, with, write};
use crate::memory::PAGE_SIZE;
use crate::state::State;
use xen_headers::errno;
use xen_headers::version::{
    XEN_EXTRAVERSION_LEN, XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XENVER_PAGESIZE,
    XENVER_VERSION, XenFeatureInfo,
};
use xen_headers::xen::CONSOLEIO_WRITE;

impl State {
    pub(super) fn xen_version(&self, t: Trusted, args: &[usize; 5]) -> isize {
        match args[0] as u32 {
            XENVER_VERSION => 0x0004_0011,
            XENVER_EXTRAVERSION => {
                let mut extra = [0_u8; XEN_EXTRAVERSION_LEN];
                let text = self.cfg.extra_version.as_bytes();
                let n = text.len().min(XEN_EXTRAVERSION_LEN - 1);
                extra[..n].copy_from_slice(&text[..n]);
                // `args[1]` is the guest's 16-byte buffer.
                write(t, args[1], extra);
                0
            }
            XENVER_GET_FEATURES => with(t, args[1], |f: &mut XenFeatureInfo| {
                if f.submap_idx != 0 {
                    return neg(errno::EINVAL);
                }
                f.submap = self.cfg.features;
                0
            }),
            XENVER_PAGESIZE => PAGE_SIZE as isize,
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn console_io(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        if args[0] as u32 != CONSOLEIO_WRITE {
            return neg(errno::ENOSYS);
        }
        if self.cfg.domid != 0 && !self.cfg.guest_console_io {
            return neg(errno::EPERM);
        }
        let p = std::ptr::with_exposed_provenance::<u8>(args[2]);
        if p.is_null() {
            return neg(errno::EFAULT);
        }
        let _ = t;
        // SAFETY: `Trusted`: the caller vouched that `args[2]` points at `args[1]` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(p, args[1]) };
        self.xen_console.extend_from_slice(bytes);
        0
    }
}
