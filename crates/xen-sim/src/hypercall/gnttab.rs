// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_grant_table_op`: sizes, versions, frames, maps and copies.

use super::{Trusted, edit, neg, with, write};
use crate::gnttab::MapEntry;
use crate::memory::{Overlay, PAGE_SIZE};
use crate::state::State;
use xen_headers::errno;
use xen_headers::grant_table::{
    GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF, GNTMAP_APPLICATION_MAP, GNTMAP_CONTAINS_PTE,
    GNTMAP_DEVICE_MAP, GNTMAP_HOST_MAP, GNTMAP_READONLY, GNTST_BAD_COPY_ARG, GNTST_BAD_DOMAIN,
    GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_BAD_PAGE, GNTST_GENERAL_ERROR, GNTST_OKAY,
    GNTST_PERMISSION_DENIED, GNTTAB_NR_RESERVED_ENTRIES, GNTTABOP_COPY, GNTTABOP_GET_VERSION,
    GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE, GNTTABOP_SET_VERSION, GNTTABOP_SETUP_TABLE,
    GNTTABOP_UNMAP_GRANT_REF, GnttabCopy, GnttabCopyPtr, GnttabGetVersion, GnttabMapGrantRef,
    GnttabQuerySize, GnttabSetVersion, GnttabSetupTable, GnttabUnmapGrantRef,
};
use xen_headers::xen::DOMID_SELF;

impl State {
    pub(super) fn grant_table_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let (cmd, arg, count) = (args[0] as u32, args[1], args[2]);
        let single = |count: usize| count == 1;
        match cmd {
            GNTTABOP_QUERY_SIZE => {
                if !single(count) {
                    return neg(errno::EINVAL);
                }
                {
                    with(t, arg, |op: &mut GnttabQuerySize| {
                        if let Err(status) = self.gnttab_target(op.dom) {
                            op.status = status;
                            return 0;
                        }
                        op.nr_frames = self.gnttab.frames.len() as u32;
                        op.max_nr_frames = self.gnttab.max_frames;
                        op.status = GNTST_OKAY;
                        0
                    })
                }
            }
            GNTTABOP_SETUP_TABLE => {
                if !single(count) {
                    return neg(errno::EINVAL);
                }
                with(t, arg, |op: &mut GnttabSetupTable| self.setup_table(t, op))
            }
            // Xen's `out:` path writes the version in force back on every outcome.
            GNTTABOP_SET_VERSION => edit(t, arg, true, |op: &mut GnttabSetVersion| {
                let wanted = op.version;
                let rc = if wanted != 1 && wanted != 2 {
                    neg(errno::EINVAL)
                } else if wanted != self.gnttab.version
                    && self
                        .gnttab
                        .pins
                        .keys()
                        .any(|&r| r >= GNTTAB_NR_RESERVED_ENTRIES)
                {
                    neg(errno::EBUSY)
                } else {
                    self.gnttab.version = wanted;
                    0
                };
                op.version = self.gnttab.version;
                rc
            }),
            GNTTABOP_GET_VERSION => with(t, arg, |op: &mut GnttabGetVersion| {
                if !self.own(op.dom) {
                    return neg(self.other_domain_errno(op.dom));
                }
                op.version = self.gnttab.version;
                0
            }),
            GNTTABOP_MAP_GRANT_REF | GNTTABOP_UNMAP_GRANT_REF | GNTTABOP_COPY => {
                for i in 0..count {
                    let r = match cmd {
                        GNTTABOP_MAP_GRANT_REF => with(
                            t,
                            arg + i * size_of::<GnttabMapGrantRef>(),
                            |op: &mut GnttabMapGrantRef| {
                                op.status = self.guest_map(op);
                                0
                            },
                        ),
                        GNTTABOP_UNMAP_GRANT_REF => with(
                            t,
                            arg + i * size_of::<GnttabUnmapGrantRef>(),
                            |op: &mut GnttabUnmapGrantRef| {
                                op.status = self.guest_unmap(op.handle, op.host_addr);
                                0
                            },
                        ),
                        _ => with(
                            t,
                            arg + i * size_of::<GnttabCopy>(),
                            |op: &mut GnttabCopy| {
                                op.status = self.copy(op);
                                0
                            },
                        ),
                    };
                    if r != 0 {
                        return r;
                    }
                }
                0
            }
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn setup_table(&mut self, t: Trusted, op: &mut GnttabSetupTable) -> isize {
        if let Err(status) = self.gnttab_target(op.dom) {
            op.status = status;
            return 0;
        }
        let pool = self.mem.pool();
        if !self.gnttab.grow(pool, op.nr_frames) {
            op.status = GNTST_GENERAL_ERROR;
            return 0;
        }
        for i in 0..op.nr_frames {
            let gfn = self
                .mem
                .find_overlay(Overlay::GrantFrame(i))
                .unwrap_or(u64::MAX);
            // The frame list is `nr_frames` long (the guest's guarantee).
            write(t, op.frame_list.p.wrapping_add(i as usize).addr(), gfn);
        }
        op.status = GNTST_OKAY;
        0
    }

    pub(super) fn guest_map(&mut self, op: &mut GnttabMapGrantRef) -> i16 {
        if op.flags & (GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP) == 0 {
            return GNTST_BAD_GNTREF;
        }
        // A translated guest has no device, application or PTE mappings.
        if op.flags & (GNTMAP_DEVICE_MAP | GNTMAP_APPLICATION_MAP | GNTMAP_CONTAINS_PTE) != 0 {
            return GNTST_GENERAL_ERROR;
        }
        let readonly = op.flags & GNTMAP_READONLY != 0;
        let gfn = op.host_addr >> 12;
        let (page, granter) = if op.dom == self.cfg.backend_domid {
            let Some(grant) = self.backend_grants.get_mut(&op.ref_) else {
                return GNTST_BAD_GNTREF;
            };
            if grant.domid != self.cfg.domid || (grant.readonly && !readonly) {
                return GNTST_GENERAL_ERROR;
            }
            grant.pins += 1;
            (grant.page, op.dom)
        } else if op.dom == self.cfg.domid {
            // A grant of the domain's own memory: on a translated guest Xen 4.17 adds the
            // frame at the new place and removes it from the old one (the p2m keeps one place
            // per frame), so the granted frame is left unbacked until repopulated.
            if op.ref_ >= self.gnttab.nr_entries() {
                return GNTST_BAD_GNTREF;
            }
            let frame = match self.gnttab.pin(op.ref_, self.cfg.domid, readonly) {
                Ok(frame) => u64::from(frame),
                Err(status) => return status,
            };
            let Some(page) = self.mem.page(frame) else {
                self.gnttab.unpin(op.ref_, readonly);
                return GNTST_BAD_PAGE;
            };
            self.mem.move_out(frame);
            (page, op.dom)
        } else {
            return GNTST_BAD_DOMAIN;
        };
        // A granted mapping already at the frame: Xen's p2m refuses to replace it (EPERM),
        // and the pin just taken is dropped again.
        if matches!(self.mem.overlay(gfn), Some(Overlay::GrantMap(_))) {
            if granter == self.cfg.backend_domid {
                if let Some(g) = self.backend_grants.get_mut(&op.ref_) {
                    g.pins = g.pins.saturating_sub(1);
                }
            } else {
                self.gnttab.unpin(op.ref_, readonly);
            }
            return GNTST_GENERAL_ERROR;
        }
        let handle = self.guest_maptrack.insert(MapEntry {
            granter,
            reference: op.ref_,
            readonly,
            gfn: Some(gfn),
            page,
        });
        // RAM at the target frame is unmapped but stays the domain's (p2m_add_page).
        self.mem.move_out(gfn);
        self.mem.set_overlay(gfn, Overlay::GrantMap(handle), page);
        op.handle = handle;
        GNTST_OKAY
    }

    pub(super) fn guest_unmap(&mut self, handle: u32, host_addr: u64) -> i16 {
        let Some(entry) = self.guest_maptrack.get(handle) else {
            return GNTST_BAD_HANDLE;
        };
        if host_addr != 0 && entry.gfn != Some(host_addr >> 12) {
            return GNTST_GENERAL_ERROR;
        }
        self.guest_maptrack.remove(handle);
        if let Some(gfn) = entry.gfn {
            self.mem.clear_overlay(gfn);
        }
        if entry.granter == self.cfg.backend_domid {
            if let Some(g) = self.backend_grants.get_mut(&entry.reference) {
                g.pins = g.pins.saturating_sub(1);
            }
        } else {
            self.gnttab.unpin(entry.reference, entry.readonly);
        }
        GNTST_OKAY
    }

    /// One end of a copy: the page, or a status.
    pub(super) fn copy_end(
        &mut self,
        end: &GnttabCopyPtr,
        gref: bool,
        write: bool,
    ) -> Result<crate::memory::Page, i16> {
        // SAFETY: both union members are plain integers, every bit pattern valid.
        let reference = unsafe { end.u.ref_ };
        // SAFETY: as above.
        let gmfn = unsafe { end.u.gmfn };
        if !gref {
            return self.mem.page(gmfn).ok_or(GNTST_BAD_PAGE);
        }
        let domid = self.resolve(end.domid);
        if domid == self.cfg.domid {
            if reference >= self.gnttab.nr_entries() {
                return Err(GNTST_BAD_GNTREF);
            }
            let frame = self.gnttab.pin(reference, self.cfg.domid, !write)?;
            self.gnttab.unpin(reference, !write);
            self.mem.page(u64::from(frame)).ok_or(GNTST_BAD_PAGE)
        } else if domid == self.cfg.backend_domid {
            let grant = self
                .backend_grants
                .get(&reference)
                .ok_or(GNTST_BAD_GNTREF)?;
            if grant.domid != self.cfg.domid || (write && grant.readonly) {
                return Err(GNTST_GENERAL_ERROR);
            }
            Ok(grant.page)
        } else {
            Err(GNTST_BAD_DOMAIN)
        }
    }

    /// `gnttab_copy_lock_domain`: only `DOMID_SELF` names a frame; the domain must exist.
    pub(super) const fn copy_domain(&self, end: &GnttabCopyPtr, gref: bool) -> Result<(), i16> {
        if end.domid != DOMID_SELF && !gref {
            return Err(GNTST_PERMISSION_DENIED);
        }
        let domid = self.resolve(end.domid);
        if domid == self.cfg.domid || domid == self.cfg.backend_domid {
            Ok(())
        } else {
            Err(GNTST_BAD_DOMAIN)
        }
    }

    /// `gnttab_copy_one`, in Xen's order: both domains, the source, the destination, then the
    /// bounds.
    pub(super) fn copy(&mut self, op: &GnttabCopy) -> i16 {
        let (src_gref, dst_gref) = (
            op.flags & GNTCOPY_SOURCE_GREF != 0,
            op.flags & GNTCOPY_DEST_GREF != 0,
        );
        if let Err(status) = self
            .copy_domain(&op.source, src_gref)
            .and_then(|()| self.copy_domain(&op.dest, dst_gref))
        {
            return status;
        }
        let src = match self.copy_end(&op.source, op.flags & GNTCOPY_SOURCE_GREF != 0, false) {
            Ok(p) => p,
            Err(s) => return s,
        };
        let dst = match self.copy_end(&op.dest, op.flags & GNTCOPY_DEST_GREF != 0, true) {
            Ok(p) => p,
            Err(s) => return s,
        };
        let len = usize::from(op.len);
        let (so, dof) = (usize::from(op.source.offset), usize::from(op.dest.offset));
        if so + len > PAGE_SIZE || dof + len > PAGE_SIZE {
            return GNTST_BAD_COPY_ARG;
        }
        let (from, to) = (src.ptr().wrapping_add(so), dst.ptr().wrapping_add(dof));
        // SAFETY: both ranges lie inside simulator-owned pages (offsets and length checked
        // above); `copy` allows overlap.
        unsafe { std::ptr::copy(from, to, len) };
        GNTST_OKAY
    }
}
