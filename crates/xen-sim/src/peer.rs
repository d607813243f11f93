// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The backend domain (dom0) as a test drives it: event channels to the guest, mapping the
//! guest's grants as Xen lets a backend map them, and granting its own pages to the guest.

use crate::Sim;
use crate::evtchn::{Errno, PortState, Surface};
use crate::gnttab::{BackendGrant, MapEntry};
use crate::memory::{PAGE_SIZE, Page};
use xen_headers::grant_table::{
    GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_BAD_PAGE, GNTST_GENERAL_ERROR,
};
use xen_headers::xen::DomId;

/// The backend domain.
#[derive(Clone, Debug)]
pub struct Peer {
    sim: Sim,
}

/// A guest grant mapped by the backend. Unmap it with [`Peer::unmap_grant`].
#[derive(Debug)]
pub struct Mapping {
    handle: u32,
    page: Page,
    readonly: bool,
}

/// Why a mapping access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// Beyond the page.
    OutOfRange,
    /// A write through a read-only mapping.
    ReadOnly,
}

fn check_range(offset: usize, len: usize) -> Result<(), AccessError> {
    if offset.checked_add(len).is_some_and(|end| end <= PAGE_SIZE) {
        Ok(())
    } else {
        Err(AccessError::OutOfRange)
    }
}

fn read_page(page: Page, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
    check_range(offset, buf.len())?;
    for (i, b) in buf.iter_mut().enumerate() {
        let p = page.ptr().wrapping_add(offset + i);
        // SAFETY: inside the simulator-owned page; volatile because the guest may write it.
        *b = unsafe { p.read_volatile() };
    }
    Ok(())
}

fn write_page(page: Page, offset: usize, data: &[u8]) -> Result<(), AccessError> {
    check_range(offset, data.len())?;
    for (i, b) in data.iter().enumerate() {
        let p = page.ptr().wrapping_add(offset + i);
        // SAFETY: as `read_page`.
        unsafe { p.write_volatile(*b) };
    }
    Ok(())
}

impl Mapping {
    /// The maptrack handle.
    #[must_use]
    pub const fn handle(&self) -> u32 {
        self.handle
    }

    /// Whether the mapping is read-only.
    #[must_use]
    pub const fn readonly(&self) -> bool {
        self.readonly
    }

    /// The host address of the mapped page.
    #[must_use]
    pub const fn ptr(&self) -> *mut u8 {
        self.page.ptr()
    }

    /// Reads `buf.len()` bytes at `offset` of the guest's page.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`] beyond the page.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        read_page(self.page, offset, buf)
    }

    /// Writes `data` at `offset` of the guest's page.
    ///
    /// # Errors
    ///
    /// [`AccessError::ReadOnly`] for a read-only mapping, [`AccessError::OutOfRange`].
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        if self.readonly {
            return Err(AccessError::ReadOnly);
        }
        write_page(self.page, offset, data)
    }
}

/// A page of the backend's, granted to the guest.
#[derive(Debug)]
pub struct BackendPage {
    reference: u32,
    page: Page,
}

impl BackendPage {
    /// The grant reference the guest maps.
    #[must_use]
    pub const fn reference(&self) -> u32 {
        self.reference
    }

    /// Reads the page.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`] beyond the page.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        read_page(self.page, offset, buf)
    }

    /// Writes the page.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`] beyond the page.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), AccessError> {
        write_page(self.page, offset, data)
    }
}

impl Peer {
    pub(crate) const fn new(sim: Sim) -> Self {
        Self { sim }
    }

    /// The backend's domain id.
    #[must_use]
    pub fn domid(&self) -> DomId {
        self.sim.with(|s| s.cfg.backend_domid)
    }

    /// A new backend port the guest may bind to.
    ///
    /// # Errors
    ///
    /// The errno Xen would return.
    pub fn allocate_unbound(&self) -> Result<u32, Errno> {
        self.sim.with(|s| {
            let (me, guest) = (s.cfg.backend_domid, s.cfg.domid);
            s.alloc_unbound(me, guest, 0)
        })
    }

    /// Binds a new backend port to the guest's unbound `guest_port` (the new backend port is
    /// set pending, as Xen does).
    ///
    /// # Errors
    ///
    /// `EINVAL` when the guest port is not unbound for the backend.
    pub fn bind_interdomain(&self, guest_port: u32) -> Result<u32, Errno> {
        self.sim.with(|s| {
            let (me, guest) = (s.cfg.backend_domid, s.cfg.domid);
            s.bind_interdomain(me, guest, guest_port)
        })
    }

    /// Notifies the other end of `port`.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a port that is not bound.
    pub fn send(&self, port: u32) -> Result<(), Errno> {
        self.sim.with(|s| {
            let me = s.cfg.backend_domid;
            s.send(me, port)
        })
    }

    /// Closes `port`.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a port not in use.
    pub fn close(&self, port: u32) -> Result<(), Errno> {
        self.sim.with(|s| {
            let me = s.cfg.backend_domid;
            s.close(me, port)
        })
    }

    /// The binding of backend `port`.
    #[must_use]
    pub fn port_state(&self, port: u32) -> Option<PortState> {
        self.sim.with(|s| s.backend.port(port).map(|p| p.state))
    }

    /// Ports that became pending since the last call, oldest first (their pending state is
    /// cleared). The toolstack's own store and console ports are not included.
    #[must_use]
    pub fn take_events(&self) -> Vec<u32> {
        self.sim.with(|s| match &mut s.backend.surface {
            Surface::Backend { pending, fired } => {
                let taken = std::mem::take(fired);
                for p in &taken {
                    pending.remove(p);
                }
                taken
            }
            Surface::Guest(_) => Vec::new(),
        })
    }

    /// Maps guest grant `reference` (`GNTTABOP_map_grant_ref` from the backend): the live
    /// entry must permit access to the backend (and writing, unless `readonly`);
    /// `GTF_reading`/`GTF_writing` stay set in it until [`Self::unmap_grant`].
    ///
    /// # Errors
    ///
    /// The `GNTST_*` status.
    pub fn map_grant(&self, reference: u32, readonly: bool) -> Result<Mapping, i16> {
        self.sim.with(|s| {
            if reference >= s.gnttab.nr_entries() {
                return Err(GNTST_BAD_GNTREF);
            }
            let me = s.cfg.backend_domid;
            let frame = s.gnttab.pin(reference, me, readonly)?;
            let Some(page) = s.mem.page(u64::from(frame)) else {
                s.gnttab.unpin(reference, readonly);
                return Err(GNTST_BAD_PAGE);
            };
            let handle = s.backend_maptrack.insert(MapEntry {
                granter: s.cfg.domid,
                reference,
                readonly,
                gfn: None,
                page,
            });
            Ok(Mapping {
                handle,
                page,
                readonly,
            })
        })
    }

    /// Unmaps a mapping made by [`Self::map_grant`].
    ///
    /// # Errors
    ///
    /// `GNTST_bad_handle` for a mapping already gone (e.g. dropped by a suspend).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "unmapping takes the mapping so it cannot be used afterwards"
    )]
    pub fn unmap_grant(&self, mapping: Mapping) -> Result<(), i16> {
        let Mapping { handle, .. } = mapping;
        self.sim.with(|s| {
            let entry = s.backend_maptrack.remove(handle).ok_or(GNTST_BAD_HANDLE)?;
            s.gnttab.unpin(entry.reference, entry.readonly);
            Ok(())
        })
    }

    /// Grants a new zeroed backend page to the guest (read-only if `readonly`).
    #[must_use]
    pub fn grant_page(&self, readonly: bool) -> BackendPage {
        self.sim.with(|s| {
            let page = s.mem.pool().alloc(1);
            let reference = (0..=u32::MAX)
                .find(|r| !s.backend_grants.contains_key(r))
                .unwrap_or(0);
            let domid = s.cfg.domid;
            s.backend_grants.insert(
                reference,
                BackendGrant {
                    domid,
                    page,
                    readonly,
                    pins: 0,
                },
            );
            BackendPage { reference, page }
        })
    }

    /// Ends the guest's access to a backend grant.
    ///
    /// # Errors
    ///
    /// `GNTST_general_error` while the guest still maps it (the page stays granted),
    /// `GNTST_bad_gntref` for an unknown reference.
    pub fn end_grant(&self, page: &BackendPage) -> Result<(), i16> {
        self.sim.with(|s| {
            let grant = s
                .backend_grants
                .get(&page.reference)
                .ok_or(GNTST_BAD_GNTREF)?;
            if grant.pins > 0 {
                return Err(GNTST_GENERAL_ERROR);
            }
            s.backend_grants.remove(&page.reference);
            Ok(())
        })
    }
}
