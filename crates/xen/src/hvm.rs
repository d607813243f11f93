// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_hvm_op` (upstream `src/xen/hvm.c`): HVM parameters, the per-vCPU upcall vector
//! and the page-table-dying hint. Every operation targets `DOMID_SELF`.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Result, check};
use xen_headers::hvm::hvm_op::{
    HVMOP_GET_PARAM, HVMOP_PAGETABLE_DYING, HVMOP_SET_EVTCHN_UPCALL_VECTOR, HVMOP_SET_PARAM,
    XenHvmEvtchnUpcallVector, XenHvmPagetableDying, XenHvmParam,
};
use xen_headers::xen::{DOMID_SELF, HYPERVISOR_HVM_OP};

/// The value upstream pre-loads before `HVMOP_get_param`, so a checked build can assert that
/// Xen wrote the result.
pub const GET_PARAM_POISON: u64 = 0xFEED_FACE;

fn hvm_op<H: Hypervisor + ?Sized, T>(hv: &H, cmd: u32, op: &mut T) -> Result<usize> {
    // SAFETY: `op` is a live, exclusively borrowed structure of the layout `cmd` expects; Xen
    // uses it only during the call.
    check(unsafe { hv.hypercall(HYPERVISOR_HVM_OP, &[cmd as usize, arg(op)]) })
}

/// `HVMOP_set_param`: set HVM parameter `index` (`HVM_PARAM_*`) of this domain.
///
/// A guest may set only a few parameters on itself (`CALLBACK_IRQ`, `STORE_EVTCHN`,
/// `CONSOLE_EVTCHN`...). On PVH (no virtual IOAPIC or PIC) Xen stores a `CALLBACK_IRQ` value
/// other than a vector but keeps delivering on the vector set before: once set, the callback
/// vector cannot be switched off there.
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno): `EPERM` for a parameter the guest may not
/// set, `EINVAL` for an index beyond `HVM_NR_PARAMS` or a deprecated parameter.
pub fn set_param<H: Hypervisor + ?Sized>(hv: &H, index: u32, value: u64) -> Result<()> {
    let mut op = XenHvmParam {
        domid: DOMID_SELF,
        index,
        value,
        ..XenHvmParam::default()
    };
    hvm_op(hv, HVMOP_SET_PARAM, &mut op).map(|_| ())
}

/// `HVMOP_get_param`: read HVM parameter `index` of this domain.
///
/// # Errors
///
/// As [`set_param`].
pub fn get_param<H: Hypervisor + ?Sized>(hv: &H, index: u32) -> Result<u64> {
    let mut op = XenHvmParam {
        domid: DOMID_SELF,
        index,
        value: GET_PARAM_POISON,
        ..XenHvmParam::default()
    };
    hvm_op(hv, HVMOP_GET_PARAM, &mut op)?;
    Ok(op.value)
}

/// `HVMOP_pagetable_dying`: tell Xen the page table at guest-physical `address` is about to be
/// freed (a shadow-paging hint).
///
/// Upstream returns its failure without logging. Xen accepts the hint only from a guest that
/// runs on shadow paging; with hardware-assisted paging (and in every build without shadow
/// paging, such as Debian's) it answers `EINVAL`, which is harmless.
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno): `EINVAL` without shadow paging.
pub fn pagetable_dying<H: Hypervisor + ?Sized>(hv: &H, address: u64) -> Result<()> {
    let mut op = XenHvmPagetableDying {
        domid: DOMID_SELF,
        gpa: address,
        ..XenHvmPagetableDying::default()
    };
    hvm_op(hv, HVMOP_PAGETABLE_DYING, &mut op).map(|_| ())
}

/// `HVMOP_set_evtchn_upcall_vector`: deliver `vcpu`'s event-channel upcalls on `vector`.
///
/// Upstream passes vector 0 to stop using a per-vCPU vector; Xen 4.17 refuses every vector
/// below 0x10 with `EINVAL` (`STATUS_INVALID_PARAMETER`), so that call fails. The wrapper passes
/// the vector through unchanged so callers see Xen's answer.
///
/// Xen raises this vector through the vCPU's virtual local APIC, and only while that APIC is
/// software-enabled; the handler must signal end of interrupt. A callback vector set with
/// `HVM_PARAM_CALLBACK_IRQ` is injected first, for every vCPU, when both are in use.
///
/// # Errors
///
/// [`Error::Errno`](crate::status::Error::Errno): `EINVAL` for a vector below 0x10, `ENOENT`
/// for an unknown vCPU.
pub fn set_evtchn_upcall_vector<H: Hypervisor + ?Sized>(
    hv: &H,
    vcpu: u32,
    vector: u8,
) -> Result<()> {
    let mut op = XenHvmEvtchnUpcallVector { vcpu, vector };
    hvm_op(hv, HVMOP_SET_EVTCHN_UPCALL_VECTOR, &mut op).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::{Error, STATUS_ACCESS_DENIED, STATUS_INVALID_PARAMETER};

    #[test]
    fn set_param_targets_self() {
        let hv = Fake::new(|op, args| {
            assert_eq!((op, args[0]), (34, 0));
            // SAFETY: the wrapper passes its live structure.
            let p = unsafe { &*at::<XenHvmParam>(args, 1) };
            assert_eq!((p.domid, p.index, p.value), (DOMID_SELF, 2, 5));
            0
        });
        assert_eq!(set_param(&hv, 2, 5), Ok(()));
        let err = set_param(&returning(-1), 1, 0).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_ACCESS_DENIED);
    }

    #[test]
    fn get_param_preloads_the_poison_and_returns_xens_value() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 1);
            // SAFETY: the wrapper passes its live structure.
            let p = unsafe { &mut *at::<XenHvmParam>(args, 1) };
            assert_eq!(
                (p.domid, p.index, p.value),
                (DOMID_SELF, 18, GET_PARAM_POISON)
            );
            p.value = 7;
            0
        });
        assert_eq!(get_param(&hv, 18), Ok(7));
        assert_eq!(get_param(&returning(-22), 99), Err(Error::Errno(22)));
    }

    #[test]
    fn upcall_vector_passes_vcpu_and_vector() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 23);
            // SAFETY: the wrapper passes its live structure.
            let v = unsafe { &*at::<XenHvmEvtchnUpcallVector>(args, 1) };
            assert_eq!((v.vcpu, v.vector), (1, 0xf4));
            0
        });
        assert_eq!(set_evtchn_upcall_vector(&hv, 1, 0xf4), Ok(()));
        let err = set_evtchn_upcall_vector(&returning(-22), 0, 0).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_INVALID_PARAMETER);
    }

    #[test]
    fn pagetable_dying_passes_the_address() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 9);
            // SAFETY: the wrapper passes its live structure.
            let d = unsafe { &*at::<XenHvmPagetableDying>(args, 1) };
            assert_eq!((d.domid, d.gpa), (DOMID_SELF, 0x1000));
            0
        });
        assert_eq!(pagetable_dying(&hv, 0x1000), Ok(()));
    }
}
