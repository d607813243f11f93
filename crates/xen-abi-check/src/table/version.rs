// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/version.h`.

use super::{Table, consts, layout, typedef};
use xen_headers::version::{
    XEN_CAPABILITIES_INFO_LEN, XEN_CHANGESET_INFO_LEN, XEN_EXTRAVERSION_LEN, XenBuildId,
    XenCapabilitiesInfo, XenChangesetInfo, XenCommandline, XenCompileInfo, XenExtraversion,
    XenFeatureInfo, XenPlatformParameters,
};

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::version;
        XENVER_version => XENVER_VERSION,
        XENVER_extraversion => XENVER_EXTRAVERSION,
        XENVER_compile_info => XENVER_COMPILE_INFO,
        XENVER_capabilities => XENVER_CAPABILITIES,
        XENVER_changeset => XENVER_CHANGESET,
        XENVER_platform_parameters => XENVER_PLATFORM_PARAMETERS,
        XENVER_get_features => XENVER_GET_FEATURES,
        XENVER_pagesize => XENVER_PAGESIZE,
        XENVER_guest_handle => XENVER_GUEST_HANDLE,
        XENVER_commandline => XENVER_COMMANDLINE,
        XENVER_build_id => XENVER_BUILD_ID,
    );
    t.int("XEN_EXTRAVERSION_LEN", XEN_EXTRAVERSION_LEN as u64);
    t.int(
        "XEN_CAPABILITIES_INFO_LEN",
        XEN_CAPABILITIES_INFO_LEN as u64,
    );
    t.int("XEN_CHANGESET_INFO_LEN", XEN_CHANGESET_INFO_LEN as u64);

    typedef!(t, "xen_extraversion_t", XenExtraversion);
    typedef!(t, "xen_capabilities_info_t", XenCapabilitiesInfo);
    typedef!(t, "xen_changeset_info_t", XenChangesetInfo);
    typedef!(t, "xen_commandline_t", XenCommandline);
    layout!(
        t,
        "struct xen_compile_info",
        XenCompileInfo {
            compiler,
            compile_by,
            compile_domain,
            compile_date,
        }
    );
    layout!(
        t,
        "struct xen_platform_parameters",
        XenPlatformParameters { virt_start }
    );
    layout!(
        t,
        "struct xen_feature_info",
        XenFeatureInfo { submap_idx, submap }
    );
    // `buf` is a flexible array member: C has no size for it, only an offset.
    layout!(t, "struct xen_build_id", XenBuildId { len });
    t.int(
        "offsetof(struct xen_build_id, buf)",
        core::mem::offset_of!(XenBuildId, buf) as u64,
    );
}
