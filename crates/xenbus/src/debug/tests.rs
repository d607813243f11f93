// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write as _;
use std::sync::Mutex;

use platform_port::std_impl::StdPlatform;
use platform_port::{IrqlLevel, LogLevel};

use super::*;

fn info_lines(p: &StdPlatform) -> Vec<String> {
    p.log_lines()
        .into_iter()
        .filter(|(level, _)| *level == LogLevel::Info)
        .map(|(_, line)| line)
        .collect()
}

fn printing(debug: &Arc<Debug<StdPlatform>>, text: &'static str) -> DebugFunction {
    let d = Arc::clone(debug);
    Arc::new(move |crashing| d.printf(format_args!("{text} crashing={crashing}")))
}

#[test]
fn printf_inside_a_callback_is_prefixed_and_logged_at_info() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    debug.acquire().unwrap();
    let cb = debug
        .register(
            b"xenbus|SUSPEND",
            printing(&debug, "Count = 3"),
            Origin::default(),
        )
        .unwrap();
    debug.trigger(None);
    assert_eq!(
        info_lines(&p),
        [
            "XEN|DEBUG: ====> (xenbus|SUSPEND)",
            "xenbus|SUSPEND: Count = 3 crashing=false",
            "XEN|DEBUG: <==== (xenbus|SUSPEND)",
        ]
    );
    debug.deregister(&cb).unwrap();
    debug.release();
}

#[test]
fn callbacks_run_in_registration_order_at_high_level() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..3 {
        let (seen, q) = (Arc::clone(&seen), p.clone());
        let f: DebugFunction = Arc::new(move |_| {
            seen.lock()
                .unwrap()
                .push((i, platform_port::Irql::current_irql(&q)));
        });
        handles.push(debug.register(b"x", f, Origin::default()).unwrap());
    }
    debug.trigger(None);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (0, IrqlLevel::HIGH),
            (1, IrqlLevel::HIGH),
            (2, IrqlLevel::HIGH)
        ]
    );
    seen.lock().unwrap().clear();
    debug.trigger(Some(&handles[1]));
    assert_eq!(*seen.lock().unwrap(), [(1, IrqlLevel::HIGH)]);
    for h in &handles {
        debug.deregister(h).unwrap();
    }
    assert_eq!(
        debug.deregister(&handles[0]),
        Err(DebugError::InvalidParameter)
    );
}

#[test]
fn triggering_a_deregistered_callback_runs_nothing() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let cb = debug
        .register(b"gone", printing(&debug, "never"), Origin::default())
        .unwrap();
    debug.deregister(&cb).unwrap();
    debug.trigger(Some(&cb));
    assert!(info_lines(&p).iter().all(|l| !l.contains("never")));
}

#[test]
fn prefix_is_cut_at_31_characters_and_at_a_nul() {
    let p = StdPlatform::new(1);
    let debug = Debug::new(p, None);
    let long = [b'a'; 40];
    let cb = debug
        .register(&long, Arc::new(|_| {}), Origin::default())
        .unwrap();
    assert_eq!(cb.prefix(), &[b'a'; 31]);
    let cb2 = debug
        .register(b"abc\0def", Arc::new(|_| {}), Origin::default())
        .unwrap();
    assert_eq!(cb2.prefix(), b"abc");
    debug.deregister(&cb).unwrap();
    debug.deregister(&cb2).unwrap();
}

#[test]
fn crash_dump_passes_crashing_and_skips_a_held_lock() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let cb = debug
        .register(b"c", printing(&debug, "dump"), Origin::default())
        .unwrap();
    debug.crash_dump();
    assert!(info_lines(&p).contains(&"c: dump crashing=true".to_string()));
    // A callback that crashes the system while the list lock is held: the crash path must not
    // spin forever on the lock.
    let d = Arc::clone(&debug);
    let nested = debug
        .register(b"n", Arc::new(move |_| d.crash_dump()), Origin::default())
        .unwrap();
    debug.trigger(Some(&nested));
    assert!(
        info_lines(&p)
            .iter()
            .any(|l| l == "XEN|DEBUG: CALLBACK LIST BUSY: CALLBACKS SKIPPED")
    );
    debug.deregister(&cb).unwrap();
    debug.deregister(&nested).unwrap();
}

struct Modules;

impl ModuleLookup for Modules {
    fn lookup(&self, address: usize, found: &mut dyn FnMut(&str, usize)) -> bool {
        match address {
            0x1000..0x2000 => {
                found("xenvif", address - 0x1000);
                true
            }
            0x5000..0x6000 => {
                found("xenbus", address - 0x5000);
                true
            }
            _ => false,
        }
    }
}

#[test]
fn a_callback_whose_module_is_unloaded_is_skipped_and_its_registrar_named() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), Some(Arc::new(Modules))));
    let live = debug
        .register(
            b"live",
            printing(&debug, "here"),
            Origin {
                function: 0x1010,
                argument: 0,
                caller: 0x1020,
            },
        )
        .unwrap();
    let dead = debug
        .register(
            b"dead",
            printing(&debug, "unloaded"),
            Origin {
                function: 0x9000,
                argument: 0,
                caller: 0x5040,
            },
        )
        .unwrap();
    debug.trigger(None);
    let lines = info_lines(&p);
    assert_eq!(
        lines,
        [
            "XEN|DEBUG: ====> (xenvif + 0x10)",
            "live: here crashing=false",
            "XEN|DEBUG: <==== (xenvif + 0x10)",
            "XEN|DEBUG: SKIPPING 0x9000 PREFIX 'dead' REGISTERED BY xenbus + 0x40",
        ]
    );
    debug.deregister(&live).unwrap();
    debug.deregister(&dead).unwrap();
}

#[test]
fn printf_c_formats_with_msvc_semantics() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let d = Arc::clone(&debug);
    let cb = debug
        .register(
            b"xenbus|CONSOLE",
            Arc::new(move |_| {
                let args = [kprintf::Arg::Int(0x1234), kprintf::Arg::Int(7)];
                let mut src = kprintf::SliceArgs::new(&args);
                d.printf_c(b"Address = %p Events = %lu\n", &mut src);
            }),
            Origin::default(),
        )
        .unwrap();
    debug.trigger(None);
    assert!(
        info_lines(&p)
            .contains(&"xenbus|CONSOLE: Address = 0000000000001234 Events = 7".to_string())
    );
    debug.deregister(&cb).unwrap();
}

#[test]
fn writer_prints_one_line_per_newline() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let d = Arc::clone(&debug);
    let cb = debug
        .register(
            b"w",
            Arc::new(move |_| {
                let mut out = d.writer();
                write!(out, "a = {}\nb = {}\npartial", 1, 2).unwrap();
            }),
            Origin::default(),
        )
        .unwrap();
    debug.trigger(None);
    let lines = info_lines(&p);
    assert_eq!(lines[1..4], ["w: a = 1", "w: b = 2", "w: partial"]);
    debug.deregister(&cb).unwrap();
}

#[test]
fn release_with_callbacks_outstanding_logs_an_error_and_keeps_them() {
    let p = StdPlatform::new(1);
    let debug = Debug::new(p.clone(), None);
    debug.acquire().unwrap();
    let cb = debug
        .register(b"x", Arc::new(|_| {}), Origin::default())
        .unwrap();
    debug.release();
    assert!(
        p.log_lines()
            .iter()
            .any(|(l, t)| *l == LogLevel::Error && t.contains("OUTSTANDING CALLBACKS"))
    );
    assert_eq!(debug.callback_count(), 1);
    debug.deregister(&cb).unwrap();
}

#[test]
fn printf_text_prefixes_preformatted_bytes_and_drops_one_newline() {
    let p = StdPlatform::new(1);
    let debug = Arc::new(Debug::new(p.clone(), None));
    let d = Arc::clone(&debug);
    let cb = debug
        .register(
            b"t",
            Arc::new(move |_| d.printf_text(b"bytes \xff ok\n")),
            Origin::default(),
        )
        .unwrap();
    debug.trigger(None);
    assert!(info_lines(&p).contains(&"t: bytes \\xff ok".to_string()));
    debug.deregister(&cb).unwrap();
}

#[test]
fn concurrent_triggers_and_registrations_run_every_callback_whole() {
    let p = StdPlatform::new(4);
    let debug = Arc::new(Debug::new(p, None));
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let steady = debug
        .register(
            b"steady",
            Arc::new(move |_| {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
            Origin::default(),
        )
        .unwrap();
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let debug = Arc::clone(&debug);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if i == 0 {
                        let h = debug
                            .register(b"churn", Arc::new(|_| {}), Origin::default())
                            .unwrap();
                        debug.deregister(&h).unwrap();
                    } else {
                        debug.trigger(None);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 400);
    assert_eq!(debug.callback_count(), 1);
    debug.deregister(&steady).unwrap();
}
