/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_STORE: xenstore access; StorePrintf is variadic; Read/Directory buffers are released with StoreFree.
 * Every version MIN..MAX is served; XENBUS_STORE_INTERFACE names the newest.
 */

#ifndef _XENBUS_STORE_INTERFACE_H
#define _XENBUS_STORE_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef struct _XENBUS_STORE_TRANSACTION XENBUS_STORE_TRANSACTION, *PXENBUS_STORE_TRANSACTION;
typedef struct _XENBUS_STORE_WATCH XENBUS_STORE_WATCH, *PXENBUS_STORE_WATCH;

typedef enum _XENBUS_STORE_PERMISSION_MASK {
    XENBUS_STORE_PERM_NONE = 0,
    XENBUS_STORE_PERM_READ = 1,
    XENBUS_STORE_PERM_WRITE = 2,
} XENBUS_STORE_PERMISSION_MASK;

typedef struct _XENBUS_STORE_PERMISSION {
    USHORT Domain;
    XENBUS_STORE_PERMISSION_MASK Mask;
} XENBUS_STORE_PERMISSION, *PXENBUS_STORE_PERMISSION;

typedef NTSTATUS
(*XENBUS_STORE_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_STORE_RELEASE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_STORE_FREE)(
    PINTERFACE Interface,
    PSTR Buffer
    );

typedef NTSTATUS
(*XENBUS_STORE_READ)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    PSTR Prefix,
    PSTR Node,
    PSTR *Value
    );

typedef NTSTATUS
(*XENBUS_STORE_PRINTF)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    PSTR Prefix,
    PSTR Node,
    PCSTR Format,
    ...
    );

typedef NTSTATUS
(*XENBUS_STORE_PERMISSIONS_SET)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    PSTR Prefix,
    PSTR Node,
    PXENBUS_STORE_PERMISSION Permissions,
    ULONG NumberPermissions
    );

typedef NTSTATUS
(*XENBUS_STORE_REMOVE)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    PSTR Prefix,
    PSTR Node
    );

typedef NTSTATUS
(*XENBUS_STORE_DIRECTORY)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    PSTR Prefix,
    PSTR Node,
    PSTR *Value
    );

typedef NTSTATUS
(*XENBUS_STORE_TRANSACTION_START)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION *Transaction
    );

typedef NTSTATUS
(*XENBUS_STORE_TRANSACTION_END)(
    PINTERFACE Interface,
    PXENBUS_STORE_TRANSACTION Transaction,
    BOOLEAN Commit
    );

typedef NTSTATUS
(*XENBUS_STORE_WATCH_ADD)(
    PINTERFACE Interface,
    PSTR Prefix,
    PSTR Node,
    PKEVENT Event,
    PXENBUS_STORE_WATCH *Watch
    );

typedef NTSTATUS
(*XENBUS_STORE_WATCH_REMOVE)(
    PINTERFACE Interface,
    PXENBUS_STORE_WATCH Watch
    );

typedef VOID
(*XENBUS_STORE_POLL)(
    PINTERFACE Interface
    );

DEFINE_GUID(GUID_XENBUS_STORE_INTERFACE,
            0x86824c3b, 0xd34e, 0x4753, 0xb2, 0x81, 0x2f, 0x1e, 0x3a, 0xd2, 0x14, 0xd7);

struct _XENBUS_STORE_INTERFACE_V2 {
    INTERFACE Interface;
    XENBUS_STORE_ACQUIRE StoreAcquire;
    XENBUS_STORE_RELEASE StoreRelease;
    XENBUS_STORE_FREE StoreFree;
    XENBUS_STORE_READ StoreRead;
    XENBUS_STORE_PRINTF StorePrintf;
    XENBUS_STORE_PERMISSIONS_SET StorePermissionsSet;
    XENBUS_STORE_REMOVE StoreRemove;
    XENBUS_STORE_DIRECTORY StoreDirectory;
    XENBUS_STORE_TRANSACTION_START StoreTransactionStart;
    XENBUS_STORE_TRANSACTION_END StoreTransactionEnd;
    XENBUS_STORE_WATCH_ADD StoreWatchAdd;
    XENBUS_STORE_WATCH_REMOVE StoreWatchRemove;
    XENBUS_STORE_POLL StorePoll;
};

typedef struct _XENBUS_STORE_INTERFACE_V2 XENBUS_STORE_INTERFACE, *PXENBUS_STORE_INTERFACE;

/* Calls a method: XENBUS_STORE(Method, Interface, ...) -> Interface->StoreMethod(...). */
#define XENBUS_STORE(_Method, _Interface, ...) \
    (_Interface)->Store ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_STORE_INTERFACE_VERSION_MIN 2
#define XENBUS_STORE_INTERFACE_VERSION_MAX 2

#endif /* _XENBUS_STORE_INTERFACE_H */
