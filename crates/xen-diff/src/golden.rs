// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The golden transcripts (the PVH test kernel's suite with 1 and with 2 vCPUs on Debian's
//! Xen 4.17 under QEMU, recorded by scripts/xen-qemu-test) replayed against the simulator.
//!
//! These scenario tests live in the library rather than under `tests/`: an integration test
//! makes cargo build the `sim-vs-xen` binary with the workspace's `panic = "abort"` next to the
//! unwinding test build of the same dependencies, and the two `xen` cdylibs collide.

use crate::known::known;
use crate::{Transcript, replay};

const GOLDEN: &str = include_str!("../data/xen-4.17-pvh-dom0.xtr");
const GOLDEN_2VCPU: &str = include_str!("../data/xen-4.17-pvh-dom0-2vcpu.xtr");

fn golden() -> Transcript {
    Transcript::parse(GOLDEN).expect("the golden transcript parses")
}

fn assert_complete(t: &Transcript, vcpus: u32) {
    let records = u32::try_from(t.records.len()).unwrap();
    assert_eq!(t.end, Some((records, 0)), "every hypercall recorded");
    assert!(records > 150, "{records} records");
    assert!(t.records.iter().all(|r| r.ret.is_some()));
    assert_eq!((t.domid, t.vcpus), (0, vcpus));
    assert_eq!(t.ram.len(), 8);
}

/// Replays `t`; fails on any divergence that is not a diagnosed simulator bug (there are none
/// open: see `crate::known`).
fn assert_no_divergence(t: &Transcript) {
    let report = replay(t);
    assert_eq!(report.replayed, t.records.len());
    let unknown: Vec<String> = report
        .divergences
        .iter()
        .filter(|d| known(d).is_none())
        .map(ToString::to_string)
        .collect();
    assert!(
        unknown.is_empty(),
        "simulator diverges from Xen 4.17 (fix the simulator):\n{}",
        unknown.join("\n")
    );
}

#[test]
fn golden_transcript_is_complete() {
    assert_complete(&golden(), 1);
}

#[test]
fn golden_two_vcpu_transcript_is_complete_and_uses_vcpu1() {
    let t = Transcript::parse(GOLDEN_2VCPU).unwrap();
    assert_complete(&t, 2);
    assert!(
        t.records.iter().any(|r| r.cpu == 1),
        "vCPU 1's own calls recorded"
    );
}

#[test]
fn golden_transcript_replays_without_divergence() {
    assert_no_divergence(&golden());
}

#[test]
fn golden_two_vcpu_transcript_replays_without_divergence() {
    assert_no_divergence(&Transcript::parse(GOLDEN_2VCPU).unwrap());
}

/// Replays a copy of the golden transcript with one line of real Xen's results changed.
fn replay_tampered(find: &str, replace: &str) -> Vec<String> {
    assert!(GOLDEN.contains(find), "{find:?} not in the transcript");
    let t = Transcript::parse(&GOLDEN.replacen(find, replace, 1)).unwrap();
    replay(&t)
        .divergences
        .iter()
        .filter(|d| known(d).is_none())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_different_return_code_is_a_divergence() {
    // #3: XENVER_get_features with submap 7 fails with -EINVAL on Xen.
    let found = replay_tampered("XTR r 3 -22\n", "XTR r 3 -38\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("#3 xen_version(get_features) return: xen -38 / sim -22"));
}

#[test]
fn a_different_pending_bit_is_a_divergence() {
    // The first EVTCHNOP_send: Xen set the bound port's pending bit (window after the call).
    let t = golden();
    let send = t
        .records
        .iter()
        .find(|r| r.op == 32 && r.args[0] == 4 && r.ret == Some(0))
        .unwrap();
    let pending = send.post.iter().find(|w| w.off == 0x800).unwrap();
    let mut flipped = pending.bytes.clone();
    flipped[0] ^= 0x80;
    let line = |bytes: &[u8]| {
        let mut s = String::new();
        xen_transcript::hex::encode(bytes, &mut |c| s.push(char::from(c)));
        format!("XTR a {} {:x} 800 {s}\n", send.seq, pending.gfn)
    };
    let found = replay_tampered(&line(&pending.bytes), &line(&flipped));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("event_channel_op(send) memory"),
        "{found:?}"
    );
}

#[test]
fn a_different_grant_copy_result_is_a_divergence() {
    // Pretend Xen left the destination page of the first GNTTABOP_copy untouched.
    let t = golden();
    let copy = t
        .records
        .iter()
        .find(|r| r.op == 20 && r.args[0] == 5)
        .unwrap();
    let dst = copy
        .post
        .iter()
        .zip(&copy.pre)
        .find(|(a, b)| a.bytes != b.bytes)
        .unwrap();
    let enc = |bytes: &[u8]| {
        let mut s = String::new();
        xen_transcript::hex::encode(bytes, &mut |c| s.push(char::from(c)));
        s
    };
    let found = replay_tampered(
        &format!(
            "XTR a {} {:x} 0 {}\n",
            copy.seq,
            dst.0.gfn,
            enc(&dst.0.bytes)
        ),
        &format!(
            "XTR a {} {:x} 0 {}\n",
            copy.seq,
            dst.0.gfn,
            enc(&dst.1.bytes)
        ),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("grant_table_op(copy) memory"),
        "{found:?}"
    );
}

#[test]
fn the_transcript_sizes_vcpu_initialise_as_crates_xen_does() {
    assert_eq!(
        xen_transcript::layout::VCPU_HVM_CONTEXT_SIZE,
        size_of::<xen::vcpu::VcpuHvmContext>()
    );
}
