/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * A C stand-in for a XENBUS child driver on the host: the checks xenchild.sys runs
 * (crates/child-driver/checks.c: every version of every interface queried, each interface
 * acquired and its methods called end to end), run against the host build of the provider
 * (libxenbus_host.so) through the seam of checks.h. This file is that seam's host side:
 * queries through xenbus_host_query_interface, and the host's powers (dom0 as a peer, the
 * simulator, the provider's reference counts, log and registry) for the checks marked
 * HOST_ONLY there.
 *
 * Interfaces whose subsystem the host has not wired answer the query (checked) but their
 * methods are reported as skipped, never counted as passed.
 *
 * Last line: "interfaces: N passed, M failed" (and a "skipped:" line before it).
 */

#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* One translation unit: the test's builder compiles a single source. */
#include "checks.c"
#include "xenbus_host.h"

/* On the host a PKEVENT is a pointer to a LONG the provider increments on each signal
   (xenbus_host.h); `seen` is its value at the last reset. */
struct host_event {
    int32_t counter;
    int32_t seen;
};

static struct host_event events[XC_EVENTS];

static NTSTATUS host_query_interface(void *context, const GUID *guid, USHORT version,
                                     USHORT size, PVOID buffer)
{
    (void)context;
    return xenbus_host_query_interface(guid, version, size, buffer);
}

static void host_print(void *context, const char *format, ...)
{
    va_list arguments;

    (void)context;
    va_start(arguments, format);
    vprintf(format, arguments);
    va_end(arguments);
    putchar('\n');
}

static void host_sleep_ms(void *context, ULONG milliseconds)
{
    (void)context;
    xenbus_host_sleep_ms(milliseconds);
}

static void host_flush_dpcs(void *context)
{
    (void)context;
    xenbus_host_flush_dpcs();
}

static PKEVENT host_event(void *context, unsigned index)
{
    (void)context;
    return index < XC_EVENTS ? (PKEVENT)&events[index].counter : NULL;
}

static void host_event_reset(void *context, PKEVENT event)
{
    struct host_event *e = (struct host_event *)(void *)event;

    (void)context;
    e->seen = __atomic_load_n(&e->counter, __ATOMIC_SEQ_CST);
}

static int host_event_is_set(void *context, PKEVENT event)
{
    struct host_event *e = (struct host_event *)(void *)event;

    (void)context;
    return __atomic_load_n(&e->counter, __ATOMIC_SEQ_CST) != e->seen;
}

static const struct xc_host HOST_POWERS = {
    .query_interface_ex = xenbus_host_query_interface_ex,
    .is_wired = xenbus_host_is_wired,
    .references = xenbus_host_references,
    .subsystem_references = xenbus_host_subsystem_references,
    .lifecycle_count = xenbus_host_lifecycle_count,
    .outstanding = xenbus_host_outstanding,
    .log_contains = xenbus_host_log_contains,
    .registry_dword = xenbus_host_registry_dword,
    .dom0_write = xenbus_host_dom0_write,
    .dom0_bind = xenbus_host_dom0_bind,
    .dom0_allocate_unbound = xenbus_host_dom0_allocate_unbound,
    .dom0_send = xenbus_host_dom0_send,
    .dom0_events = xenbus_host_dom0_events,
    .toolstack_port = xenbus_host_toolstack_port,
    .dom0_grant_page = xenbus_host_dom0_grant_page,
    .console_output_contains = xenbus_host_console_output_contains,
    .console_input = xenbus_host_console_input,
    .sim_suspends = xenbus_host_sim_suspends,
};

/* The simulator's guest. */
#define HOST_DOMID 1

/*
 * No arguments: every check, with the host's powers. "--as-driver": as xenchild.sys runs them,
 * without (host NULL: the HOST_ONLY checks skipped, the domain ID read from the store, every
 * check printed); it needs STORE, and without xenstored says so and runs nothing.
 */
int main(int argc, char **argv)
{
    static struct xc_result run;
    int as_driver = argc == 2 && strcmp(argv[1], "--as-driver") == 0;
    struct xc_env host_env = {
        .context = NULL,
        .query_interface = host_query_interface,
        .print = host_print,
        .sleep_ms = host_sleep_ms,
        .flush_dpcs = host_flush_dpcs,
        .event = host_event,
        .event_reset = host_event_reset,
        .event_is_set = host_event_is_set,
        /* The host composition runs one vCPU. */
        .processors = 1,
        .domid = HOST_DOMID,
        .verbose = 0,
        .host = &HOST_POWERS,
    };

    if (argc > 1 && !as_driver) {
        fprintf(stderr, "usage: %s [--as-driver]\n", argv[0]);
        return 2;
    }
    if (as_driver) {
        host_env.host = NULL;
        host_env.domid = -1;
        host_env.verbose = 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    if (xenbus_host_create() != 0) {
        printf("interfaces: 0 passed, 1 failed (host not created)\n");
        return 1;
    }
    /* What the toolstack writes for every guest (the checks read it back). Without xenstored
       STORE is skipped and nothing reads it. */
    if (xenbus_host_is_wired(&GUID_XENBUS_STORE_INTERFACE) == 1 &&
        xenbus_host_dom0_write("/local/domain/1/domid", "1") != 0) {
        printf("interfaces: 0 passed, 1 failed (dom0 could not write domid)\n");
        xenbus_host_destroy();
        return 1;
    }
    if (as_driver && xenbus_host_is_wired(&GUID_XENBUS_STORE_INTERFACE) != 1) {
        printf("skipped: STORE (no xenstored)\ninterfaces: 0 passed, 0 failed\n");
        xenbus_host_destroy();
        return 0;
    }
    xc_run(&host_env, &run);
    xenbus_host_destroy();
    return run.failed == 0 ? 0 : 1;
}
