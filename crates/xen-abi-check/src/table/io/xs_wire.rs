// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/xs_wire.h`.

use crate::table::{Table, consts, layout, typedef};
use xen_headers::io::xs_wire::{
    self, XSD_ERRORS, XenstoreDomainInterface, XenstoreRingIdx, XsdSockmsg, XsdSockmsgType,
};

/// Ring indices `MASK_XENSTORE_IDX` is checked with: both ends of the ring, wrap-around and the
/// top of the index range.
const MASK_SAMPLES: &[XenstoreRingIdx] =
    &[0, 1, 1023, 1024, 1025, 2047, 4097, 0x8000_0401, u32::MAX];

pub fn items(t: &mut Table) {
    typedef!(t, "enum xsd_sockmsg_type", XsdSockmsgType);
    consts!(t, xen_headers::io::xs_wire;
        XS_CONTROL => XS_CONTROL,
        XS_DEBUG => XS_DEBUG,
        XS_DIRECTORY => XS_DIRECTORY,
        XS_READ => XS_READ,
        XS_GET_PERMS => XS_GET_PERMS,
        XS_WATCH => XS_WATCH,
        XS_UNWATCH => XS_UNWATCH,
        XS_TRANSACTION_START => XS_TRANSACTION_START,
        XS_TRANSACTION_END => XS_TRANSACTION_END,
        XS_INTRODUCE => XS_INTRODUCE,
        XS_RELEASE => XS_RELEASE,
        XS_GET_DOMAIN_PATH => XS_GET_DOMAIN_PATH,
        XS_WRITE => XS_WRITE,
        XS_MKDIR => XS_MKDIR,
        XS_RM => XS_RM,
        XS_SET_PERMS => XS_SET_PERMS,
        XS_WATCH_EVENT => XS_WATCH_EVENT,
        XS_ERROR => XS_ERROR,
        XS_IS_DOMAIN_INTRODUCED => XS_IS_DOMAIN_INTRODUCED,
        XS_RESUME => XS_RESUME,
        XS_SET_TARGET => XS_SET_TARGET,
        XS_RESET_WATCHES => XS_RESET_WATCHES,
        XS_DIRECTORY_PART => XS_DIRECTORY_PART,
        XS_TYPE_COUNT => XS_TYPE_COUNT,
        XS_INVALID => XS_INVALID,
    );

    t.string("XS_WRITE_NONE", xs_wire::XS_WRITE_NONE);
    t.string("XS_WRITE_CREATE", xs_wire::XS_WRITE_CREATE);
    t.string("XS_WRITE_CREATE_EXCL", xs_wire::XS_WRITE_CREATE_EXCL);

    // The error table, element by element (the probe includes <errno.h> first so C emits it).
    t.int(
        "sizeof(xsd_errors)/sizeof(xsd_errors[0])",
        XSD_ERRORS.len() as u64,
    );
    for (i, e) in XSD_ERRORS.iter().enumerate() {
        t.int(format!("xsd_errors[{i}].errnum"), e.errnum);
        t.string(format!("xsd_errors[{i}].errstring"), e.errstring);
    }

    layout!(t, "struct xsd_sockmsg", XsdSockmsg { type_ as "type", req_id, tx_id, len });
    t.int("sizeof(struct xsd_sockmsg)", XsdSockmsg::SIZE as u64);

    t.int("XS_WATCH_PATH", xs_wire::XS_WATCH_PATH as u64);
    t.int("XS_WATCH_TOKEN", xs_wire::XS_WATCH_TOKEN as u64);

    t.int("XENSTORE_RING_SIZE", xs_wire::XENSTORE_RING_SIZE as u64);
    typedef!(t, "XENSTORE_RING_IDX", XenstoreRingIdx);
    for &idx in MASK_SAMPLES {
        t.int(
            format!("MASK_XENSTORE_IDX((XENSTORE_RING_IDX){idx}u)"),
            xs_wire::mask_xenstore_idx(idx),
        );
    }
    layout!(
        t,
        "struct xenstore_domain_interface",
        XenstoreDomainInterface {
            req,
            rsp,
            req_cons,
            req_prod,
            rsp_cons,
            rsp_prod,
            server_features,
            connection,
            error,
        }
    );

    t.int("XENSTORE_PAYLOAD_MAX", xs_wire::XENSTORE_PAYLOAD_MAX as u64);
    t.int(
        "XENSTORE_ABS_PATH_MAX",
        xs_wire::XENSTORE_ABS_PATH_MAX as u64,
    );
    t.int(
        "XENSTORE_REL_PATH_MAX",
        xs_wire::XENSTORE_REL_PATH_MAX as u64,
    );
    consts!(t, xen_headers::io::xs_wire;
        XENSTORE_SERVER_FEATURE_RECONNECTION => XENSTORE_SERVER_FEATURE_RECONNECTION,
        XENSTORE_SERVER_FEATURE_ERROR => XENSTORE_SERVER_FEATURE_ERROR,
        XENSTORE_CONNECTED => XENSTORE_CONNECTED,
        XENSTORE_RECONNECT => XENSTORE_RECONNECT,
        XENSTORE_ERROR_NONE => XENSTORE_ERROR_NONE,
        XENSTORE_ERROR_COMM => XENSTORE_ERROR_COMM,
        XENSTORE_ERROR_RINGIDX => XENSTORE_ERROR_RINGIDX,
        XENSTORE_ERROR_PROTO => XENSTORE_ERROR_PROTO,
    );
}
