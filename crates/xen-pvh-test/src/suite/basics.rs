// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Detection, version, console and HVM parameters.

use super::{check_eq, hv};
use crate::harness::{check, fatal, ok, status};
use crate::{XEN, events};
use xen::hypercall::{Cpuid, Instruction, Xen, find_xen};
use xen::status::{STATUS_ACCESS_DENIED, STATUS_INVALID_PARAMETER};
use xen_headers::features::{
    XENFEAT_AUTO_TRANSLATED_PHYSMAP, XENFEAT_DOM0, XENFEAT_HVM_CALLBACK_VECTOR,
};
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN,
    HVM_PARAM_STORE_PFN, hvm_param_callback_vector,
};

/// `HVM_PARAM_PAE_ENABLED`: deprecated (Xen refuses it with `EINVAL`); the 4.17 headers only
/// name it for old interface versions, so xen-headers does not have it.
const HVM_PARAM_PAE_ENABLED: u32 = 4;

/// CPUID detection and the hypercall instruction.
pub fn detection() {
    let detected = Xen::detect();
    let Ok(xen) = detected else {
        fatal(format_args!("Xen not detected: {detected:?}"));
    };
    XEN.call_once(|| xen);
    let d = xen.detected;
    check(
        "hypercall.detect_signature",
        &Cpuid::read(d.base).signature() == b"XenVMMXenVMM" && d.max_leaf >= d.base + 2,
        format_args!("base {:#x}, max leaf {:#x}", d.base, d.max_leaf),
    );
    check(
        "hypercall.detect_version_leaf",
        (d.major, d.minor) == (4, 17) && find_xen(Cpuid::read) == Some(d),
        format_args!("CPUID base+1 says {}.{}", d.major, d.minor),
    );
    let vendor = Cpuid::read(0).vendor();
    // QEMU TCG emulates AMD SVM only, so the vendor is AMD and the instruction vmmcall; the
    // choice itself is unit-tested for every vendor.
    check(
        "hypercall.vendor_instruction",
        Instruction::for_vendor(&vendor) == Some(xen.instruction)
            && xen.instruction == Instruction::Vmmcall,
        format_args!(
            "vendor {}, {}",
            core::str::from_utf8(&vendor).unwrap_or("?"),
            xen.instruction.name()
        ),
    );
}

/// `XENVER_*`.
pub fn version() {
    let xen = hv();
    if let Some((major, minor)) = ok("version.version", xen::xen_version::version(xen)) {
        check_eq(
            "version.matches_cpuid",
            (major, minor),
            (xen.detected.major, xen.detected.minor),
        );
    }
    if let Some(extra) = ok("version.extraversion", xen::xen_version::extra_version(xen)) {
        let len = extra.iter().position(|&b| b == 0).unwrap_or(extra.len());
        let text = extra.get(..len).unwrap_or_default();
        check(
            "version.extraversion_is_terminated_text",
            len > 1 && len < extra.len() && text.first() == Some(&b'.'),
            format_args!("{:?}", core::str::from_utf8(text)),
        );
    }
    if let Some(submap) = ok(
        "version.get_features",
        xen::xen_version::get_features(xen, 0),
    ) {
        let has = |bit: u32| submap & (1 << bit) != 0;
        check(
            "version.features_pvh_dom0",
            has(XENFEAT_AUTO_TRANSLATED_PHYSMAP)
                && has(XENFEAT_HVM_CALLBACK_VECTOR)
                && has(XENFEAT_DOM0),
            format_args!("submap 0 = {submap:#x}"),
        );
    }
    status(
        "version.get_features_bad_submap",
        xen::xen_version::get_features(xen, 7),
        STATUS_INVALID_PARAMETER,
    );
}

/// `CONSOLEIO_write` (every line of this suite goes through it too).
pub fn console() {
    ok(
        "console.write",
        xen::console::write(hv(), b"XTK: console_io write through the wrapper\n"),
    );
}

/// `HVMOP_set_param`/`get_param`, and the callback vector the event checks use.
pub fn hvm_params() {
    let xen = hv();
    let via = hvm_param_callback_vector(events::CALLBACK_VECTOR);
    ok(
        "hvm.set_param_callback_vector",
        xen::hvm::set_param(xen, HVM_PARAM_CALLBACK_IRQ, via),
    );
    check_eq(
        "hvm.get_param_callback_vector",
        xen::hvm::get_param(xen, HVM_PARAM_CALLBACK_IRQ),
        Ok(via),
    );
    ok(
        "hvm.set_param_store_evtchn",
        xen::hvm::set_param(xen, HVM_PARAM_STORE_EVTCHN, 5),
    );
    check_eq(
        "hvm.get_param_store_evtchn",
        xen::hvm::get_param(xen, HVM_PARAM_STORE_EVTCHN),
        Ok(5),
    );
    let _ = xen::hvm::set_param(xen, HVM_PARAM_STORE_EVTCHN, 0);
    check_eq(
        "hvm.get_param_console_evtchn_unset",
        xen::hvm::get_param(xen, HVM_PARAM_CONSOLE_EVTCHN),
        Ok(0),
    );
    status(
        "hvm.set_param_forbidden_is_access_denied",
        xen::hvm::set_param(xen, HVM_PARAM_STORE_PFN, 1),
        STATUS_ACCESS_DENIED,
    );
    status(
        "hvm.set_param_deprecated_is_invalid",
        xen::hvm::set_param(xen, HVM_PARAM_PAE_ENABLED, 1),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "hvm.get_param_out_of_range_is_invalid",
        xen::hvm::get_param(xen, HVM_NR_PARAMS),
        STATUS_INVALID_PARAMETER,
    );
    // Debian's Xen has no shadow paging: the hint is refused.
    status(
        "hvm.pagetable_dying_without_shadow_paging",
        xen::hvm::pagetable_dying(xen, 0x1000),
        STATUS_INVALID_PARAMETER,
    );
}
