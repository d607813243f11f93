// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_xen_version` (upstream `src/xen/xen_version.c`): version, extra version and the
//! feature bitmap.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Result, check};
use xen_headers::version::{
    XEN_EXTRAVERSION_LEN, XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XENVER_VERSION, XenFeatureInfo,
};
use xen_headers::xen::HYPERVISOR_XEN_VERSION;

fn xen_version_op<H: Hypervisor + ?Sized, T>(hv: &H, cmd: u32, argument: *mut T) -> Result<usize> {
    // SAFETY: every caller passes null or a live, exclusively borrowed buffer of the size `cmd`
    // writes, used by Xen only during the call.
    check(unsafe { hv.hypercall(HYPERVISOR_XEN_VERSION, &[cmd as usize, arg(argument)]) })
}

/// Upstream's `XenVersion`: `(major, minor)`, from the result `major << 16 | minor`.
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno) from Xen.
pub fn version<H: Hypervisor + ?Sized>(hv: &H) -> Result<(u16, u16)> {
    let packed = xen_version_op(hv, XENVER_VERSION, core::ptr::null_mut::<u8>())?;
    let [lo0, lo1, hi0, hi1, ..] = packed.to_le_bytes();
    Ok((
        u16::from_le_bytes([hi0, hi1]),
        u16::from_le_bytes([lo0, lo1]),
    ))
}

/// Upstream's `XenVersionExtra`: the 16-byte extra version (e.g. `".7"`, NUL-padded).
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno) from Xen.
pub fn extra_version<H: Hypervisor + ?Sized>(hv: &H) -> Result<[u8; XEN_EXTRAVERSION_LEN]> {
    let mut extra = [0_u8; XEN_EXTRAVERSION_LEN];
    xen_version_op(hv, XENVER_EXTRAVERSION, extra.as_mut_ptr())?;
    Ok(extra)
}

/// `XENVER_get_features`: 32-bit feature submap `index` (`XENFEAT_*` bit numbers; only submap 0
/// exists in 4.17).
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno): `EINVAL` for an unknown submap.
pub fn get_features<H: Hypervisor + ?Sized>(hv: &H, index: u32) -> Result<u32> {
    let mut info = XenFeatureInfo {
        submap_idx: index,
        submap: 0,
    };
    xen_version_op(hv, XENVER_GET_FEATURES, &raw mut info)?;
    Ok(info.submap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::Error;

    #[test]
    fn version_unpacks_major_and_minor() {
        let hv = Fake::new(|op, args| {
            assert_eq!((op, args[0], args[1]), (17, 0, 0));
            0x0004_0011
        });
        assert_eq!(version(&hv), Ok((4, 17)));
        assert_eq!(version(&returning(-38)), Err(Error::Errno(38)));
    }

    #[test]
    fn extra_version_is_copied_whole() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 1);
            // SAFETY: the wrapper passes its live 16-byte buffer.
            unsafe { at::<[u8; 16]>(args, 1).write(*b".7-rc\0\0\0\0\0\0\0\0\0\0\0") };
            0
        });
        assert_eq!(&extra_version(&hv).unwrap()[..6], b".7-rc\0");
    }

    #[test]
    fn features_name_the_submap() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 6);
            // SAFETY: the wrapper passes its live structure.
            let f = unsafe { &mut *at::<XenFeatureInfo>(args, 1) };
            assert_eq!(f.submap_idx, 0);
            f.submap = 0x1f04;
            0
        });
        assert_eq!(get_features(&hv, 0), Ok(0x1f04));
    }
}
