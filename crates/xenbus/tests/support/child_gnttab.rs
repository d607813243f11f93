// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

// A child driver's view of GNTTAB: the XENBUS_GNTTAB v4 table a PDO hands out, served by the
// real subsystem on the host simulator, with a cache created through the table (included with
// `include!` after `sim_platform.rs`, as module `child`).

// Entry handles are opaque values the provider looks up, never pointers this code follows.
#[allow(
    dead_code,
    clippy::must_use_candidate,
    clippy::missing_const_for_fn,
    clippy::not_unsafe_ptr_arg_deref
)]
pub mod child {
    use super::{Arc, Direct, SimConfig, SimVcpu, SimWorld, StdPlatform, sim_world};

    use std::ffi::c_void;

    use xenbus::cache::CacheContext as SubsystemCaches;
    use xenbus::gnttab::Gnttab;
    use xenbus::interface::{Provider, QueryOutcome, gnttab as gnttab_interface};
    use xenbus_interface::gnttab::{
        GUID_XENBUS_GNTTAB_INTERFACE, PxenbusGnttabCache, PxenbusGnttabEntry, XenbusGnttabInterfaceV4,
    };

    /// The child's lock callbacks: a child passing `Locked = FALSE` has nothing to lock here.
    unsafe extern "C" fn child_lock(_argument: *mut c_void) {}

    /// A world, the provider serving GNTTAB from it, the table a child got and its cache.
    pub struct ChildGnttab {
        pub world: SimWorld,
        pub provider: Box<Provider>,
        pub table: XenbusGnttabInterfaceV4,
        pub cache: PxenbusGnttabCache,
        pub pfn: u64,
        _caches: Arc<SubsystemCaches<StdPlatform>>,
    }

    // SAFETY: the table's methods may be called from any processor, and the cache handle is an
    // opaque value the provider looks up; nothing here is tied to the creating thread.
    unsafe impl Sync for ChildGnttab {}

    impl ChildGnttab {
        /// Acquires the interface and creates a cache of `reservation` entries through it.
        pub fn new(vcpus: u32, reservation: u32) -> Self {
            use platform_port::Memory as _;

            let world = sim_world(SimConfig {
                vcpus,
                ..SimConfig::default()
            });
            let caches =
                Arc::new(SubsystemCaches::with_monitor_period(&world.platform, None).unwrap());
            let gnttab = Arc::new(
                Gnttab::new(
                    world.platform.clone(),
                    Arc::clone(&world.xen),
                    Arc::clone(&caches),
                )
                .unwrap(),
            );
            let irql: xenbus::interface::SharedIrql = Arc::new(world.platform.clone());
            let provider = Box::new(child_provider(&irql, gnttab));
            let mut table = std::mem::MaybeUninit::<XenbusGnttabInterfaceV4>::zeroed();
            // SAFETY: the buffer is writable for its size.
            let outcome = unsafe {
                provider.query_interface(
                    &GUID_XENBUS_GNTTAB_INTERFACE,
                    4,
                    u16::try_from(size_of::<XenbusGnttabInterfaceV4>()).unwrap(),
                    table.as_mut_ptr().cast(),
                    ntstatus::STATUS_NOT_SUPPORTED,
                )
            };
            assert_eq!(outcome, QueryOutcome::Complete(ntstatus::STATUS_SUCCESS));
            // SAFETY: the provider filled the table.
            let table = unsafe { table.assume_init() };
            let interface = table_interface(&table);
            // SAFETY: the table the provider filled, whose context it owns.
            assert_eq!(unsafe { (table.gnttab_acquire)(interface) }, 0);
            let mut cache: PxenbusGnttabCache = std::ptr::null_mut();
            // SAFETY: as above; a NUL-terminated name and a writable out-parameter.
            let status = unsafe {
                (table.gnttab_create_cache)(
                    interface,
                    c"child".as_ptr(),
                    reservation,
                    0,
                    child_lock,
                    child_lock,
                    std::ptr::null_mut(),
                    &raw mut cache,
                )
            };
            assert_eq!(status, 0);
            let pfn = world.platform.alloc_pages(1).unwrap().pfn;
            Self {
                world,
                provider,
                table,
                cache,
                pfn,
                _caches: caches,
            }
        }

        /// `GnttabPermitForeignAccess` (not locked, to dom0).
        pub fn permit(&self, read_only: bool) -> PxenbusGnttabEntry {
            let mut entry: PxenbusGnttabEntry = std::ptr::null_mut();
            // SAFETY: the provider's table and cache; a writable out-parameter.
            let status = unsafe {
                (self.table.gnttab_permit_foreign_access)(
                    table_interface(&self.table),
                    self.cache,
                    0,
                    0,
                    self.pfn,
                    u8::from(read_only),
                    &raw mut entry,
                )
            };
            assert_eq!(status, 0, "GnttabPermitForeignAccess");
            entry
        }

        /// `GnttabRevokeForeignAccess` (not locked).
        pub fn revoke(&self, entry: PxenbusGnttabEntry) {
            // SAFETY: the provider's table and cache; an entry Permit handed out.
            let status = unsafe {
                (self.table.gnttab_revoke_foreign_access)(
                    table_interface(&self.table),
                    self.cache,
                    0,
                    entry,
                )
            };
            assert_eq!(status, 0, "GnttabRevokeForeignAccess");
        }

        /// `GnttabGetReference`.
        pub fn reference(&self, entry: PxenbusGnttabEntry) -> u32 {
            // SAFETY: the provider's table.
            unsafe { (self.table.gnttab_get_reference)(table_interface(&self.table), entry) }
        }
    }

    impl Drop for ChildGnttab {
        fn drop(&mut self) {
            let interface = table_interface(&self.table);
            // SAFETY: the provider's table and the cache created through it.
            unsafe { (self.table.gnttab_destroy_cache)(interface, self.cache) };
            // SAFETY: as above; the Acquire of `new`.
            unsafe { (self.table.gnttab_release)(interface) };
        }
    }

    /// `Interface` for the table's methods: the table itself, as C children pass it.
    pub fn table_interface(table: &XenbusGnttabInterfaceV4) -> xenbus_interface::Pinterface {
        std::ptr::from_ref(table).cast_mut().cast()
    }

    /// A provider serving only GNTTAB (every other interface unwired).
    pub fn child_provider(
        irql: &xenbus::interface::SharedIrql,
        gnttab: Arc<Gnttab<StdPlatform, Direct<SimVcpu>>>,
    ) -> Provider {
        use xenbus::interface::{
            Hooks, cache, console, debug, evtchn, range_set, shared_info, store, suspend, unplug,
        };
        unsafe fn no_event(_: *mut c_void) {}
        Provider {
            suspend: Box::new(suspend::SuspendContext::new(irql, None)),
            shared_info: Box::new(shared_info::SharedInfoContext::new(irql, None)),
            evtchn: Box::new(evtchn::EvtchnContext::new(irql, None)),
            debug: Box::new(debug::DebugContext::new(irql, None)),
            store: Box::new(store::StoreContext::new(irql, None, no_event)),
            range_set: Box::new(range_set::RangeSetContext::new(irql, Hooks::none())),
            cache: Box::new(cache::CacheContext::new(irql, None)),
            gnttab: Box::new(gnttab_interface::GnttabContext::new(irql, Some(gnttab))),
            unplug: Box::new(unplug::UnplugContext::new(irql, None)),
            console: Box::new(console::ConsoleContext::new(irql, None)),
        }
    }
}
