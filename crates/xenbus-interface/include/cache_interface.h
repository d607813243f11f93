/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_CACHE: object caches with client constructors and client locking.
 * Every version MIN..MAX is served; XENBUS_CACHE_INTERFACE names the newest.
 */

#ifndef _XENBUS_CACHE_INTERFACE_H
#define _XENBUS_CACHE_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef struct _XENBUS_CACHE XENBUS_CACHE, *PXENBUS_CACHE;

typedef NTSTATUS (*XENBUS_CACHE_CTOR)(PVOID Argument, PVOID Object);
typedef VOID (*XENBUS_CACHE_DTOR)(PVOID Argument, PVOID Object);
typedef VOID (*XENBUS_CACHE_ACQUIRE_LOCK)(PVOID Argument);
typedef VOID (*XENBUS_CACHE_RELEASE_LOCK)(PVOID Argument);

typedef NTSTATUS
(*XENBUS_CACHE_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_CACHE_RELEASE)(
    PINTERFACE Interface
    );

typedef NTSTATUS
(*XENBUS_CACHE_CREATE_V1)(
    PINTERFACE Interface,
    PCSTR Name,
    ULONG Size,
    ULONG Reservation,
    XENBUS_CACHE_CTOR Ctor,
    XENBUS_CACHE_DTOR Dtor,
    XENBUS_CACHE_ACQUIRE_LOCK AcquireLock,
    XENBUS_CACHE_RELEASE_LOCK ReleaseLock,
    PVOID Argument,
    PXENBUS_CACHE *Cache
    );

typedef NTSTATUS
(*XENBUS_CACHE_CREATE)(
    PINTERFACE Interface,
    PCSTR Name,
    ULONG Size,
    ULONG Reservation,
    ULONG Cap,
    XENBUS_CACHE_CTOR Ctor,
    XENBUS_CACHE_DTOR Dtor,
    XENBUS_CACHE_ACQUIRE_LOCK AcquireLock,
    XENBUS_CACHE_RELEASE_LOCK ReleaseLock,
    PVOID Argument,
    PXENBUS_CACHE *Cache
    );

typedef PVOID
(*XENBUS_CACHE_GET)(
    PINTERFACE Interface,
    PXENBUS_CACHE Cache,
    BOOLEAN Locked
    );

typedef VOID
(*XENBUS_CACHE_PUT)(
    PINTERFACE Interface,
    PXENBUS_CACHE Cache,
    PVOID Object,
    BOOLEAN Locked
    );

typedef VOID
(*XENBUS_CACHE_DESTROY)(
    PINTERFACE Interface,
    PXENBUS_CACHE Cache
    );

DEFINE_GUID(GUID_XENBUS_CACHE_INTERFACE,
            0xa98dfd78, 0x416a, 0x4949, 0x92, 0xa5, 0xe0, 0x84, 0xf2, 0xf4, 0xb4, 0x4e);

struct _XENBUS_CACHE_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_CACHE_ACQUIRE CacheAcquire;
    XENBUS_CACHE_RELEASE CacheRelease;
    XENBUS_CACHE_CREATE_V1 CacheCreateVersion1;
    XENBUS_CACHE_GET CacheGet;
    XENBUS_CACHE_PUT CachePut;
    XENBUS_CACHE_DESTROY CacheDestroy;
};

struct _XENBUS_CACHE_INTERFACE_V2 {
    INTERFACE Interface;
    XENBUS_CACHE_ACQUIRE CacheAcquire;
    XENBUS_CACHE_RELEASE CacheRelease;
    XENBUS_CACHE_CREATE CacheCreate;
    XENBUS_CACHE_GET CacheGet;
    XENBUS_CACHE_PUT CachePut;
    XENBUS_CACHE_DESTROY CacheDestroy;
};

typedef struct _XENBUS_CACHE_INTERFACE_V2 XENBUS_CACHE_INTERFACE, *PXENBUS_CACHE_INTERFACE;

/* Calls a method: XENBUS_CACHE(Method, Interface, ...) -> Interface->CacheMethod(...). */
#define XENBUS_CACHE(_Method, _Interface, ...) \
    (_Interface)->Cache ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_CACHE_INTERFACE_VERSION_MIN 1
#define XENBUS_CACHE_INTERFACE_VERSION_MAX 2

#endif /* _XENBUS_CACHE_INTERFACE_H */
