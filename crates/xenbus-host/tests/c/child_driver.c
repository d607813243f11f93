/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * A C stand-in for a XENBUS child driver. It is compiled against the interface headers a C
 * child driver uses (crates/xenbus-interface/include) and linked to the host build of the
 * provider (libxenbus_host.so): it queries every version of every interface (plus short
 * buffers, unknown versions and GUIDs, answered IRPs), then acquires each interface and calls
 * its methods end to end, checking results and that the last Release tears down.
 *
 * Interfaces whose subsystem the host has not wired answer the query (checked) but their
 * methods are reported as skipped, never counted as passed.
 *
 * Last line: "interfaces: N passed, M failed" (and a "skipped:" line before it).
 */

#define _POSIX_C_SOURCE 200809L /* clock_gettime, sched_yield */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "suspend_interface.h"
#include "shared_info_interface.h"
#include "evtchn_interface.h"
#include "debug_interface.h"
#include "store_interface.h"
#include "range_set_interface.h"
#include "cache_interface.h"
#include "gnttab_interface.h"
#include "unplug_interface.h"
#include "console_interface.h"
#include "emulated_interface.h"
#include "balloon_interface.h"
#include "xenbus_host.h"

#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define STATUS_BUFFER_OVERFLOW ((NTSTATUS)0x80000005)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define STATUS_OBJECT_NAME_NOT_FOUND ((NTSTATUS)0xC0000034)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)
#define STATUS_RETRY ((NTSTATUS)0xC000022D)

DEFINE_GUID(GUID_BUS_INTERFACE_STANDARD,
            0x496b8280, 0x6f25, 0x11d0, 0xbe, 0xaf, 0x08, 0x00, 0x2b, 0xe2, 0x09, 0x2f);
DEFINE_GUID(GUID_UNKNOWN_INTERFACE,
            0x12345678, 0x1234, 0x5678, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78);

static unsigned passed;
static unsigned failed;
static char skipped[512];

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                        \
    } while (0)

#define CHECK_STATUS(expr, expected)                                             \
    do {                                                                         \
        NTSTATUS _s = (expr);                                                    \
        if (_s == (NTSTATUS)(expected)) {                                        \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            printf("FAIL %s:%d: %s = %08x, expected %08x\n", __FILE__, __LINE__, \
                   #expr, (unsigned)_s, (unsigned)(expected));                   \
        }                                                                        \
    } while (0)

static void skip(const char *what)
{
    size_t used = strlen(skipped);
    snprintf(skipped + used, sizeof(skipped) - used, "%s%s", used ? ", " : "", what);
}

/* ------------------------------------------------------------------------------------ */
/* Queries                                                                              */

struct served {
    const char *name;
    const GUID *guid;
    USHORT min;
    USHORT max;
    USHORT sizes[6];
};

static const struct served SERVED[] = {
    { "SUSPEND", &GUID_XENBUS_SUSPEND_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_SUSPEND_INTERFACE_V1) } },
    { "SHARED_INFO", &GUID_XENBUS_SHARED_INFO_INTERFACE, 2, 4,
      { sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V2),
        sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V3),
        sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V4) } },
    { "EVTCHN", &GUID_XENBUS_EVTCHN_INTERFACE, 5, 9,
      { sizeof(struct _XENBUS_EVTCHN_INTERFACE_V5), sizeof(struct _XENBUS_EVTCHN_INTERFACE_V6),
        sizeof(struct _XENBUS_EVTCHN_INTERFACE_V7), sizeof(struct _XENBUS_EVTCHN_INTERFACE_V8),
        sizeof(struct _XENBUS_EVTCHN_INTERFACE_V9) } },
    { "DEBUG", &GUID_XENBUS_DEBUG_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_DEBUG_INTERFACE_V1) } },
    { "STORE", &GUID_XENBUS_STORE_INTERFACE, 2, 2,
      { sizeof(struct _XENBUS_STORE_INTERFACE_V2) } },
    { "RANGE_SET", &GUID_XENBUS_RANGE_SET_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_RANGE_SET_INTERFACE_V1) } },
    { "CACHE", &GUID_XENBUS_CACHE_INTERFACE, 1, 2,
      { sizeof(struct _XENBUS_CACHE_INTERFACE_V1), sizeof(struct _XENBUS_CACHE_INTERFACE_V2) } },
    { "GNTTAB", &GUID_XENBUS_GNTTAB_INTERFACE, 2, 4,
      { sizeof(struct _XENBUS_GNTTAB_INTERFACE_V2), sizeof(struct _XENBUS_GNTTAB_INTERFACE_V3),
        sizeof(struct _XENBUS_GNTTAB_INTERFACE_V4) } },
    { "UNPLUG", &GUID_XENBUS_UNPLUG_INTERFACE, 1, 3,
      { sizeof(struct _XENBUS_UNPLUG_INTERFACE_V1), sizeof(struct _XENBUS_UNPLUG_INTERFACE_V2),
        sizeof(struct _XENBUS_UNPLUG_INTERFACE_V3) } },
    { "CONSOLE", &GUID_XENBUS_CONSOLE_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_CONSOLE_INTERFACE_V1) } },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void check_queries(void)
{
    unsigned char buffer[512];

    for (size_t i = 0; i < COUNT(SERVED); i++) {
        const struct served *s = &SERVED[i];
        PVOID context = NULL;

        for (USHORT v = s->min; v <= s->max; v++) {
            USHORT size = s->sizes[v - s->min];
            PINTERFACE header = (PINTERFACE)buffer;

            memset(buffer, 0xA5, sizeof(buffer));
            CHECK_STATUS(xenbus_host_query_interface(s->guid, v, sizeof(buffer), buffer),
                         STATUS_SUCCESS);
            CHECK(header->Size == size);
            CHECK(header->Version == v);
            CHECK(header->Context != NULL);
            CHECK(header->InterfaceReference == NULL);
            CHECK(header->InterfaceDereference == NULL);
            /* Every method slot filled, nothing written past the table. */
            int slots_ok = 1;
            for (size_t off = sizeof(INTERFACE); off < size; off += sizeof(void *)) {
                void *slot;
                memcpy(&slot, buffer + off, sizeof(slot));
                slots_ok &= slot != NULL;
            }
            CHECK(slots_ok);
            int tail_ok = 1;
            for (size_t off = size; off < sizeof(buffer); off++)
                tail_ok &= buffer[off] == 0xA5;
            CHECK(tail_ok);
            /* One context per interface, the same for every version. */
            if (context == NULL)
                context = header->Context;
            CHECK(header->Context == context);

            /* A buffer one byte short: STATUS_BUFFER_OVERFLOW, nothing written. */
            memset(buffer, 0, sizeof(buffer));
            CHECK_STATUS(xenbus_host_query_interface(s->guid, v, (USHORT)(size - 1), buffer),
                         STATUS_BUFFER_OVERFLOW);
            int untouched = 1;
            for (size_t off = 0; off < sizeof(buffer); off++)
                untouched &= buffer[off] == 0;
            CHECK(untouched);
        }
        /* Versions outside MIN..MAX. */
        CHECK_STATUS(xenbus_host_query_interface(s->guid, (USHORT)(s->min - 1), sizeof(buffer),
                                                 buffer),
                     STATUS_NOT_SUPPORTED);
        CHECK_STATUS(xenbus_host_query_interface(s->guid, (USHORT)(s->max + 1), sizeof(buffer),
                                                 buffer),
                     STATUS_NOT_SUPPORTED);
        CHECK_STATUS(xenbus_host_query_interface(s->guid, 0xFFFF, sizeof(buffer), buffer),
                     STATUS_NOT_SUPPORTED);
    }

    /* An IRP another driver already answered keeps its status and the buffer. */
    int outcome = -1;
    memset(buffer, 0, sizeof(buffer));
    CHECK_STATUS(xenbus_host_query_interface_ex(&GUID_XENBUS_STORE_INTERFACE, 2, sizeof(buffer),
                                                buffer, STATUS_SUCCESS, &outcome),
                 STATUS_SUCCESS);
    CHECK(outcome == XENBUS_HOST_QUERY_COMPLETED);
    CHECK(((PINTERFACE)buffer)->Size == 0);
    CHECK_STATUS(xenbus_host_query_interface_ex(&GUID_XENBUS_STORE_INTERFACE, 2, sizeof(buffer),
                                                buffer, STATUS_UNSUCCESSFUL, &outcome),
                 STATUS_UNSUCCESSFUL);
    CHECK(((PINTERFACE)buffer)->Size == 0);

    /* Unknown GUID, BALLOON (internal), BUS_INTERFACE_STANDARD, EMULATED. */
    CHECK_STATUS(xenbus_host_query_interface(&GUID_UNKNOWN_INTERFACE, 1, sizeof(buffer), buffer),
                 STATUS_NOT_SUPPORTED);
    CHECK_STATUS(xenbus_host_query_interface(&GUID_XENBUS_BALLOON_INTERFACE, 1, sizeof(buffer),
                                             buffer),
                 STATUS_NOT_SUPPORTED);
    CHECK_STATUS(xenbus_host_query_interface_ex(&GUID_BUS_INTERFACE_STANDARD, 1, 63, buffer,
                                                STATUS_NOT_SUPPORTED, &outcome),
                 STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(xenbus_host_query_interface_ex(&GUID_BUS_INTERFACE_STANDARD, 2, 64, buffer,
                                                STATUS_NOT_SUPPORTED, &outcome),
                 STATUS_NOT_SUPPORTED);
    xenbus_host_query_interface_ex(&GUID_BUS_INTERFACE_STANDARD, 1, 64, buffer,
                                   STATUS_NOT_SUPPORTED, &outcome);
    CHECK(outcome == XENBUS_HOST_QUERY_BUS_INTERFACE);
    xenbus_host_query_interface_ex(&GUID_XENFILT_EMULATED_INTERFACE, 3, sizeof(buffer), buffer,
                                   STATUS_NOT_SUPPORTED, &outcome);
    CHECK(outcome == XENBUS_HOST_QUERY_DELEGATED);
}

/* Methods without arguments beyond Interface (the helper macros need at least one). */
#define CALL0(_Interface, _Member) (_Interface)->_Member((PINTERFACE)(_Interface))

#define QUERY(_guid, _version, _table)                                                  \
    (xenbus_host_query_interface(&(_guid), (_version), sizeof(_table), &(_table)) ==    \
     STATUS_SUCCESS)

/* ------------------------------------------------------------------------------------ */
/* STORE                                                                                */

static void check_store(void)
{
    struct _XENBUS_STORE_INTERFACE_V2 store;
    const GUID *guid = &GUID_XENBUS_STORE_INTERFACE;
    char *value = NULL;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("STORE (no xenstored)");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_STORE_INTERFACE, 2, store));
    /* The FDO's composition holds its own reference on STORE. */
    int base = xenbus_host_subsystem_references(guid);
    CHECK(base >= 1);

    CHECK_STATUS(CALL0(&store, StoreAcquire), STATUS_SUCCESS);
    CHECK_STATUS(CALL0(&store, StoreAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_references(guid) == 2);
    CHECK(xenbus_host_subsystem_references(guid) == base + 2);

    /* Printf through the variadic thunk, with many conversions. */
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "foo",
                              "%s-%d-%u-%x-%08X-%c-%%-%lld-%p-%5.2s|%-4d|",
                              "abc", -42, 42u, 0xbeefu, 0xBEEFu, 'z', (long long)-5,
                              (void *)0x1234, "xyz", 7),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "foo", &value), STATUS_SUCCESS);
    CHECK(value != NULL &&
          strcmp(value, "abc--42-42-beef-0000BEEF-z-%--5-0000000000001234-   xy|7   |") == 0);
    if (value != NULL) {
        printf("StorePrintf wrote: %s\n", value);
        XENBUS_STORE(Free, &store, value);
    }
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, NULL, "data/bar", "%lu/%llu", 7ul,
                              18446744073709551615ull),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, NULL, "data/bar", &value), STATUS_SUCCESS);
    /* %lu is 32-bit (LLP64), as on Windows. */
    CHECK(value != NULL && strcmp(value, "7/18446744073709551615") == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);
    /* A bad format writes nothing. */
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "bad", "%q", 1),
                 STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "bad", &value),
                 STATUS_OBJECT_NAME_NOT_FOUND);

    /* Directory: a NUL-separated, double-NUL-terminated list. */
    CHECK_STATUS(XENBUS_STORE(Directory, &store, NULL, NULL, "data", &value), STATUS_SUCCESS);
    if (value != NULL) {
        int foo = 0, bar = 0;
        for (char *p = value; *p != '\0'; p += strlen(p) + 1) {
            foo |= strcmp(p, "foo") == 0;
            bar |= strcmp(p, "bar") == 0;
        }
        CHECK(foo && bar);
        XENBUS_STORE(Free, &store, value);
    }

    /* Bad arguments answer instead of crashing. */
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", NULL, &value),
                 STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "foo", NULL),
                 STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, (PXENBUS_STORE_TRANSACTION)0x40, "data", "foo",
                              &value),
                 STATUS_INVALID_PARAMETER);
    XENBUS_STORE(Free, &store, (PSTR)"not a store buffer");
    CHECK_STATUS(store.StoreAcquire(NULL),
                 STATUS_INVALID_PARAMETER);

    /* Watches: signalled once at registration and on every change. */
    volatile int32_t event = 0;
    PXENBUS_STORE_WATCH watch = NULL;
    CHECK_STATUS(XENBUS_STORE(WatchAdd, &store, "data", "watched", (PKEVENT)&event, &watch),
                 STATUS_SUCCESS);
    for (int i = 0; i < 2000 && event < 1; i++) {
        CALL0(&store, StorePoll);
        xenbus_host_sleep_ms(1);
    }
    CHECK(event >= 1);
    int32_t before = event;
    CHECK_STATUS(xenbus_host_dom0_write("/local/domain/1/data/watched", "dom0 was here"),
                 STATUS_SUCCESS);
    for (int i = 0; i < 2000 && event <= before; i++) {
        CALL0(&store, StorePoll);
        xenbus_host_sleep_ms(1);
    }
    CHECK(event > before);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "watched", &value), STATUS_SUCCESS);
    CHECK(value != NULL && strcmp(value, "dom0 was here") == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);

    /* Transactions: commit, abort, stale handle. */
    PXENBUS_STORE_TRANSACTION tx = NULL;
    NTSTATUS status;
    int attempts = 0;
    do {
        CHECK_STATUS(XENBUS_STORE(TransactionStart, &store, &tx), STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Printf, &store, tx, "data", "txkey", "%s", "in-tx"),
                     STATUS_SUCCESS);
        status = XENBUS_STORE(TransactionEnd, &store, tx, 1);
    } while (status == STATUS_RETRY && ++attempts < 10);
    CHECK_STATUS(status, STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(TransactionEnd, &store, tx, 1), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "txkey", &value), STATUS_SUCCESS);
    CHECK(value != NULL && strcmp(value, "in-tx") == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);
    CHECK_STATUS(XENBUS_STORE(TransactionStart, &store, &tx), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Printf, &store, tx, "data", "aborted", "%d", 1), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(TransactionEnd, &store, tx, 0), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "aborted", &value),
                 STATUS_OBJECT_NAME_NOT_FOUND);

    /* Permissions and Remove. */
    XENBUS_STORE_PERMISSION perms[2] = {
        { 1, XENBUS_STORE_PERM_NONE },
        { 0, XENBUS_STORE_PERM_READ | XENBUS_STORE_PERM_WRITE },
    };
    CHECK_STATUS(XENBUS_STORE(PermissionsSet, &store, NULL, "data", "foo", perms, 2),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(PermissionsSet, &store, NULL, "data", "foo", NULL, 2),
                 STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Remove, &store, NULL, "data", "bar"), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "bar", &value),
                 STATUS_OBJECT_NAME_NOT_FOUND);

    CHECK_STATUS(XENBUS_STORE(WatchRemove, &store, watch), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(WatchRemove, &store, watch), STATUS_INVALID_PARAMETER);
    CHECK(xenbus_host_outstanding(guid) == 0);

    CALL0(&store, StoreRelease);
    CHECK(xenbus_host_references(guid) == 1);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CALL0(&store, StoreRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
    /* An unmatched Release changes nothing (it does not take the FDO's reference). */
    CALL0(&store, StoreRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* RANGE_SET                                                                            */

static void check_range_set(void)
{
    struct _XENBUS_RANGE_SET_INTERFACE_V1 rs;
    const GUID *guid = &GUID_XENBUS_RANGE_SET_INTERFACE;
    PXENBUS_RANGE_SET set = NULL;
    LONGLONG start = -1;

    CHECK(QUERY(GUID_XENBUS_RANGE_SET_INTERFACE, 1, rs));
    int teardowns = xenbus_host_lifecycle_count(guid, 1);
    CHECK_STATUS(CALL0(&rs, RangeSetAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_references(guid) == 1);
    CHECK_STATUS(XENBUS_RANGE_SET(Create, &rs, "child", &set), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 0, 100), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 50, 1), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 10, &start), STATUS_SUCCESS);
    CHECK(start == 0);
    CHECK_STATUS(XENBUS_RANGE_SET(Get, &rs, set, 50, 10), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Get, &rs, set, 55, 1), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 200, &start), STATUS_INSUFFICIENT_RESOURCES);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 40, &start), STATUS_SUCCESS);
    CHECK(start == 10);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, -5, 0), STATUS_INVALID_PARAMETER);
    CHECK(xenbus_host_outstanding(guid) == 1);
    XENBUS_RANGE_SET(Destroy, &rs, set);
    CHECK(xenbus_host_outstanding(guid) == 0);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 1, 1), STATUS_INVALID_PARAMETER);
    CALL0(&rs, RangeSetRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_lifecycle_count(guid, 1) == teardowns + 1);
}

/* ------------------------------------------------------------------------------------ */
/* SHARED_INFO                                                                          */

static BOOLEAN count_port(PVOID argument, ULONG port)
{
    (void)port;
    (*(int *)argument)++;
    return 1;
}

static void check_shared_info(void)
{
    struct _XENBUS_SHARED_INFO_INTERFACE_V4 si4;
    struct _XENBUS_SHARED_INFO_INTERFACE_V2 si2;
    const GUID *guid = &GUID_XENBUS_SHARED_INFO_INTERFACE;
    /* 1970-01-01 in Windows time (100 ns since 1601). */
    const LONGLONG epoch1970 = 116444736000000000LL;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("SHARED_INFO");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_SHARED_INFO_INTERFACE, 4, si4));
    CHECK(QUERY(GUID_XENBUS_SHARED_INFO_INTERFACE, 2, si2));
    int base = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&si4, SharedInfoAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CHECK(XENBUS_SHARED_INFO(UpcallSupported, &si4, 0) == 1);
    CHECK(XENBUS_SHARED_INFO(UpcallSupported, &si4, 7) == 0);
    XENBUS_SHARED_INFO(EvtchnMask, &si4, 5);
    XENBUS_SHARED_INFO(EvtchnAck, &si4, 5);
    CHECK(XENBUS_SHARED_INFO(EvtchnUnmask, &si4, 5) == 0);
    /* Ports beyond the 2-level range are refused, not indexed. */
    CHECK(XENBUS_SHARED_INFO(EvtchnUnmask, &si4, 100000) == 0);
    int delivered = 0;
    (void)XENBUS_SHARED_INFO(UpcallPending, &si4, 0);
    CHECK(XENBUS_SHARED_INFO(EvtchnPoll, &si4, 0, count_port, &delivered) == 0);
    CHECK(delivered == 0);
    LARGE_INTEGER now = { .QuadPart = 0 };
    BOOLEAN local = 2;
    XENBUS_SHARED_INFO(GetTime, &si4, &now, &local);
    CHECK(now.QuadPart >= epoch1970);
    CHECK(local == 0);
    LARGE_INTEGER v2 = si2.SharedInfoGetTimeVersion2((PINTERFACE)&si2);
    CHECK(v2.QuadPart >= epoch1970);
    CALL0(&si4, SharedInfoRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* DEBUG                                                                                */

static struct _XENBUS_DEBUG_INTERFACE_V1 debug_iface;
static int debug_calls;
static int debug_crashing;

static VOID debug_callback(PVOID argument, BOOLEAN crashing)
{
    debug_calls += *(int *)argument;
    debug_crashing |= crashing;
    XENBUS_DEBUG(Printf, &debug_iface, "%s=%d %p %ws|", "answer", 42, (void *)0xABC,
                 (const uint16_t *)u"wide");
}

static void check_debug(void)
{
    const GUID *guid = &GUID_XENBUS_DEBUG_INTERFACE;
    PXENBUS_DEBUG_CALLBACK callback = NULL;
    int one = 1;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("DEBUG");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_DEBUG_INTERFACE, 1, debug_iface));
    int base = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&debug_iface, DebugAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_DEBUG(Register, &debug_iface, "child", debug_callback, &one, &callback),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_DEBUG(Register, &debug_iface, "child", NULL, &one, &callback),
                 STATUS_INVALID_PARAMETER);
    XENBUS_DEBUG(Trigger, &debug_iface, callback);
    CHECK(debug_calls == 1);
    CHECK(debug_crashing == 0);
    CHECK(xenbus_host_log_contains("child: answer=42 0000000000000ABC wide|"));
    XENBUS_DEBUG(Trigger, &debug_iface, NULL);
    CHECK(debug_calls == 2);
    /* Outside a callback the text is logged without a prefix. */
    XENBUS_DEBUG(Printf, &debug_iface, "outside %u", 7u);
    CHECK(xenbus_host_log_contains("outside 7"));
    CHECK(xenbus_host_outstanding(guid) == 1);
    XENBUS_DEBUG(Deregister, &debug_iface, callback);
    CHECK(xenbus_host_outstanding(guid) == 0);
    XENBUS_DEBUG(Trigger, &debug_iface, callback);
    CHECK(debug_calls == 2);
    CALL0(&debug_iface, DebugRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* CACHE                                                                                */

struct cache_state {
    int constructed;
    int destroyed;
    int locks;
    int unlocks;
};

static NTSTATUS cache_ctor(PVOID argument, PVOID object)
{
    ((struct cache_state *)argument)->constructed++;
    memset(object, 0x5A, 48);
    return STATUS_SUCCESS;
}

static VOID cache_dtor(PVOID argument, PVOID object)
{
    (void)object;
    ((struct cache_state *)argument)->destroyed++;
}

static VOID cache_lock(PVOID argument)
{
    ((struct cache_state *)argument)->locks++;
}

static VOID cache_unlock(PVOID argument)
{
    ((struct cache_state *)argument)->unlocks++;
}

static void check_cache(void)
{
    struct _XENBUS_CACHE_INTERFACE_V2 c2;
    struct _XENBUS_CACHE_INTERFACE_V1 c1;
    const GUID *guid = &GUID_XENBUS_CACHE_INTERFACE;
    struct cache_state state = { 0, 0, 0, 0 };
    PXENBUS_CACHE cache = NULL;
    PXENBUS_CACHE cache1 = NULL;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("CACHE");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_CACHE_INTERFACE, 2, c2));
    CHECK(QUERY(GUID_XENBUS_CACHE_INTERFACE, 1, c1));
    int base = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&c2, CacheAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_CACHE(Create, &c2, "child_objects", 48, 2, 0, cache_ctor, cache_dtor,
                              cache_lock, cache_unlock, &state, &cache),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_CACHE(Create, &c2, "capped", 48, 4, 2, cache_ctor, cache_dtor,
                              cache_lock, cache_unlock, &state, &cache1),
                 STATUS_INVALID_PARAMETER);
    PVOID objects[3];
    for (int i = 0; i < 3; i++) {
        objects[i] = XENBUS_CACHE(Get, &c2, cache, 0);
        CHECK(objects[i] != NULL);
    }
    CHECK(objects[0] != objects[1] && objects[1] != objects[2] && objects[0] != objects[2]);
    /* Every object handed out went through the child's constructor, under its lock. */
    CHECK(state.constructed >= 3);
    CHECK(state.locks == state.unlocks);
    CHECK(objects[0] != NULL && ((unsigned char *)objects[0])[47] == 0x5A);
    /* Destroy with an object out is refused: the cache stays. */
    for (int i = 1; i < 3; i++)
        XENBUS_CACHE(Put, &c2, cache, objects[i], 0);
    XENBUS_CACHE(Destroy, &c2, cache);
    CHECK(xenbus_host_outstanding(guid) == 1);
    XENBUS_CACHE(Put, &c2, cache, objects[0], 0);
    XENBUS_CACHE(Destroy, &c2, cache);
    CHECK(xenbus_host_outstanding(guid) == 0);
    CHECK(state.destroyed == state.constructed);
    CHECK(XENBUS_CACHE(Get, &c2, cache, 0) == NULL);
    /* Version 1's Create (no cap). */
    CHECK_STATUS(c1.CacheCreateVersion1((PINTERFACE)&c1, "v1_objects", 48, 1, cache_ctor,
                                        cache_dtor, cache_lock, cache_unlock, &state, &cache1),
                 STATUS_SUCCESS);
    PVOID object = c1.CacheGet((PINTERFACE)&c1, cache1, 0);
    CHECK(object != NULL);
    c1.CachePut((PINTERFACE)&c1, cache1, object, 0);
    c1.CacheDestroy((PINTERFACE)&c1, cache1);
    CHECK(xenbus_host_outstanding(guid) == 0);
    CALL0(&c2, CacheRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* GNTTAB                                                                               */

static VOID no_lock(PVOID argument)
{
    (void)argument;
}

static void check_gnttab(void)
{
    struct _XENBUS_GNTTAB_INTERFACE_V4 g4;
    struct _XENBUS_GNTTAB_INTERFACE_V2 g2;
    const GUID *guid = &GUID_XENBUS_GNTTAB_INTERFACE;
    PXENBUS_GNTTAB_CACHE cache = NULL;
    PXENBUS_GNTTAB_ENTRY entry = NULL;
    PFN_NUMBER pfn = 0;
    BOOLEAN ro = 2;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("GNTTAB");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_GNTTAB_INTERFACE, 4, g4));
    CHECK(QUERY(GUID_XENBUS_GNTTAB_INTERFACE, 2, g2));
    int base = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&g4, GnttabAcquire), STATUS_SUCCESS);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_GNTTAB(CreateCache, &g4, "child", 0, 0, no_lock, no_lock, NULL, &cache),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_GNTTAB(PermitForeignAccess, &g4, cache, 0, 0, 0x1000, 1, &entry),
                 STATUS_SUCCESS);
    ULONG ref = XENBUS_GNTTAB(GetReference, &g4, entry);
    CHECK(ref >= 32);
    CHECK_STATUS(XENBUS_GNTTAB(QueryReference, &g4, ref, &pfn, &ro), STATUS_SUCCESS);
    CHECK(pfn == 0x1000);
    CHECK(ro == 1);
    CHECK_STATUS(XENBUS_GNTTAB(QueryReference, &g4, 0x7FFFFFF, &pfn, &ro),
                 STATUS_INVALID_PARAMETER);
    CHECK(xenbus_host_outstanding(guid) == 2);
    CHECK_STATUS(XENBUS_GNTTAB(RevokeForeignAccess, &g4, cache, 0, entry), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_GNTTAB(RevokeForeignAccess, &g4, cache, 0, entry),
                 STATUS_INVALID_PARAMETER);
    CHECK(XENBUS_GNTTAB(GetReference, &g4, entry) == 0);
    XENBUS_GNTTAB(DestroyCache, &g4, cache);
    CHECK(xenbus_host_outstanding(guid) == 0);
    /* A page dom0 granted, mapped into a hole and unmapped. */
    long long foreign = xenbus_host_dom0_grant_page();
    CHECK(foreign >= 0);
    ULONG refs[1] = { (ULONG)foreign };
    PHYSICAL_ADDRESS address = { .QuadPart = 0 };
    CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, &g4, 0, 1, refs, 0, &address), STATUS_SUCCESS);
    CHECK(address.QuadPart != 0 && (address.QuadPart & 0xFFF) == 0);
    CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, &g4, 0, 0, refs, 0, &address),
                 STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_GNTTAB(UnmapForeignPages, &g4, address), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_GNTTAB(UnmapForeignPages, &g4, address), STATUS_OBJECT_NAME_NOT_FOUND);
    /* Version 2's CreateCache (no cap). */
    CHECK_STATUS(g2.GnttabCreateCacheVersion1((PINTERFACE)&g2, "child_v2", 1, no_lock, no_lock,
                                              NULL, &cache),
                 STATUS_SUCCESS);
    CHECK_STATUS(g2.GnttabPermitForeignAccess((PINTERFACE)&g2, cache, 0, 0, 0x2000, 0, &entry),
                 STATUS_SUCCESS);
    CHECK_STATUS(g2.GnttabRevokeForeignAccess((PINTERFACE)&g2, cache, 0, entry),
                 STATUS_SUCCESS);
    g2.GnttabDestroyCache((PINTERFACE)&g2, cache);
    CHECK(xenbus_host_outstanding(guid) == 0);
    CALL0(&g4, GnttabRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* SUSPEND                                                                              */

static VOID suspend_callback(PVOID argument)
{
    (*(int *)argument)++;
}

static void check_suspend(void)
{
    struct _XENBUS_SUSPEND_INTERFACE_V1 su;
    const GUID *guid = &GUID_XENBUS_SUSPEND_INTERFACE;
    PXENBUS_SUSPEND_CALLBACK early_cb = NULL;
    PXENBUS_SUSPEND_CALLBACK late_cb = NULL;
    PXENBUS_SUSPEND_CALLBACK bad = NULL;
    int early = 0, late = 0;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("SUSPEND");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_SUSPEND_INTERFACE, 1, su));
    int base = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&su, Acquire), STATUS_SUCCESS);
    CHECK(xenbus_host_subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_EARLY, suspend_callback, &early,
                                &early_cb),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_LATE, suspend_callback, &late,
                                &late_cb),
                 STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_TYPE_INVALID, suspend_callback,
                                &late, &bad),
                 STATUS_INVALID_PARAMETER);
    CHECK(CALL0(&su, GetCount) == 0);
    unsigned long long suspends = xenbus_host_sim_suspends();
    CHECK_STATUS(CALL0(&su, Trigger), STATUS_SUCCESS);
    CHECK(xenbus_host_sim_suspends() == suspends + 1);
    CHECK(early == 1);
    CHECK(late == 1);
    CHECK(CALL0(&su, GetCount) == 1);
    CHECK(xenbus_host_outstanding(guid) == 2);
    XENBUS_SUSPEND(Deregister, &su, early_cb);
    XENBUS_SUSPEND(Deregister, &su, late_cb);
    XENBUS_SUSPEND(Deregister, &su, late_cb);
    CHECK(xenbus_host_outstanding(guid) == 0);
    /* The store still works after the resume: the composition re-opened its channel. */
    if (xenbus_host_is_wired(&GUID_XENBUS_STORE_INTERFACE) == 1) {
        struct _XENBUS_STORE_INTERFACE_V2 store;
        char *value = NULL;
        CHECK(QUERY(GUID_XENBUS_STORE_INTERFACE, 2, store));
        CHECK_STATUS(CALL0(&store, StoreAcquire), STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "resumed", "%u", 1u),
                     STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "resumed", &value), STATUS_SUCCESS);
        CHECK(value != NULL && strcmp(value, "1") == 0);
        if (value != NULL)
            XENBUS_STORE(Free, &store, value);
        CALL0(&store, StoreRelease);
    }
    CALL0(&su, Release);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == base);
}

/* ------------------------------------------------------------------------------------ */
/* UNPLUG                                                                               */

static void check_unplug(void)
{
    struct _XENBUS_UNPLUG_INTERFACE_V3 un;
    const GUID *guid = &GUID_XENBUS_UNPLUG_INTERFACE;

    if (xenbus_host_is_wired(guid) != 1) {
        skip("UNPLUG");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_UNPLUG_INTERFACE, 3, un));
    CHECK_STATUS(CALL0(&un, UnplugAcquire), STATUS_SUCCESS);
    XENBUS_UNPLUG(Request, &un, XENBUS_UNPLUG_DEVICE_TYPE_NICS, 1);
    CHECK(xenbus_host_log_contains("UNPLUG: NICS (MAKE)"));
    XENBUS_UNPLUG(Request, &un, XENBUS_UNPLUG_DEVICE_TYPE_INVALID, 1);
    CHECK(XENBUS_UNPLUG(IsRequested, &un, XENBUS_UNPLUG_DEVICE_TYPE_DISKS) == 0);
    CHECK(CALL0(&un, UnplugBootEmulated) == 0);
    XENBUS_UNPLUG(Reboot, &un, "xenvif");
    CHECK(xenbus_host_registry_dword("SOFTWARE\\XenBusHost\\RequestReboot\\xenvif", "Reboot") ==
          1);
    CALL0(&un, UnplugRelease);
    CHECK(xenbus_host_references(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == 0);
}

/* ------------------------------------------------------------------------------------ */
/* EVTCHN, CONSOLE                                                                      */

static BOOLEAN evtchn_callback(PKINTERRUPT interrupt, PVOID argument)
{
    (void)interrupt;
    __atomic_fetch_add((int *)argument, 1, __ATOMIC_SEQ_CST);
    return 1;
}

/* Whether the callback counter reaches `want` within 5 s. An event dom0 sends is usually
   delivered before the send returns, but when another thread (the store relay) is running
   vCPU 0's upcall at that moment, that thread delivers it instead, a little later. */
static int reaches(int *counter, int want)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int seen = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
        if (seen >= want)
            return seen == want;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 5)
            return 0;
        sched_yield();
    }
}

static void check_evtchn(void)
{
    struct _XENBUS_EVTCHN_INTERFACE_V9 ev;
    struct _XENBUS_EVTCHN_INTERFACE_V8 ev8;
    struct _XENBUS_EVTCHN_INTERFACE_V5 ev5;
    const GUID *guid = &GUID_XENBUS_EVTCHN_INTERFACE;
    LARGE_INTEGER short_wait = { .QuadPart = -10000 }; /* 1 ms, relative */

    if (xenbus_host_is_wired(guid) != 1) {
        /* The table is served; its methods fail cleanly until EVTCHN is wired. */
        CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 9, ev));
        CHECK_STATUS(CALL0(&ev, EvtchnAcquire), STATUS_NOT_SUPPORTED);
        int fired = 0;
        CHECK(XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, evtchn_callback, &fired, 0,
                            1) == NULL);
        skip("EVTCHN (not wired on the host)");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 9, ev));
    CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 8, ev8));
    CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 5, ev5));
    /* The FDO's composition holds channels of its own (store, console). */
    int channels = xenbus_host_subsystem_references(guid);
    CHECK_STATUS(CALL0(&ev, EvtchnAcquire), STATUS_SUCCESS);

    /* UNBOUND (auto-masked) for dom0, which then binds to it. */
    int fired_unbound = 0;
    PXENBUS_EVTCHN_CHANNEL unbound =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, evtchn_callback, &fired_unbound,
                      (USHORT)0, (BOOLEAN)1);
    CHECK(unbound != NULL);
    ULONG port = XENBUS_EVTCHN(GetPort, &ev, unbound);
    CHECK(port != 0);
    long long remote = xenbus_host_dom0_bind(port);
    CHECK(remote > 0);
    (void)xenbus_host_dom0_events((ULONG)remote);
    (void)XENBUS_EVTCHN(Unmask, &ev, unbound, 0, 0);
    /* Send reaches dom0's end. */
    XENBUS_EVTCHN(Send, &ev, unbound);
    CHECK(xenbus_host_dom0_events((ULONG)remote) == 1);
    /* dom0's notification runs the callback through the upcall. */
    ULONG count = XENBUS_EVTCHN(GetCount, &ev, unbound);
    CHECK(xenbus_host_dom0_send((ULONG)remote) == 0);
    CHECK(reaches(&fired_unbound, 1));
    CHECK(XENBUS_EVTCHN(GetCount, &ev, unbound) == count + 1);
    CHECK_STATUS(XENBUS_EVTCHN(Wait, &ev, unbound, count + 1, &short_wait), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_EVTCHN(Wait, &ev, unbound, count + 2, &short_wait),
                 (NTSTATUS)0x00000102 /* STATUS_TIMEOUT */);
    /* Auto-masked: the next notification waits for Unmask, which reports it pending. */
    CHECK(xenbus_host_dom0_send((ULONG)remote) == 0);
    CHECK(fired_unbound == 1);
    CHECK(XENBUS_EVTCHN(Unmask, &ev, unbound, 0, 0) == 1);
    /* Trigger runs the callback from the owning CPU's DPC. */
    XENBUS_EVTCHN(Trigger, &ev, unbound);
    xenbus_host_flush_dpcs();
    CHECK(fired_unbound == 2);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 0, 0), STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 0, 9), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 1, 0), STATUS_INVALID_PARAMETER);
    /* Version 5's slots on the same channel. */
    ev5.EvtchnSendVersion1((PINTERFACE)&ev5, unbound);
    CHECK(xenbus_host_dom0_events((ULONG)remote) == 1);
    ev5.EvtchnUnmaskVersion4((PINTERFACE)&ev5, unbound, 0);
    CHECK_STATUS(ev5.EvtchnWaitVersion5((PINTERFACE)&ev5, unbound, &short_wait),
                 (NTSTATUS)0x00000102);

    /* INTER_DOMAIN to a port dom0 allocated (not auto-masked). */
    int fired_inter = 0;
    long long dom0_port = xenbus_host_dom0_allocate_unbound();
    CHECK(dom0_port > 0);
    PXENBUS_EVTCHN_CHANNEL inter =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_INTER_DOMAIN, evtchn_callback, &fired_inter,
                      (USHORT)0, (ULONG)dom0_port, (BOOLEAN)0);
    CHECK(inter != NULL);
    CHECK(XENBUS_EVTCHN(GetPort, &ev, inter) != 0);
    (void)XENBUS_EVTCHN(Unmask, &ev, inter, 0, 0);
    int before = fired_inter;
    CHECK(xenbus_host_dom0_send((ULONG)dom0_port) == 0);
    CHECK(reaches(&fired_inter, before + 1));
    CHECK(xenbus_host_dom0_send((ULONG)dom0_port) == 0);
    CHECK(reaches(&fired_inter, before + 2));
    (void)xenbus_host_dom0_events((ULONG)dom0_port);
    XENBUS_EVTCHN(Send, &ev, inter);
    CHECK(xenbus_host_dom0_events((ULONG)dom0_port) == 1);

    /* FIXED: a port bound outside EVTCHN (as the toolstack binds the store's), then bound
       by dom0 and notified. */
    int fired_fixed = 0;
    ULONG toolstack = xenbus_host_toolstack_port();
    CHECK(toolstack != 0);
    PXENBUS_EVTCHN_CHANNEL fixed =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_FIXED, evtchn_callback, &fired_fixed,
                      toolstack, (BOOLEAN)0);
    CHECK(fixed != NULL);
    CHECK(XENBUS_EVTCHN(GetPort, &ev, fixed) == toolstack);
    (void)XENBUS_EVTCHN(Unmask, &ev, fixed, 0, 0);
    long long fixed_remote = xenbus_host_dom0_bind(toolstack);
    CHECK(fixed_remote > 0);
    int fixed_before = fired_fixed;
    CHECK(xenbus_host_dom0_send((ULONG)fixed_remote) == 0);
    CHECK(reaches(&fired_fixed, fixed_before + 1));
    /* A port EVTCHN already holds cannot be opened twice. */
    CHECK(XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_FIXED, evtchn_callback, &fired_fixed,
                        toolstack, (BOOLEAN)0) == NULL);

    /* VIRQ: v9 takes Group and Number, v8 only the index. */
    int fired_virq = 0;
    PXENBUS_EVTCHN_CHANNEL virq9 =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback, &fired_virq,
                      (ULONG)0 /* VIRQ_TIMER */, (USHORT)0, (UCHAR)0);
    CHECK(virq9 != NULL);
    /* VIRQ_DEBUG is held by the FDO itself (a second bind is refused), so use XENOPROF. */
    CHECK(ev8.EvtchnOpen((PINTERFACE)&ev8, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback,
                         &fired_virq, (ULONG)1 /* VIRQ_DEBUG */) == NULL);
    PXENBUS_EVTCHN_CHANNEL virq8 =
        ev8.EvtchnOpen((PINTERFACE)&ev8, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback, &fired_virq,
                       (ULONG)7 /* VIRQ_XENOPROF */);
    CHECK(virq8 != NULL);
    CHECK(virq8 != NULL && XENBUS_EVTCHN(GetPort, &ev, virq8) != 0);
    CHECK(XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback, &fired_virq,
                        (ULONG)3, (USHORT)1, (UCHAR)0) == NULL);

    /* Bad opens answer NULL. */
    CHECK(XENBUS_EVTCHN(Open, &ev, (XENBUS_EVTCHN_TYPE)9, evtchn_callback, &fired_virq, 1, 2,
                        3) == NULL);
    CHECK(XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, NULL, &fired_virq, 0, 1) ==
          NULL);

    CHECK(xenbus_host_outstanding(guid) == 5);
    XENBUS_EVTCHN(Close, &ev, unbound);
    XENBUS_EVTCHN(Close, &ev, inter);
    XENBUS_EVTCHN(Close, &ev, fixed);
    XENBUS_EVTCHN(Close, &ev, virq9);
    XENBUS_EVTCHN(Close, &ev, virq8);
    XENBUS_EVTCHN(Close, &ev, unbound);
    CHECK(XENBUS_EVTCHN(GetPort, &ev, unbound) == 0);
    xenbus_host_flush_dpcs();
    CHECK(xenbus_host_outstanding(guid) == 0);
    CHECK(xenbus_host_subsystem_references(guid) == channels);
    CALL0(&ev, EvtchnRelease);
    CHECK(xenbus_host_references(guid) == 0);
}

static void check_console(void)
{
    struct _XENBUS_CONSOLE_INTERFACE_V1 co;
    const GUID *guid = &GUID_XENBUS_CONSOLE_INTERFACE;
    volatile int32_t event = 0;
    PXENBUS_CONSOLE_WAKEUP wakeup = NULL;
    char text[64];

    CHECK(QUERY(GUID_XENBUS_CONSOLE_INTERFACE, 1, co));
    if (xenbus_host_is_wired(guid) != 1) {
        CHECK_STATUS(CALL0(&co, ConsoleAcquire), STATUS_NOT_SUPPORTED);
        CHECK(XENBUS_CONSOLE(Write, &co, "hello", 5) == 0);
        skip("CONSOLE (not wired on the host)");
        return;
    }
    CHECK_STATUS(CALL0(&co, ConsoleAcquire), STATUS_SUCCESS);
    CHECK(CALL0(&co, ConsoleCanWrite) == 1);
    CHECK(XENBUS_CONSOLE(Write, &co, "hello from the child\n", 21) == 21);
    CHECK(XENBUS_CONSOLE(Write, &co, NULL, 5) == 0);
    for (int i = 0; i < 1000 && !xenbus_host_console_output_contains("hello from the child"); i++)
        xenbus_host_sleep_ms(1);
    CHECK(xenbus_host_console_output_contains("hello from the child"));
    CHECK_STATUS(XENBUS_CONSOLE(WakeupAdd, &co, (PKEVENT)&event, &wakeup), STATUS_SUCCESS);
    CHECK(CALL0(&co, ConsoleCanRead) == 0);
    CHECK(xenbus_host_console_input("typed") == 5);
    xenbus_host_flush_dpcs();
    CHECK(event >= 1);
    CHECK(CALL0(&co, ConsoleCanRead) == 1);
    memset(text, 0, sizeof(text));
    CHECK(XENBUS_CONSOLE(Read, &co, text, sizeof(text) - 1) == 5);
    CHECK(strcmp(text, "typed") == 0);
    CHECK(CALL0(&co, ConsoleCanRead) == 0);
    XENBUS_CONSOLE(WakeupRemove, &co, wakeup);
    XENBUS_CONSOLE(WakeupRemove, &co, wakeup);
    CALL0(&co, ConsoleRelease);
    CHECK(xenbus_host_references(guid) == 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (xenbus_host_create() != 0) {
        printf("interfaces: 0 passed, 1 failed (host not created)\n");
        return 1;
    }
    check_queries();
    check_store();
    check_range_set();
    check_shared_info();
    check_debug();
    check_cache();
    check_gnttab();
    check_unplug();
    check_evtchn();
    check_console();
    /* Last: the host composition does not re-map the shared-info page after a suspend. */
    check_suspend();
    xenbus_host_destroy();

    printf("skipped: %s\n", skipped[0] ? skipped : "none");
    printf("interfaces: %u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
