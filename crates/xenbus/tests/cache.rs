// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! CACHE scenarios: clients with a real lock behind their callbacks, several processors, the
//! monitor thread trimming and refilling while objects come and go, a cap under contention,
//! and a cache of grant-entry-like objects whose constructor can run out. Every scenario ends
//! with Destroy and checks that each constructed object was destructed and every page freed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::missing_panics_doc,
    missing_docs
)]

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ntstatus::STATUS_INSUFFICIENT_RESOURCES;
use platform_port::std_impl::{HostPages, PageSource, StdPlatform};
use platform_port::{Pages, PortError};
use xenbus::cache::{Cache, CacheCallbacks, CacheContext, MAGAZINE_SLOTS};

#[derive(Default)]
struct Counted {
    host: HostPages,
    live: AtomicUsize,
}

impl PageSource for Counted {
    fn alloc(&self, count: usize) -> Result<Pages, PortError> {
        let pages = self.host.alloc(count)?;
        self.live.fetch_add(count, Ordering::SeqCst);
        Ok(pages)
    }

    unsafe fn free(&self, pages: Pages) {
        self.live.fetch_sub(pages.count, Ordering::SeqCst);
        // SAFETY: forwarded caller guarantee.
        unsafe { self.host.free(pages) };
    }

    fn map(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        self.host.map(pfn, count)
    }
}

/// A client: a spin lock behind the lock callbacks, and an object pool its constructor takes
/// "resources" from (like grant references), with counters.
struct Client {
    locked: AtomicBool,
    holder_checks: AtomicUsize,
    resources: AtomicUsize,
    ctors: AtomicUsize,
    dtors: AtomicUsize,
}

impl Client {
    fn new(resources: usize) -> Arc<Self> {
        Arc::new(Self {
            locked: AtomicBool::new(false),
            holder_checks: AtomicUsize::new(0),
            resources: AtomicUsize::new(resources),
            ctors: AtomicUsize::new(0),
            dtors: AtomicUsize::new(0),
        })
    }

    fn lock(&self) {
        while self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    fn callbacks(self: &Arc<Self>) -> CacheCallbacks {
        let (c, d, l, u) = (
            Arc::clone(self),
            Arc::clone(self),
            Arc::clone(self),
            Arc::clone(self),
        );
        CacheCallbacks {
            ctor: Arc::new(move |object: NonNull<u8>| {
                // The constructor runs under the client's lock.
                assert!(c.locked.load(Ordering::SeqCst));
                c.holder_checks.fetch_add(1, Ordering::Relaxed);
                let taken = c
                    .resources
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                if taken.is_err() {
                    return Err(STATUS_INSUFFICIENT_RESOURCES);
                }
                // SAFETY: a fresh object of at least 8 bytes, 8-aligned, ours to write.
                unsafe { object.cast::<u64>().write(0x5EED) };
                c.ctors.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
            dtor: Arc::new(move |object: NonNull<u8>| {
                // SAFETY: a constructed object, no longer handed out.
                assert_eq!(unsafe { object.cast::<u64>().read() }, 0x5EED);
                d.resources.fetch_add(1, Ordering::SeqCst);
                d.dtors.fetch_add(1, Ordering::SeqCst);
            }),
            acquire_lock: Arc::new(move || l.lock()),
            release_lock: Arc::new(move || u.unlock()),
        }
    }
}

struct World {
    pages: Arc<Counted>,
    platform: StdPlatform,
    context: CacheContext<StdPlatform>,
}

fn world(cpus: u32, monitor: Option<Duration>) -> World {
    let pages = Arc::new(Counted::default());
    let platform = StdPlatform::with_pages(cpus, Arc::clone(&pages) as Arc<dyn PageSource>);
    let context = CacheContext::with_monitor_period(&platform, monitor).unwrap();
    context.acquire().unwrap();
    World {
        pages,
        platform,
        context,
    }
}

fn put(cache: &Cache<StdPlatform>, object: NonNull<u8>, locked: bool) {
    // SAFETY: every object passed here came from this cache and is returned once.
    unsafe { cache.put(object, locked) };
}

fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

#[test]
fn busy_processors_with_the_monitor_running_lose_nothing() {
    let world = world(2, Some(Duration::from_millis(5)));
    let client = Client::new(usize::MAX / 2);
    let cache = world
        .context
        .create("busy", 40, 100, 0, client.callbacks())
        .unwrap();
    std::thread::scope(|s| {
        for cpu in 0..2 {
            let (cache, platform, client) = (&cache, &world.platform, &client);
            s.spawn(move || {
                platform.as_processor(cpu, || {
                    for round in 0..400 {
                        let n = 1 + (round * 7 + cpu as usize * 13) % 300;
                        // Half the rounds hold the client's lock themselves (`locked`).
                        let locked = round % 2 == 0;
                        if locked {
                            client.lock();
                        }
                        let held: Vec<_> = (0..n).map(|_| cache.get(locked).unwrap()).collect();
                        for &o in &held {
                            // SAFETY: objects of at least 8 bytes from this cache.
                            assert_eq!(unsafe { o.cast::<u64>().read() }, 0x5EED);
                        }
                        for o in held {
                            put(cache, o, locked);
                        }
                        if locked {
                            client.unlock();
                        }
                    }
                });
            });
        }
    });
    assert_eq!(cache.stats().objects, 0);
    // With everything returned the monitor trims every empty slab beyond the reservation's;
    // only slabs pinned by objects parked in the two magazines (one slab each at most) stay.
    let per_slab = cache.layout().per_slab;
    let reserved_slabs = i32::try_from(100_u32.div_ceil(per_slab)).unwrap();
    let parked = i32::try_from(cache.magazine_len(0) + cache.magazine_len(1)).unwrap();
    assert!(wait_for(|| cache.stats().slabs <= reserved_slabs + parked));
    assert!(cache.stats().count >= 100, "never below the reservation");
    world.context.destroy(&cache).unwrap();
    assert_eq!(
        client.ctors.load(Ordering::SeqCst),
        client.dtors.load(Ordering::SeqCst)
    );
    assert_eq!(world.pages.live.load(Ordering::SeqCst), 0);
    world.context.release();
    world.context.teardown();
}

#[test]
fn a_monitor_pass_never_trims_below_the_reservation() {
    let world = world(1, None);
    let client = Client::new(usize::MAX / 2);
    let cache = world
        .context
        .create("refill", 16, 500, 0, client.callbacks())
        .unwrap();
    let per_slab = cache.layout().per_slab;
    assert_eq!(cache.stats().count, 500_u32.div_ceil(per_slab) * per_slab);
    // A pass with everything at rest and the capacity at the reservation changes nothing.
    world.context.monitor_pass();
    assert_eq!(cache.stats().count, 500_u32.div_ceil(per_slab) * per_slab);
    world.context.destroy(&cache).unwrap();
    assert_eq!(world.pages.live.load(Ordering::SeqCst), 0);
}

#[test]
fn a_cap_holds_under_two_processors() {
    let world = world(2, None);
    let client = Client::new(usize::MAX / 2);
    let cache = world
        .context
        .create("capped", 64, 0, 200, client.callbacks())
        .unwrap();
    let per_slab = cache.layout().per_slab;
    let granted = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for cpu in 0..2 {
            let (cache, platform, granted) = (&cache, &world.platform, &granted);
            s.spawn(move || {
                platform.as_processor(cpu, || {
                    let held: Vec<_> = std::iter::from_fn(|| cache.get(false)).collect();
                    granted.fetch_add(held.len(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    for o in held {
                        put(cache, o, false);
                    }
                });
            });
        }
    });
    let capacity = (200 / per_slab * per_slab) as usize;
    assert!(granted.load(Ordering::SeqCst) <= capacity);
    assert!(cache.stats().count <= 200);
    world.context.destroy(&cache).unwrap();
    assert_eq!(world.pages.live.load(Ordering::SeqCst), 0);
}

#[test]
fn a_constructor_running_out_of_resources_fails_gets_until_objects_come_back() {
    let world = world(1, None);
    let client = Client::new(10);
    let cache = world
        .context
        .create("scarce", 16, 0, 0, client.callbacks())
        .unwrap();
    let held: Vec<_> = (0..10).map(|_| cache.get(false).unwrap()).collect();
    assert!(
        cache.get(false).is_none(),
        "the eleventh object cannot be constructed"
    );
    assert_eq!(client.resources.load(Ordering::SeqCst), 0);
    let first = held[0];
    for o in held {
        put(&cache, o, false);
    }
    // Returned objects keep their resource and are handed out again.
    let again: Vec<_> = (0..10).map(|_| cache.get(false).unwrap()).collect();
    assert!(again.contains(&first));
    assert_eq!(client.ctors.load(Ordering::SeqCst), 10);
    for o in again {
        put(&cache, o, false);
    }
    world.context.destroy(&cache).unwrap();
    assert_eq!(
        client.resources.load(Ordering::SeqCst),
        10,
        "every resource returned"
    );
    assert_eq!(world.pages.live.load(Ordering::SeqCst), 0);
}

#[test]
fn magazines_absorb_a_steady_get_put_pair_without_the_client_lock() {
    let world = world(1, None);
    let client = Client::new(usize::MAX / 2);
    let cache = world
        .context
        .create("steady", 16, 0, 0, client.callbacks())
        .unwrap();
    let warm = cache.get(false).unwrap();
    put(&cache, warm, false);
    // The client's lock is now held by "someone else": magazine traffic must not need it.
    client.lock();
    for _ in 0..1000 {
        let o = cache.get(false).unwrap();
        put(&cache, o, false);
    }
    client.unlock();
    assert_eq!(cache.magazine_len(0), 1);
    assert!(cache.magazine_len(0) <= MAGAZINE_SLOTS);
    world.context.destroy(&cache).unwrap();
    assert_eq!(world.pages.live.load(Ordering::SeqCst), 0);
}
