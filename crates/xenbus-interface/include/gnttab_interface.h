/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_GNTTAB: granting pages to other domains and mapping theirs.
 * Every version MIN..MAX is served; XENBUS_GNTTAB_INTERFACE names the newest.
 */

#ifndef _XENBUS_GNTTAB_INTERFACE_H
#define _XENBUS_GNTTAB_INTERFACE_H

#include "xenbus_types.h"
#include "cache_interface.h"

#ifndef _WINDLL

#define XENBUS_GNTTAB_CONSOLE_REFERENCE 0
#define XENBUS_GNTTAB_STORE_REFERENCE   1

typedef struct _XENBUS_GNTTAB_ENTRY XENBUS_GNTTAB_ENTRY, *PXENBUS_GNTTAB_ENTRY;
typedef struct _XENBUS_GNTTAB_CACHE XENBUS_GNTTAB_CACHE, *PXENBUS_GNTTAB_CACHE;

typedef NTSTATUS
(*XENBUS_GNTTAB_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_GNTTAB_RELEASE)(
    PINTERFACE Interface
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_CREATE_CACHE_V1)(
    PINTERFACE Interface,
    PCSTR Name,
    ULONG Reservation,
    XENBUS_CACHE_ACQUIRE_LOCK AcquireLock,
    XENBUS_CACHE_RELEASE_LOCK ReleaseLock,
    PVOID Argument,
    PXENBUS_GNTTAB_CACHE *Cache
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_CREATE_CACHE)(
    PINTERFACE Interface,
    PCSTR Name,
    ULONG Reservation,
    ULONG Cap,
    XENBUS_CACHE_ACQUIRE_LOCK AcquireLock,
    XENBUS_CACHE_RELEASE_LOCK ReleaseLock,
    PVOID Argument,
    PXENBUS_GNTTAB_CACHE *Cache
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_PERMIT_FOREIGN_ACCESS)(
    PINTERFACE Interface,
    PXENBUS_GNTTAB_CACHE Cache,
    BOOLEAN Locked,
    USHORT Domain,
    PFN_NUMBER Pfn,
    BOOLEAN ReadOnly,
    PXENBUS_GNTTAB_ENTRY *Entry
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_REVOKE_FOREIGN_ACCESS)(
    PINTERFACE Interface,
    PXENBUS_GNTTAB_CACHE Cache,
    BOOLEAN Locked,
    PXENBUS_GNTTAB_ENTRY Entry
    );

typedef ULONG
(*XENBUS_GNTTAB_GET_REFERENCE)(
    PINTERFACE Interface,
    PXENBUS_GNTTAB_ENTRY Entry
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_QUERY_REFERENCE)(
    PINTERFACE Interface,
    ULONG Reference,
    PPFN_NUMBER Pfn,
    PBOOLEAN ReadOnly
    );

typedef VOID
(*XENBUS_GNTTAB_DESTROY_CACHE)(
    PINTERFACE Interface,
    PXENBUS_GNTTAB_CACHE Cache
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_MAP_FOREIGN_PAGES)(
    PINTERFACE Interface,
    USHORT Domain,
    ULONG NumberPages,
    PULONG References,
    BOOLEAN ReadOnly,
    PHYSICAL_ADDRESS *Address
    );

typedef NTSTATUS
(*XENBUS_GNTTAB_UNMAP_FOREIGN_PAGES)(
    PINTERFACE Interface,
    PHYSICAL_ADDRESS Address
    );

DEFINE_GUID(GUID_XENBUS_GNTTAB_INTERFACE,
            0x763679c5, 0xe5c2, 0x4a6d, 0x8b, 0x88, 0x6b, 0xb0, 0x2e, 0xc4, 0x2d, 0x8e);

struct _XENBUS_GNTTAB_INTERFACE_V2 {
    INTERFACE Interface;
    XENBUS_GNTTAB_ACQUIRE GnttabAcquire;
    XENBUS_GNTTAB_RELEASE GnttabRelease;
    XENBUS_GNTTAB_CREATE_CACHE_V1 GnttabCreateCacheVersion1;
    XENBUS_GNTTAB_PERMIT_FOREIGN_ACCESS GnttabPermitForeignAccess;
    XENBUS_GNTTAB_REVOKE_FOREIGN_ACCESS GnttabRevokeForeignAccess;
    XENBUS_GNTTAB_GET_REFERENCE GnttabGetReference;
    XENBUS_GNTTAB_DESTROY_CACHE GnttabDestroyCache;
    XENBUS_GNTTAB_MAP_FOREIGN_PAGES GnttabMapForeignPages;
    XENBUS_GNTTAB_UNMAP_FOREIGN_PAGES GnttabUnmapForeignPages;
};

struct _XENBUS_GNTTAB_INTERFACE_V3 {
    INTERFACE Interface;
    XENBUS_GNTTAB_ACQUIRE GnttabAcquire;
    XENBUS_GNTTAB_RELEASE GnttabRelease;
    XENBUS_GNTTAB_CREATE_CACHE_V1 GnttabCreateCacheVersion1;
    XENBUS_GNTTAB_PERMIT_FOREIGN_ACCESS GnttabPermitForeignAccess;
    XENBUS_GNTTAB_REVOKE_FOREIGN_ACCESS GnttabRevokeForeignAccess;
    XENBUS_GNTTAB_GET_REFERENCE GnttabGetReference;
    XENBUS_GNTTAB_QUERY_REFERENCE GnttabQueryReference;
    XENBUS_GNTTAB_DESTROY_CACHE GnttabDestroyCache;
    XENBUS_GNTTAB_MAP_FOREIGN_PAGES GnttabMapForeignPages;
    XENBUS_GNTTAB_UNMAP_FOREIGN_PAGES GnttabUnmapForeignPages;
};

struct _XENBUS_GNTTAB_INTERFACE_V4 {
    INTERFACE Interface;
    XENBUS_GNTTAB_ACQUIRE GnttabAcquire;
    XENBUS_GNTTAB_RELEASE GnttabRelease;
    XENBUS_GNTTAB_CREATE_CACHE GnttabCreateCache;
    XENBUS_GNTTAB_PERMIT_FOREIGN_ACCESS GnttabPermitForeignAccess;
    XENBUS_GNTTAB_REVOKE_FOREIGN_ACCESS GnttabRevokeForeignAccess;
    XENBUS_GNTTAB_GET_REFERENCE GnttabGetReference;
    XENBUS_GNTTAB_QUERY_REFERENCE GnttabQueryReference;
    XENBUS_GNTTAB_DESTROY_CACHE GnttabDestroyCache;
    XENBUS_GNTTAB_MAP_FOREIGN_PAGES GnttabMapForeignPages;
    XENBUS_GNTTAB_UNMAP_FOREIGN_PAGES GnttabUnmapForeignPages;
};

typedef struct _XENBUS_GNTTAB_INTERFACE_V4 XENBUS_GNTTAB_INTERFACE, *PXENBUS_GNTTAB_INTERFACE;

/* Calls a method: XENBUS_GNTTAB(Method, Interface, ...) -> Interface->GnttabMethod(...). */
#define XENBUS_GNTTAB(_Method, _Interface, ...) \
    (_Interface)->Gnttab ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_GNTTAB_INTERFACE_VERSION_MIN 2
#define XENBUS_GNTTAB_INTERFACE_VERSION_MAX 4

#endif /* _XENBUS_GNTTAB_INTERFACE_H */
