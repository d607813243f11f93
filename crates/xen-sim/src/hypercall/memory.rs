// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_memory_op`: the reservation and the physmap.

use super::{Trusted, neg, rc, read};
use crate::evtchn::Errno;
use crate::memory::Overlay;
use crate::state::State;
use xen_headers::errno;
use xen_headers::memory::{
    XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP,
    XENMEM_CURRENT_RESERVATION, XENMEM_DECREASE_RESERVATION, XENMEM_MAXIMUM_RESERVATION,
    XENMEM_POPULATE_PHYSMAP, XENMEM_REMOVE_FROM_PHYSMAP, XenAddToPhysmap, XenMemoryReservation,
    XenRemoveFromPhysmap,
};
use xen_headers::xen::DomId;

impl State {
    pub(super) fn memory_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let cmd = (args[0] & 0x3f) as u32;
        let start = args[0] >> 6;
        match cmd {
            XENMEM_DECREASE_RESERVATION | XENMEM_POPULATE_PHYSMAP => {
                let Some(r) = read::<XenMemoryReservation>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(r.domid) {
                    return neg(if r.domid == self.cfg.backend_domid {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                if r.extent_order > 9 {
                    return start as isize;
                }
                let pages = 1_u64 << r.extent_order;
                let mut done = start as u64;
                while done < r.nr_extents {
                    // An unreadable list ends the call with the extents done, as in Xen.
                    let Some(gfn) =
                        read::<u64>(t, r.extent_start.p.wrapping_add(done as usize).addr())
                    else {
                        break;
                    };
                    let ok = (0..pages).all(|i| {
                        if cmd == XENMEM_DECREASE_RESERVATION {
                            self.mem.release(gfn + i)
                        } else {
                            self.mem.populate(gfn + i)
                        }
                    });
                    if !ok {
                        break;
                    }
                    done += 1;
                }
                done as isize
            }
            XENMEM_CURRENT_RESERVATION | XENMEM_MAXIMUM_RESERVATION => {
                let Some(domid) = read::<DomId>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(domid) {
                    return neg(if domid == self.cfg.backend_domid {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                if cmd == XENMEM_CURRENT_RESERVATION {
                    self.mem.populated_count() as isize
                } else {
                    self.cfg.max_pages as isize
                }
            }
            XENMEM_ADD_TO_PHYSMAP => {
                let Some(a) = read::<XenAddToPhysmap>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(a.domid) {
                    return neg(errno::ESRCH);
                }
                rc(self.add_to_physmap(a.space, a.idx, a.gpfn))
            }
            XENMEM_REMOVE_FROM_PHYSMAP => {
                let Some(r) = read::<XenRemoveFromPhysmap>(t, args[1]) else {
                    return neg(errno::EFAULT);
                };
                if !self.own(r.domid) {
                    return neg(errno::ESRCH);
                }
                if self.mem.clear_overlay(r.gpfn).is_some() || self.mem.release(r.gpfn) {
                    0
                } else {
                    neg(errno::ENOENT)
                }
            }
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn add_to_physmap(&mut self, space: u32, idx: u64, gfn: u64) -> Result<(), Errno> {
        match space {
            XENMAPSPACE_SHARED_INFO => {
                if idx != 0 {
                    return Err(errno::EINVAL);
                }
                self.map_shared_info(gfn);
                Ok(())
            }
            XENMAPSPACE_GRANT_TABLE => {
                let frame = u32::try_from(idx).map_err(|_| errno::EINVAL)?;
                if frame >= self.gnttab.max_frames {
                    return Err(errno::EINVAL);
                }
                if frame >= self.gnttab.frames.len() as u32 {
                    let max = frame + 1;
                    let pool = self.mem.pool();
                    if !self.gnttab.grow(pool, max) {
                        return Err(errno::EINVAL);
                    }
                }
                let page = self.gnttab.frames[frame as usize];
                if let Some(old) = self.mem.find_overlay(Overlay::GrantFrame(frame)) {
                    self.mem.clear_overlay(old);
                }
                self.mem.set_overlay(gfn, Overlay::GrantFrame(frame), page);
                Ok(())
            }
            _ => Err(errno::EINVAL),
        }
    }
}
