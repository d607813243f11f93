/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * Host seam of the XENBUS interface provider (tests only; not part of xenbus.sys). A C
 * program stands in for a child driver: it queries interfaces as a PDO answers
 * IRP_MN_QUERY_INTERFACE and calls the methods of the tables it gets back.
 *
 * On the host a PKEVENT is a pointer to an aligned LONG that each signal increments.
 */

#ifndef _XENBUS_HOST_H
#define _XENBUS_HOST_H

#include "xenbus_types.h"

/* Outcomes of xenbus_host_query_interface_ex. */
#define XENBUS_HOST_QUERY_COMPLETED 0
#define XENBUS_HOST_QUERY_BUS_INTERFACE 1
#define XENBUS_HOST_QUERY_DELEGATED 2

int xenbus_host_create(void);
void xenbus_host_destroy(void);
NTSTATUS xenbus_host_query_interface(const GUID *Guid, USHORT Version, USHORT Size, PVOID Buffer);
NTSTATUS xenbus_host_query_interface_ex(const GUID *Guid, USHORT Version, USHORT Size,
                                        PVOID Buffer, NTSTATUS Current, int *Outcome);
int xenbus_host_is_wired(const GUID *Guid);
int xenbus_host_references(const GUID *Guid);
int xenbus_host_subsystem_references(const GUID *Guid);
int xenbus_host_lifecycle_count(const GUID *Guid, int Teardown);
int xenbus_host_outstanding(const GUID *Guid);
int xenbus_host_log_contains(const char *Needle);
long long xenbus_host_registry_dword(const char *Key, const char *Name);
NTSTATUS xenbus_host_dom0_write(const char *Path, const char *Value);
unsigned long long xenbus_host_sim_suspends(void);

/* dom0 (the simulator's backend peer) and the platform's deferred work. */
long long xenbus_host_dom0_bind(ULONG GuestPort);
long long xenbus_host_dom0_allocate_unbound(void);
int xenbus_host_dom0_send(ULONG Port);
int xenbus_host_dom0_events(ULONG Port);
ULONG xenbus_host_console_port(void);
ULONG xenbus_host_toolstack_port(void);
long long xenbus_host_dom0_grant_page(void);
void xenbus_host_flush_dpcs(void);
void xenbus_host_sleep_ms(ULONG Milliseconds);
int xenbus_host_console_output_contains(const char *Needle);
int xenbus_host_console_input(const char *Text);

#endif /* _XENBUS_HOST_H */
