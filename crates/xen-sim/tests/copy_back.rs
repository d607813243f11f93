// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What Xen writes back into argument structures, byte for byte, and the return values that
//! are not plain `-errno` (found by replaying transcripts recorded on Xen 4.17:
//! docs/sim-vs-xen.md, SIM-1 to SIM-5).

mod common;

use common::{Guest, raw};
use std::mem::offset_of;
use xen_headers::errno;
use xen_headers::event_channel::{EVTCHNOP_STATUS, EVTCHNSTAT_UNBOUND, EvtchnStatus};
use xen_headers::grant_table::{GNTTABOP_SET_VERSION, GnttabSetVersion};
use xen_headers::hvm::hvm_op::{HVMOP_SET_EVTCHN_UPCALL_VECTOR, XenHvmEvtchnUpcallVector};
use xen_headers::sched::{SCHEDOP_WATCHDOG, SchedWatchdog};
use xen_headers::xen::{
    DOMID_SELF, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_HVM_OP,
    HYPERVISOR_SCHED_OP,
};

/// An argument buffer whose every byte (padding included) is defined: the structure lives in
/// it and is only reached through raw pointers.
#[repr(C, align(8))]
struct Buf([u8; 64]);

impl Buf {
    const fn filled(fill: u8) -> Self {
        Self([fill; 64])
    }

    fn at<T>(&mut self) -> *mut T {
        assert!(size_of::<T>() <= 64);
        self.0.as_mut_ptr().cast()
    }

    fn put(&mut self, offset: usize, bytes: &[u8]) {
        self.0[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn u32(&self, offset: usize) -> u32 {
        u32::from_ne_bytes(self.0[offset..offset + 4].try_into().unwrap())
    }
}

#[test]
fn status_fills_only_the_union_member_of_the_state() {
    let g = Guest::default_guest();
    let port = xen::event_channel::allocate_unbound(&g.hv, 0).unwrap();
    let mut buf = Buf::filled(0xa5);
    buf.put(offset_of!(EvtchnStatus, dom), &DOMID_SELF.to_ne_bytes());
    buf.put(offset_of!(EvtchnStatus, port), &port.to_ne_bytes());
    let op = buf.at::<EvtchnStatus>();
    let rc = raw(
        &g.hv,
        HYPERVISOR_EVENT_CHANNEL_OP,
        &[EVTCHNOP_STATUS as usize, op.addr()],
    );
    assert_eq!(rc, 0);
    let (status, vcpu) = (
        buf.u32(offset_of!(EvtchnStatus, status)),
        buf.u32(offset_of!(EvtchnStatus, vcpu)),
    );
    assert_eq!((status, vcpu), (EVTCHNSTAT_UNBOUND, 0));
    let b = &buf.0;
    // u.unbound.dom (bytes 16..18) is written; the rest of the union keeps the guest's bytes.
    assert_eq!(&b[16..18], &[0, 0]);
    assert_eq!(&b[18..24], &[0xa5; 6]);
}

#[test]
fn the_third_watchdog_is_enospc_zero_extended_from_32_bits() {
    let g = Guest::default_guest();
    let mut op = SchedWatchdog { id: 0, timeout: 60 };
    let mut create = || {
        raw(
            &g.hv,
            HYPERVISOR_SCHED_OP,
            &[SCHEDOP_WATCHDOG as usize, (&raw mut op).addr()],
        )
    };
    assert_eq!((create(), create()), (1, 2));
    let third = create();
    assert_eq!(third, 4_294_967_268);
    assert_eq!(
        third,
        isize::try_from((-errno::ENOSPC).cast_unsigned()).unwrap()
    );
}

#[test]
fn set_version_writes_the_version_in_force_even_when_it_fails() {
    let g = Guest::default_guest();
    let mut op = GnttabSetVersion { version: 3 };
    let rc = raw(
        &g.hv,
        HYPERVISOR_GRANT_TABLE_OP,
        &[GNTTABOP_SET_VERSION as usize, (&raw mut op).addr(), 1],
    );
    assert_eq!(
        (rc, op.version),
        (-isize::try_from(errno::EINVAL).unwrap(), 1)
    );
}

#[test]
fn the_upcall_vector_argument_is_never_written() {
    let g = Guest::default_guest();
    let mut buf = Buf::filled(0x5c);
    buf.put(
        offset_of!(XenHvmEvtchnUpcallVector, vcpu),
        &0_u32.to_ne_bytes(),
    );
    buf.put(offset_of!(XenHvmEvtchnUpcallVector, vector), &[0xf4]);
    let op = buf.at::<XenHvmEvtchnUpcallVector>();
    let before = buf.0;
    let rc = raw(
        &g.hv,
        HYPERVISOR_HVM_OP,
        &[HVMOP_SET_EVTCHN_UPCALL_VECTOR as usize, op.addr()],
    );
    assert_eq!(rc, 0);
    assert_eq!(buf.0, before);
}
