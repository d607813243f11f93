/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * The XENBUS child-driver checks (checks.c), shared by two runners:
 *
 * - the host test (crates/xenbus-host/tests/c/child_driver.c): the provider built for Linux on
 *   the Xen simulator and a real xenstored, queried through xenbus_host_query_interface;
 * - xenchild.sys (xenchild.c): a WDM function driver on a xenbus.sys PDO, querying through
 *   IRP_MN_QUERY_INTERFACE IRPs sent down its device stack.
 *
 * The checks reach their environment only through struct xc_env. The host harness also hands
 * in struct xc_host, its powers no driver has (dom0 as a peer, the simulator, the provider's
 * reference counts, its log and registry); xenchild.sys passes NULL and every check that needs
 * one of them is skipped there (checks.c marks each such check HOST_ONLY).
 *
 * Kernel builds define _KERNEL_MODE (the WDK's convention) and get the types from <wdm.h>;
 * host builds get layout-identical stand-ins from xenbus_types.h.
 */

#ifndef _XENBUS_CHILD_CHECKS_H
#define _XENBUS_CHILD_CHECKS_H

#ifdef _KERNEL_MODE
#include <wdm.h>
#endif

#include "xenbus_types.h"

/* Events the checks hand to STORE (watch) and CONSOLE (wakeup). */
#define XC_EVENTS 2

/* What every runner provides. */
struct xc_env {
    void *context;
    /* IRP_MN_QUERY_INTERFACE for a fresh IRP (status STATUS_NOT_SUPPORTED): the status the
       IRP completed with. */
    NTSTATUS (*query_interface)(void *context, const GUID *guid, USHORT version, USHORT size,
                                PVOID buffer);
    /* One line of output (no trailing newline in `format`); the runner adds its prefix and the
       newline. Formats use only %s %u %d %x %08x. */
    void (*print)(void *context, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
    /* Waits about `milliseconds` (lets other threads, DPCs and the store's peer run). */
    void (*sleep_ms)(void *context, ULONG milliseconds);
    /* Returns once every DPC queued so far has run (KeFlushQueuedDpcs). */
    void (*flush_dpcs)(void *context);
    /* Event `index` (< XC_EVENTS), as a PKEVENT the provider may signal; reset clears it,
       is_set says whether it was signalled since the last reset. */
    PKEVENT (*event)(void *context, unsigned index);
    void (*event_reset)(void *context, PKEVENT event);
    int (*event_is_set)(void *context, PKEVENT event);
    /* Active processors (EVTCHN binds and SHARED_INFO upcalls beyond them are refused). */
    ULONG processors;
    /* Our domain ID when the runner knows it, else -1 (the checks read "domid" from the
       store, which the toolstack writes). */
    int domid;
    /* Print a line for every passed check, not only for failures. */
    int verbose;
    /* Host-only powers; NULL in xenchild.sys. */
    const struct xc_host *host;
    /* For the round with a real backend in dom0 (the PEER section; NULL: no such round): a
       zeroed page of non-paged memory and its frame number, freed by free_page; a mapping of
       the page at a physical address (where GNTTAB mapped a foreign page), undone by
       unmap_physical. */
    void *(*alloc_page)(void *context, PFN_NUMBER *pfn);
    void (*free_page)(void *context, void *page);
    void *(*map_physical)(void *context, PHYSICAL_ADDRESS address);
    void (*unmap_physical)(void *context, void *address);
    /* For the DMA section, run with the DMA adapter the PDO's BUS_INTERFACE_STANDARD gives
       (NULL: the section is skipped): the driver's own DEVICE_OBJECT; setting its CurrentIrp
       (the previous value returned); raising the IRQL to DISPATCH_LEVEL (the old IRQL
       returned), lowering it back, reading it; MmGetPhysicalAddress; `bytes` of physically
       contiguous non-paged memory, freed by free_contiguous; an MDL describing `length` bytes
       of non-paged memory at `va` (IoAllocateMdl, MmBuildMdlForNonPagedPool), freed by
       free_mdl (IoFreeMdl). */
    void *device;
    void *(*set_current_irp)(void *context, void *irp);
    unsigned char (*raise_to_dispatch)(void *context);
    void (*lower_irql)(void *context, unsigned char irql);
    unsigned char (*irql)(void *context);
    PHYSICAL_ADDRESS (*physical_address)(void *context, void *va);
    void *(*alloc_contiguous)(void *context, ULONG bytes);
    void (*free_contiguous)(void *context, void *va);
    void *(*build_mdl)(void *context, void *va, ULONG length);
    void (*free_mdl)(void *context, void *mdl);
};

/* Outcomes of xc_host.query_interface_ex. */
#define XC_QUERY_COMPLETED 0
#define XC_QUERY_BUS_INTERFACE 1
#define XC_QUERY_DELEGATED 2

/* Powers only the host harness has (crates/xenbus-host/include/xenbus_host.h). */
struct xc_host {
    /* A query with the IRP's incoming status `current`; *outcome says how the PDO answered. */
    NTSTATUS (*query_interface_ex)(const GUID *guid, USHORT version, USHORT size, PVOID buffer,
                                   NTSTATUS current, int *outcome);
    /* 1 if a subsystem serves the interface's methods, 0 if only the query is answered. */
    int (*is_wired)(const GUID *guid);
    /* Children's references on the interface's context; the subsystem's own count; RANGE_SET
       set-ups (0) or teardowns (1); objects children still hold. */
    int (*references)(const GUID *guid);
    int (*subsystem_references)(const GUID *guid);
    int (*lifecycle_count)(const GUID *guid, int teardown);
    int (*outstanding)(const GUID *guid);
    /* The provider's log and registry. */
    int (*log_contains)(const char *needle);
    long long (*registry_dword)(const char *key, const char *name);
    /* dom0 as the backend peer and toolstack. */
    NTSTATUS (*dom0_write)(const char *path, const char *value);
    long long (*dom0_bind)(ULONG guest_port);
    long long (*dom0_allocate_unbound)(void);
    int (*dom0_send)(ULONG port);
    int (*dom0_events)(ULONG port);
    ULONG (*toolstack_port)(void);
    long long (*dom0_grant_page)(void);
    int (*console_output_contains)(const char *needle);
    int (*console_input)(const char *text);
    /* Suspends the simulator completed (SUSPEND Trigger really suspends a domain: only on
       the simulator). */
    unsigned long long (*sim_suspends)(void);
};

struct xc_result {
    unsigned passed;
    unsigned failed;
    /* Comma-separated interfaces whose methods were not run (never counted as passed). */
    char skipped[256];
};

/* Runs every check; the last lines printed are "skipped: ..." and
   "interfaces: N passed, M failed". */
void xc_run(const struct xc_env *env, struct xc_result *result);

#endif /* _XENBUS_CHILD_CHECKS_H */
