/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * A C caller of xen.sys's exports, built on Linux through crates/xen/include/xen.h (the way a
 * child driver calls them) and linked against the host seam, libxen_host.so, which carries the
 * real exports plus the XenHost* functions of include/xen_host.h.
 *
 * It stands in for Xen with a hypercall handler that decodes every argument structure with
 * Xen's own public headers (libxen-dev), and for Windows with an XEN_HOST_PLATFORM of port,
 * registry and start-option fakes. Each check compares what reached the fake (hypercall number,
 * sub-op, structure fields, port writes, registry changes) and what came back to the caller
 * (NTSTATUS, output parameters, log bytes) with what the interface promises.
 *
 * Prints "xen c abi: N passed, F failed" and exits non-zero on any failure.
 */

#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#include "xen_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks --------------------------------------------------------------------------------- */

static int passed, failed;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (cond) {                                                                              \
            passed++;                                                                            \
        } else {                                                                                 \
            failed++;                                                                            \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

#define CHECK_STATUS(got, want) CHECK((uint32_t)(got) == (uint32_t)(want), "status %08x, want %08x", \
                                      (unsigned)(got), (unsigned)(want))

#define STATUS_SUCCESS 0x00000000u
#define STATUS_BUFFER_OVERFLOW 0x80000005u
#define STATUS_UNSUCCESSFUL 0xC0000001u
#define STATUS_NOT_IMPLEMENTED 0xC0000002u
#define STATUS_INVALID_HANDLE 0xC0000008u
#define STATUS_INVALID_PARAMETER 0xC000000Du
#define STATUS_NO_MEMORY 0xC0000017u
#define STATUS_ACCESS_DENIED 0xC0000022u
#define STATUS_OBJECT_NAME_NOT_FOUND 0xC0000034u
#define STATUS_PIPE_BUSY 0xC00000AEu
#define STATUS_NOT_SUPPORTED 0xC00000BBu
#define STATUS_CANCELLED 0xC0000120u
#define STATUS_OBJECTID_EXISTS 0xC000022Bu
#define STATUS_RETRY 0xC000022Du
#define STATUS_INCOMPATIBLE_DRIVER_BLOCKED 0xC0000424u

/* ---- the fake hypervisor -------------------------------------------------------------------- */

struct call {
    unsigned op;
    uintptr_t a[5];
};

static struct call calls[64];
static int ncalls;
static intptr_t next_rc;           /* RAX of the next hypercall (then 0 again) */
static int16_t next_grant_status;  /* status written into map/unmap/query_size ops */
static uint32_t evtchn_status_kind = EVTCHNSTAT_interdomain;

/* Snapshots of the argument structures as the fake saw them. */
static union {
    struct evtchn_send send;
    struct evtchn_alloc_unbound alloc_unbound;
    struct evtchn_bind_interdomain bind_interdomain;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_status status;
    struct evtchn_close close;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_unmask unmask;
    struct evtchn_reset reset;
    struct evtchn_init_control init_control;
    struct evtchn_expand_array expand_array;
    struct xen_hvm_param hvm_param;
    struct xen_hvm_pagetable_dying pagetable_dying;
    struct xen_hvm_evtchn_upcall_vector upcall_vector;
    struct xen_add_to_physmap add_to_physmap;
    struct xen_remove_from_physmap remove_from_physmap;
    struct xen_memory_reservation reservation;
    struct gnttab_map_grant_ref map;
    struct gnttab_unmap_grant_ref unmap;
    struct gnttab_query_size query_size;
    struct gnttab_set_version set_version;
    struct gnttab_get_version get_version;
    struct sched_shutdown shutdown;
    struct sched_watchdog watchdog;
    struct vcpu_set_periodic_timer periodic;
    struct vcpu_register_vcpu_info vcpu_info;
} seen;

static xen_pfn_t seen_pfns[8];

static intptr_t fake_xen(PVOID context, ULONG op, const ULONG_PTR args[5])
{
    struct call *c = &calls[ncalls < 63 ? ncalls++ : 63];
    intptr_t rc = next_rc;
    void *p = (void *)args[1];

    (void)context;
    c->op = op;
    memcpy(c->a, args, sizeof(c->a));
    next_rc = 0;

    switch (op) {
    case __HYPERVISOR_event_channel_op:
        switch (args[0]) {
        case EVTCHNOP_send: seen.send = *(struct evtchn_send *)p; break;
        case EVTCHNOP_alloc_unbound:
            seen.alloc_unbound = *(struct evtchn_alloc_unbound *)p;
            ((struct evtchn_alloc_unbound *)p)->port = 42;
            break;
        case EVTCHNOP_bind_interdomain:
            seen.bind_interdomain = *(struct evtchn_bind_interdomain *)p;
            ((struct evtchn_bind_interdomain *)p)->local_port = 43;
            break;
        case EVTCHNOP_bind_virq:
            seen.bind_virq = *(struct evtchn_bind_virq *)p;
            ((struct evtchn_bind_virq *)p)->port = 44;
            break;
        case EVTCHNOP_status: {
            struct evtchn_status *s = p;
            seen.status = *s;
            s->status = evtchn_status_kind;
            s->u.interdomain.dom = 7;
            s->u.interdomain.port = 9;
            break;
        }
        case EVTCHNOP_close: seen.close = *(struct evtchn_close *)p; break;
        case EVTCHNOP_bind_vcpu: seen.bind_vcpu = *(struct evtchn_bind_vcpu *)p; break;
        case EVTCHNOP_unmask: seen.unmask = *(struct evtchn_unmask *)p; break;
        case EVTCHNOP_reset: seen.reset = *(struct evtchn_reset *)p; break;
        case EVTCHNOP_init_control:
            seen.init_control = *(struct evtchn_init_control *)p;
            ((struct evtchn_init_control *)p)->link_bits = 17;
            break;
        case EVTCHNOP_expand_array: seen.expand_array = *(struct evtchn_expand_array *)p; break;
        }
        break;
    case __HYPERVISOR_hvm_op:
        switch (args[0]) {
        case HVMOP_set_param: seen.hvm_param = *(struct xen_hvm_param *)p; break;
        case HVMOP_get_param:
            seen.hvm_param = *(struct xen_hvm_param *)p;
            ((struct xen_hvm_param *)p)->value = 0x1122334455667788ull;
            break;
        case HVMOP_pagetable_dying:
            seen.pagetable_dying = *(struct xen_hvm_pagetable_dying *)p;
            break;
        case HVMOP_set_evtchn_upcall_vector:
            seen.upcall_vector = *(struct xen_hvm_evtchn_upcall_vector *)p;
            break;
        }
        break;
    case __HYPERVISOR_memory_op:
        switch (args[0]) {
        case XENMEM_add_to_physmap: seen.add_to_physmap = *(struct xen_add_to_physmap *)p; break;
        case XENMEM_remove_from_physmap:
            seen.remove_from_physmap = *(struct xen_remove_from_physmap *)p;
            break;
        case XENMEM_decrease_reservation:
        case XENMEM_populate_physmap: {
            struct xen_memory_reservation *r = p;
            seen.reservation = *r;
            memcpy(seen_pfns, r->extent_start.p,
                   sizeof(xen_pfn_t) * (r->nr_extents < 8 ? r->nr_extents : 8));
            break;
        }
        }
        break;
    case __HYPERVISOR_grant_table_op:
        switch (args[0]) {
        case GNTTABOP_map_grant_ref: {
            struct gnttab_map_grant_ref *m = p;
            seen.map = *m;
            m->status = next_grant_status;
            m->handle = 77;
            break;
        }
        case GNTTABOP_unmap_grant_ref: {
            struct gnttab_unmap_grant_ref *u = p;
            seen.unmap = *u;
            u->status = next_grant_status;
            break;
        }
        case GNTTABOP_query_size: {
            struct gnttab_query_size *q = p;
            seen.query_size = *q;
            q->nr_frames = 4;
            q->max_nr_frames = 64;
            q->status = next_grant_status;
            break;
        }
        case GNTTABOP_set_version:
            seen.set_version = *(struct gnttab_set_version *)p;
            break;
        case GNTTABOP_get_version: {
            struct gnttab_get_version *g = p;
            seen.get_version = *g;
            g->version = 1;
            break;
        }
        }
        next_grant_status = 0;
        break;
    case __HYPERVISOR_sched_op:
        switch (args[0]) {
        case SCHEDOP_shutdown:
        case SCHEDOP_shutdown_code: seen.shutdown = *(struct sched_shutdown *)p; break;
        case SCHEDOP_watchdog: seen.watchdog = *(struct sched_watchdog *)p; break;
        }
        break;
    case __HYPERVISOR_xen_version:
        if (args[0] == XENVER_extraversion && rc >= 0)
            memcpy(p, ".7-rc\0\0\0\0\0\0\0\0\0\0\0", XEN_EXTRAVERSION_LEN);
        if (args[0] == XENVER_version && rc == 0)
            rc = (4 << 16) | 13;
        break;
    case __HYPERVISOR_vcpu_op:
        if (args[0] == VCPUOP_set_periodic_timer)
            seen.periodic = *(struct vcpu_set_periodic_timer *)args[2];
        if (args[0] == VCPUOP_register_vcpu_info)
            seen.vcpu_info = *(struct vcpu_register_vcpu_info *)args[2];
        break;
    }
    return rc;
}

static void reset_calls(void)
{
    ncalls = 0;
    memset(&seen, 0, sizeof(seen));
    memset(calls, 0, sizeof(calls));
}

/* ---- the fake Windows ----------------------------------------------------------------------- */

struct value {
    const char *name;
    ULONG key;
    int present;
    int dword; /* 0: some other type */
    ULONG data;
};

static struct value values[8];
static const char *start_options;
static const char *xenbus_keys[4];
static int xenbus_count = -1; /* -1: Enum\XENBUS missing */
static USHORT magic[2] = {0x49d2, 0x49d2};
static int magic_reads;
static UCHAR protocol_version = 1;
static char port_e9[4096], port_12[4096];
static size_t len_e9, len_12;
static char trace[1024]; /* "in16(10) out32(10,90100) ..." */

/* A level value under Parameters: name -> (type, data, length). */
static const char *level_name;
static ULONG level_type;
static const UCHAR *level_data;
static ULONG level_len;

static void tracef(const char *fmt, ...)
{
    size_t used = strlen(trace);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(trace + used, sizeof(trace) - used, fmt, ap);
    va_end(ap);
}

static UCHAR in_byte(PVOID c, USHORT port)
{
    (void)c;
    tracef("in8(%x) ", port);
    return port == 0x12 ? protocol_version : 0xff;
}

static USHORT in_word(PVOID c, USHORT port)
{
    (void)c;
    if (port != 0x10)
        return 0xffff;
    tracef("in16(%x) ", port);
    return magic[magic_reads++ ? 1 : 0];
}

static VOID out_byte(PVOID c, USHORT port, UCHAR v)
{
    (void)c;
    if (port == 0xE9 && len_e9 < sizeof(port_e9) - 1)
        port_e9[len_e9++] = (char)v;
    else if (port == 0x12 && len_12 < sizeof(port_12) - 1)
        port_12[len_12++] = (char)v;
}

static VOID out_word(PVOID c, USHORT port, USHORT v)
{
    (void)c;
    tracef("out16(%x,%x) ", port, v);
}

static VOID out_long(PVOID c, USHORT port, ULONG v)
{
    (void)c;
    tracef("out32(%x,%x) ", port, v);
}

static PCSTR get_start_options(PVOID c)
{
    (void)c;
    return start_options;
}

static struct value *find_value(ULONG key, PCSTR name)
{
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (values[i].present && values[i].key == key && strcmp(values[i].name, name) == 0)
            return &values[i];
    return NULL;
}

static NTSTATUS read_dword(PVOID c, ULONG key, PCSTR name, ULONG *out)
{
    struct value *v = find_value(key, name);

    (void)c;
    if (v == NULL)
        return (NTSTATUS)STATUS_OBJECT_NAME_NOT_FOUND;
    if (!v->dword)
        return (NTSTATUS)STATUS_INVALID_PARAMETER;
    *out = v->data;
    return 0;
}

static NTSTATUS write_dword(PVOID c, ULONG key, PCSTR name, ULONG data)
{
    struct value *v = find_value(key, name);

    (void)c;
    for (size_t i = 0; v == NULL && i < sizeof(values) / sizeof(values[0]); i++)
        if (!values[i].present)
            v = &values[i];
    if (v == NULL)
        return (NTSTATUS)STATUS_NO_MEMORY;
    v->name = strcmp(name, "DISKS") == 0 ? "DISKS" : strcmp(name, "NICS") == 0 ? "NICS" : "?";
    v->key = key;
    v->present = 1;
    v->dword = 1;
    v->data = data;
    return 0;
}

static NTSTATUS delete_value(PVOID c, ULONG key, PCSTR name)
{
    struct value *v = find_value(key, name);

    (void)c;
    if (v == NULL)
        return (NTSTATUS)STATUS_OBJECT_NAME_NOT_FOUND;
    v->present = 0;
    return 0;
}

static const PCSTR *xenbus_subkeys(PVOID c, ULONG *count)
{
    (void)c;
    if (xenbus_count < 0)
        return NULL;
    *count = (ULONG)xenbus_count;
    return xenbus_keys;
}

static NTSTATUS read_value(PVOID c, HANDLE key, PCSTR name, ULONG *type, const UCHAR **data,
                           ULONG *length)
{
    (void)c;
    (void)key;
    if (level_name == NULL || strcmp(name, level_name) != 0)
        return (NTSTATUS)STATUS_OBJECT_NAME_NOT_FOUND;
    *type = level_type;
    *data = level_data;
    *length = level_len;
    return 0;
}

static const XEN_HOST_PLATFORM platform = {
    .Context = NULL,
    .InByte = in_byte,
    .InWord = in_word,
    .OutByte = out_byte,
    .OutWord = out_word,
    .OutLong = out_long,
    .StartOptions = get_start_options,
    .ReadDword = read_dword,
    .WriteDword = write_dword,
    .DeleteValue = delete_value,
    .XenbusSubkeys = xenbus_subkeys,
    .ReadValue = read_value,
};

static void reset_platform(void)
{
    memset(values, 0, sizeof(values));
    start_options = "";
    xenbus_count = -1;
    magic[0] = magic[1] = 0x49d2;
    magic_reads = 0;
    protocol_version = 1;
    len_e9 = len_12 = 0;
    memset(port_e9, 0, sizeof(port_e9));
    memset(port_12, 0, sizeof(port_12));
    trace[0] = '\0';
    level_name = NULL;
}

static void load(void)
{
    XenHostTeardown();
    magic_reads = 0;
    XenHostInitialize(&platform);
    trace[0] = '\0';
    magic_reads = 0;
    len_e9 = len_12 = 0;
    memset(port_e9, 0, sizeof(port_e9));
    memset(port_12, 0, sizeof(port_12));
}

/* ---- a log sink ----------------------------------------------------------------------------- */

struct sink {
    char text[2048];
    size_t len;
    int lines;
    int terminated;
    ULONG last_len;
};

static VOID sink_write(PVOID arg, PSTR buf, ULONG len)
{
    struct sink *s = arg;

    s->lines++;
    s->last_len = len;
    s->terminated = buf[len] == '\0';
    if (s->len + len < sizeof(s->text)) {
        memcpy(s->text + s->len, buf, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
}

static void via_va_list(LOG_LEVEL level, PCSTR fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    LogVPrintf(level, fmt, ap);
    va_end(ap);
}

static void via_cch_va_list(LOG_LEVEL level, ULONG count, PCSTR fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    LogCchVPrintf(level, count, fmt, ap);
    va_end(ap);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_no_hypervisor(void)
{
    ULONG port = 0;

    XenHostInstallHypervisor(NULL, NULL);
    CHECK_STATUS(EventChannelSend(1), STATUS_NOT_SUPPORTED);
    CHECK_STATUS(EventChannelAllocateUnbound(0, &port), STATUS_NOT_SUPPORTED);
    CHECK(port == 0, "port written without a hypervisor");
    XenHostInstallHypervisor(fake_xen, NULL);
}

static void test_errno_mapping(void)
{
    static const struct {
        intptr_t rc;
        uint32_t status;
    } map[] = {
        {-22, STATUS_INVALID_PARAMETER}, {-13, STATUS_ACCESS_DENIED},
        {-1, STATUS_ACCESS_DENIED},      {-17, STATUS_OBJECTID_EXISTS},
        {-2, STATUS_OBJECT_NAME_NOT_FOUND}, {-12, STATUS_NO_MEMORY},
        {-38, STATUS_NOT_IMPLEMENTED},   {-16, STATUS_PIPE_BUSY},
        {-11, STATUS_RETRY},             {-7, STATUS_UNSUCCESSFUL},
        {-14, STATUS_UNSUCCESSFUL},      {-3, STATUS_UNSUCCESSFUL},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        next_rc = map[i].rc;
        CHECK_STATUS(EventChannelSend(5), map[i].status);
    }
}

static void test_event_channels(void)
{
    ULONG port = 0;
    USHORT dom = 0;

    reset_calls();
    CHECK_STATUS(EventChannelSend(5), STATUS_SUCCESS);
    CHECK(ncalls == 1 && calls[0].op == 32 && calls[0].a[0] == EVTCHNOP_send,
          "op %u cmd %lu", calls[0].op, (unsigned long)calls[0].a[0]);
    CHECK(seen.send.port == 5, "port %u", seen.send.port);

    reset_calls();
    CHECK_STATUS(EventChannelAllocateUnbound(3, &port), STATUS_SUCCESS);
    CHECK(seen.alloc_unbound.dom == DOMID_SELF && seen.alloc_unbound.remote_dom == 3,
          "dom %x remote %u", seen.alloc_unbound.dom, seen.alloc_unbound.remote_dom);
    CHECK(port == 42, "port %u", port);

    reset_calls();
    CHECK_STATUS(EventChannelAllocateUnbound(3, NULL), STATUS_INVALID_PARAMETER);
    CHECK(ncalls == 0, "NULL output still issued %d hypercalls", ncalls);

    port = 0;
    next_rc = -28; /* ENOSPC */
    CHECK_STATUS(EventChannelAllocateUnbound(3, &port), 0xC000009Au);
    CHECK(port == 0, "port written on failure");

    CHECK_STATUS(EventChannelBindInterDomain(0, 17, &port), STATUS_SUCCESS);
    CHECK(seen.bind_interdomain.remote_dom == 0 && seen.bind_interdomain.remote_port == 17,
          "remote %u:%u", seen.bind_interdomain.remote_dom, seen.bind_interdomain.remote_port);
    CHECK(port == 43, "local port %u", port);

    CHECK_STATUS(EventChannelBindVirq(VIRQ_TIMER, 1, &port), STATUS_SUCCESS);
    CHECK(seen.bind_virq.virq == VIRQ_TIMER && seen.bind_virq.vcpu == 1, "virq %u vcpu %u",
          seen.bind_virq.virq, seen.bind_virq.vcpu);
    CHECK(port == 44, "virq port %u", port);

    evtchn_status_kind = EVTCHNSTAT_interdomain;
    CHECK_STATUS(EventChannelQueryInterDomain(12, &dom, &port), STATUS_SUCCESS);
    CHECK(seen.status.dom == DOMID_SELF && seen.status.port == 12, "status query %x:%u",
          seen.status.dom, seen.status.port);
    CHECK(dom == 7 && port == 9, "remote %u:%u", dom, port);
    evtchn_status_kind = EVTCHNSTAT_unbound;
    CHECK_STATUS(EventChannelQueryInterDomain(12, &dom, &port), STATUS_INVALID_PARAMETER);
    evtchn_status_kind = EVTCHNSTAT_interdomain;
    CHECK_STATUS(EventChannelQueryInterDomain(12, NULL, &port), STATUS_INVALID_PARAMETER);

    CHECK_STATUS(EventChannelClose(8), STATUS_SUCCESS);
    CHECK(seen.close.port == 8, "close %u", seen.close.port);
    CHECK_STATUS(EventChannelBindVirtualCpu(8, 3), STATUS_SUCCESS);
    CHECK(seen.bind_vcpu.port == 8 && seen.bind_vcpu.vcpu == 3, "bind_vcpu %u %u",
          seen.bind_vcpu.port, seen.bind_vcpu.vcpu);
    CHECK_STATUS(EventChannelUnmask(9), STATUS_SUCCESS);
    CHECK(seen.unmask.port == 9, "unmask %u", seen.unmask.port);
    CHECK_STATUS(EventChannelReset(), STATUS_SUCCESS);
    CHECK(seen.reset.dom == DOMID_SELF, "reset dom %x", seen.reset.dom);
    CHECK_STATUS(EventChannelExpandArray(0x12345), STATUS_SUCCESS);
    CHECK(seen.expand_array.array_gfn == 0x12345, "array gfn %llx",
          (unsigned long long)seen.expand_array.array_gfn);
    CHECK_STATUS(EventChannelInitControl(0x54321, 2), STATUS_SUCCESS);
    CHECK(seen.init_control.control_gfn == 0x54321 && seen.init_control.offset == 0 &&
              seen.init_control.vcpu == 2,
          "init_control %llx %u %u", (unsigned long long)seen.init_control.control_gfn,
          seen.init_control.offset, seen.init_control.vcpu);
}

static void test_hvm(void)
{
    ULONGLONG value = 0;
    PHYSICAL_ADDRESS pa;

    reset_calls();
    CHECK_STATUS(HvmSetParam(HVM_PARAM_CALLBACK_IRQ, 0x0100000000000005ull), STATUS_SUCCESS);
    CHECK(calls[0].op == 34 && calls[0].a[0] == HVMOP_set_param, "op %u/%lu", calls[0].op,
          (unsigned long)calls[0].a[0]);
    CHECK(seen.hvm_param.domid == DOMID_SELF && seen.hvm_param.index == HVM_PARAM_CALLBACK_IRQ &&
              seen.hvm_param.value == 0x0100000000000005ull,
          "param %x %u %llx", seen.hvm_param.domid, seen.hvm_param.index,
          (unsigned long long)seen.hvm_param.value);
    CHECK_STATUS(HvmGetParam(HVM_PARAM_STORE_EVTCHN, &value), STATUS_SUCCESS);
    CHECK(seen.hvm_param.index == HVM_PARAM_STORE_EVTCHN, "get index %u", seen.hvm_param.index);
    CHECK(value == 0x1122334455667788ull, "value %llx", (unsigned long long)value);
    next_rc = -1;
    CHECK_STATUS(HvmSetParam(1, 2), STATUS_ACCESS_DENIED);
    CHECK_STATUS(HvmGetParam(1, NULL), STATUS_INVALID_PARAMETER);

    pa.QuadPart = 0x123456000ll;
    CHECK_STATUS(HvmPagetableDying(pa), STATUS_SUCCESS);
    CHECK(seen.pagetable_dying.domid == DOMID_SELF && seen.pagetable_dying.gpa == 0x123456000ull,
          "dying %x %llx", seen.pagetable_dying.domid,
          (unsigned long long)seen.pagetable_dying.gpa);
    CHECK_STATUS(HvmSetEvtchnUpcallVector(3, 0xf3), STATUS_SUCCESS);
    CHECK(seen.upcall_vector.vcpu == 3 && seen.upcall_vector.vector == 0xf3, "vector %u %x",
          seen.upcall_vector.vcpu, seen.upcall_vector.vector);
}

static void test_memory(void)
{
    PFN_NUMBER pfns[3] = {0x100, 0x200, 0x300};
    ULONG done = 99;

    reset_calls();
    CHECK_STATUS(MemoryAddToPhysmap(0xfeed0, XENMAPSPACE_grant_table, 2), STATUS_SUCCESS);
    CHECK(calls[0].op == 12 && calls[0].a[0] == XENMEM_add_to_physmap, "op %u/%lu",
          calls[0].op, (unsigned long)calls[0].a[0]);
    CHECK(seen.add_to_physmap.domid == DOMID_SELF && seen.add_to_physmap.size == 0 &&
              seen.add_to_physmap.space == XENMAPSPACE_grant_table &&
              seen.add_to_physmap.idx == 2 && seen.add_to_physmap.gpfn == 0xfeed0,
          "physmap %x %u %u %lu %llx", seen.add_to_physmap.domid, seen.add_to_physmap.size,
          seen.add_to_physmap.space, (unsigned long)seen.add_to_physmap.idx,
          (unsigned long long)seen.add_to_physmap.gpfn);
    CHECK_STATUS(MemoryRemoveFromPhysmap(0xfeed0), STATUS_SUCCESS);
    CHECK(seen.remove_from_physmap.gpfn == 0xfeed0 &&
              seen.remove_from_physmap.domid == DOMID_SELF,
          "remove %llx", (unsigned long long)seen.remove_from_physmap.gpfn);

    next_rc = 2; /* partial: still a success */
    CHECK_STATUS(MemoryDecreaseReservation(PAGE_ORDER_4K, 3, pfns, &done), STATUS_SUCCESS);
    CHECK(done == 2, "done %u", done);
    CHECK(seen.reservation.nr_extents == 3 && seen.reservation.extent_order == 0 &&
              seen.reservation.mem_flags == 0 && seen.reservation.domid == DOMID_SELF,
          "reservation %lu %u %u %x", (unsigned long)seen.reservation.nr_extents,
          seen.reservation.extent_order, seen.reservation.mem_flags, seen.reservation.domid);
    CHECK(seen_pfns[0] == 0x100 && seen_pfns[2] == 0x300, "pfns %llx %llx",
          (unsigned long long)seen_pfns[0], (unsigned long long)seen_pfns[2]);
    CHECK(calls[ncalls - 1].a[0] == XENMEM_decrease_reservation, "cmd %lu",
          (unsigned long)calls[ncalls - 1].a[0]);
    next_rc = 1;
    CHECK_STATUS(MemoryPopulatePhysmap(PAGE_ORDER_2M, 1, pfns, &done), STATUS_SUCCESS);
    CHECK(done == 1 && seen.reservation.extent_order == 9, "populate %u order %u", done,
          seen.reservation.extent_order);
    CHECK(calls[ncalls - 1].a[0] == XENMEM_populate_physmap, "cmd %lu",
          (unsigned long)calls[ncalls - 1].a[0]);
    CHECK_STATUS(MemoryPopulatePhysmap(0, 1, pfns, NULL), STATUS_INVALID_PARAMETER);
}

static void test_grant_tables(void)
{
    uint32_t cur = 0, max = 0, version = 0;
    ULONG handle = 0;
    PHYSICAL_ADDRESS pa;
    struct gnttab_copy ops[2];

    reset_calls();
    CHECK_STATUS(GrantTableQuerySize(&cur, &max), STATUS_SUCCESS);
    CHECK(calls[0].op == 20 && calls[0].a[0] == GNTTABOP_query_size && calls[0].a[2] == 1,
          "op %u/%lu count %lu", calls[0].op, (unsigned long)calls[0].a[0],
          (unsigned long)calls[0].a[2]);
    CHECK(seen.query_size.dom == DOMID_SELF && cur == 4 && max == 64, "query %x %u %u",
          seen.query_size.dom, cur, max);
    CHECK_STATUS(GrantTableQuerySize(NULL, &max), STATUS_SUCCESS);
    next_grant_status = GNTST_general_error;
    CHECK_STATUS(GrantTableQuerySize(&cur, NULL), STATUS_UNSUCCESSFUL);

    CHECK_STATUS(GrantTableSetVersion(2), STATUS_SUCCESS);
    CHECK(seen.set_version.version == 2, "set version %u", seen.set_version.version);
    CHECK_STATUS(GrantTableGetVersion(&version), STATUS_SUCCESS);
    CHECK(version == 1 && seen.get_version.dom == DOMID_SELF, "get version %u", version);

    pa.QuadPart = 0xfee00000ll;
    CHECK_STATUS(GrantTableMapForeignPage(1, 33, pa, 1, &handle), STATUS_SUCCESS);
    CHECK(seen.map.dom == 1 && seen.map.ref == 33 && seen.map.host_addr == 0xfee00000ull &&
              seen.map.flags == (GNTMAP_host_map | GNTMAP_readonly),
          "map %u %u %llx %x", seen.map.dom, seen.map.ref,
          (unsigned long long)seen.map.host_addr, seen.map.flags);
    CHECK(handle == 77, "handle %u", handle);
    CHECK_STATUS(GrantTableMapForeignPage(1, 33, pa, 0, &handle), STATUS_SUCCESS);
    CHECK(seen.map.flags == GNTMAP_host_map, "rw flags %x", seen.map.flags);
    next_grant_status = GNTST_permission_denied;
    CHECK_STATUS(GrantTableMapForeignPage(1, 33, pa, 0, &handle), STATUS_ACCESS_DENIED);
    next_grant_status = GNTST_bad_handle;
    CHECK_STATUS(GrantTableUnmapForeignPage(77, pa), STATUS_INVALID_HANDLE);
    CHECK(seen.unmap.handle == 77 && seen.unmap.host_addr == 0xfee00000ull, "unmap %u %llx",
          seen.unmap.handle, (unsigned long long)seen.unmap.host_addr);
    next_grant_status = GNTST_eagain;
    CHECK_STATUS(GrantTableUnmapForeignPage(77, pa), STATUS_RETRY);
    next_grant_status = GNTST_bad_gntref;
    CHECK_STATUS(GrantTableMapForeignPage(1, 33, pa, 0, &handle), STATUS_UNSUCCESSFUL);

    memset(ops, 0, sizeof(ops));
    reset_calls();
    CHECK_STATUS(GrantTableCopy(ops, 2), STATUS_SUCCESS);
    CHECK(calls[0].a[0] == GNTTABOP_copy && calls[0].a[1] == (ULONG_PTR)ops && calls[0].a[2] == 2,
          "copy %lu %lx %lu", (unsigned long)calls[0].a[0], (unsigned long)calls[0].a[1],
          (unsigned long)calls[0].a[2]);
    next_rc = -14;
    CHECK_STATUS(GrantTableCopy(ops, 2), STATUS_UNSUCCESSFUL);
}

static void test_sched_and_watchdog(void)
{
    ULONG id = 0;

    reset_calls();
    next_rc = 1;
    CHECK_STATUS(SchedShutdown(SHUTDOWN_suspend), STATUS_CANCELLED);
    CHECK(calls[0].op == 29 && calls[0].a[0] == SCHEDOP_shutdown && seen.shutdown.reason == 2,
          "shutdown %u/%lu %u", calls[0].op, (unsigned long)calls[0].a[0], seen.shutdown.reason);
    CHECK_STATUS(SchedShutdown(SHUTDOWN_suspend), STATUS_SUCCESS);
    next_rc = 1;
    CHECK_STATUS(SchedShutdown(SHUTDOWN_reboot), STATUS_SUCCESS);
    CHECK_STATUS(SchedShutdownCode(SHUTDOWN_crash), STATUS_SUCCESS);
    CHECK(calls[ncalls - 1].a[0] == SCHEDOP_shutdown_code && seen.shutdown.reason == 3,
          "code %u", seen.shutdown.reason);

    reset_calls();
    SchedYield();
    CHECK(ncalls == 1 && calls[0].op == 29 && calls[0].a[0] == SCHEDOP_yield, "yield %d", ncalls);

    next_rc = 5;
    CHECK_STATUS(SchedWatchdog(&id, 30), STATUS_SUCCESS);
    CHECK(id == 5 && seen.watchdog.id == 0 && seen.watchdog.timeout == 30, "watchdog %u %u %u",
          id, seen.watchdog.id, seen.watchdog.timeout);
    CHECK_STATUS(SchedWatchdog(&id, 0), STATUS_SUCCESS);
    CHECK(id == 5 && seen.watchdog.id == 5 && seen.watchdog.timeout == 0, "destroy %u %u", id,
          seen.watchdog.id);

    reset_calls();
    CHECK_STATUS(SystemSetWatchdog(0), STATUS_INVALID_PARAMETER);
    CHECK(ncalls == 0, "SystemSetWatchdog(0) issued a hypercall");
    next_rc = 3;
    CHECK_STATUS(SystemSetWatchdog(30), STATUS_SUCCESS);
    CHECK(seen.watchdog.id == 0 && seen.watchdog.timeout == 30, "first %u %u", seen.watchdog.id,
          seen.watchdog.timeout);
    CHECK_STATUS(SystemSetWatchdog(30), STATUS_SUCCESS);
    CHECK(seen.watchdog.id == 3, "pat id %u", seen.watchdog.id);
    SystemStopWatchdog();
    CHECK(seen.watchdog.id == 3 && seen.watchdog.timeout == 0, "stop %u %u", seen.watchdog.id,
          seen.watchdog.timeout);
    reset_calls();
    SystemStopWatchdog();
    CHECK(ncalls == 0, "second stop issued a hypercall");
    next_rc = 6;
    CHECK_STATUS(SystemSetWatchdog(10), STATUS_SUCCESS);
    CHECK(seen.watchdog.id == 0, "a new watchdog after stop, id %u", seen.watchdog.id);
    SystemStopWatchdog();
}

static void test_version_and_touch(void)
{
    ULONG major = 0, minor = 0, ma, mi, mc, b;
    char extra[XEN_EXTRAVERSION_LEN];

    CHECK_STATUS(XenVersion(&major, &minor), STATUS_SUCCESS);
    CHECK(major == 4 && minor == 13, "version %u.%u", major, minor);
    CHECK_STATUS(XenVersionExtra(extra), STATUS_SUCCESS);
    CHECK(strcmp(extra, ".7-rc") == 0, "extra '%s'", extra);
    next_rc = -38;
    CHECK_STATUS(XenVersion(&major, &minor), STATUS_NOT_IMPLEMENTED);

    XenHostDriverVersion(&ma, &mi, &mc, &b);
    /* xen.sys loaded without DllInitialize (no hypervisor installed): importers are refused. */
    XenHostInstallHypervisor(NULL, NULL);
    reset_calls();
    CHECK_STATUS(XenTouch("xenbus", ma, mi, mc, b), STATUS_NOT_SUPPORTED);
    CHECK(ncalls == 0, "an uninitialised touch issued %d hypercalls", ncalls);
    XenHostInstallHypervisor(fake_xen, NULL); /* a fresh load: XenTouch not yet called */
    /* Off Xen (ENOSYS) the touch fails and does not count; any other failure still succeeds. */
    next_rc = -38;
    CHECK_STATUS(XenTouch("xenbus", ma, mi, mc, b), STATUS_NOT_IMPLEMENTED);
    next_rc = -1;
    CHECK_STATUS(XenTouch("xenbus", ma, mi, mc, b), STATUS_SUCCESS);
    XenHostInstallHypervisor(fake_xen, NULL);
    reset_calls();
    CHECK_STATUS(XenTouch("xenbus", ma, mi, mc, b + 1), STATUS_INCOMPATIBLE_DRIVER_BLOCKED);
    CHECK_STATUS(XenTouch("xenbus", ma + 1, mi, mc, b), STATUS_INCOMPATIBLE_DRIVER_BLOCKED);
    CHECK(ncalls == 0, "a mismatch issued %d hypercalls", ncalls);
    CHECK_STATUS(XenTouch("xenbus", ma, mi, mc, b), STATUS_SUCCESS);
    CHECK(ncalls == 2 && calls[0].op == 17 && calls[0].a[0] == XENVER_version &&
              calls[1].a[0] == XENVER_extraversion,
          "first touch: %d calls", ncalls);
    CHECK_STATUS(XenTouch("xenfilt", ma, mi, mc, b), STATUS_SUCCESS);
    CHECK(ncalls == 2, "second touch issued hypercalls (%d)", ncalls);
}

static void test_vcpu(void)
{
    LARGE_INTEGER period;

    reset_calls();
    period.QuadPart = 50000000; /* 5 s in 100 ns units */
    CHECK_STATUS(VcpuSetPeriodicTimer(2, &period), STATUS_SUCCESS);
    CHECK(calls[0].op == 24 && calls[0].a[0] == VCPUOP_set_periodic_timer && calls[0].a[1] == 2,
          "timer %u/%lu vcpu %lu", calls[0].op, (unsigned long)calls[0].a[0],
          (unsigned long)calls[0].a[1]);
    CHECK(seen.periodic.period_ns == 5000000000ull, "period %llu",
          (unsigned long long)seen.periodic.period_ns);
    CHECK_STATUS(VcpuSetPeriodicTimer(2, NULL), STATUS_SUCCESS);
    CHECK(calls[1].a[0] == VCPUOP_stop_periodic_timer && calls[1].a[2] == 0, "stop %lu",
          (unsigned long)calls[1].a[0]);
    CHECK_STATUS(VcpuRegisterVcpuInfo(1, 0xabcd, 64), STATUS_SUCCESS);
    CHECK(calls[2].a[0] == VCPUOP_register_vcpu_info && calls[2].a[1] == 1 &&
              seen.vcpu_info.mfn == 0xabcd && seen.vcpu_info.offset == 64 &&
              seen.vcpu_info.rsvd == 0,
          "vcpu_info %llx %u", (unsigned long long)seen.vcpu_info.mfn, seen.vcpu_info.offset);
}

static void test_log(void)
{
    struct sink a, b;
    PLOG_DISPOSITION da = NULL, db = NULL, extra[8];
    int added = 0;

    reset_platform();
    load();

    /* XenLogLevel defaults to CRITICAL (port 0xE9), QemuLogLevel to INFO|WARNING|ERROR|CRITICAL. */
    LogPrintf(LOG_LEVEL_CRITICAL, "%s %d %p\n", "boom", -5, (void *)0x1234);
    CHECK(strcmp(port_e9, "boom -5 0000000000001234\n") == 0, "0xE9 got '%s'", port_e9);
    CHECK(strcmp(port_12, "boom -5 0000000000001234\n") == 0, "0x12 got '%s'", port_12);
    LogPrintf(LOG_LEVEL_INFO, "info\n");
    CHECK(strstr(port_e9, "info") == NULL, "INFO reached 0xE9");
    CHECK(strstr(port_12, "info\n") != NULL, "INFO missed 0x12: '%s'", port_12);
    LogPrintf(LOG_LEVEL_TRACE, "trace\n");
    CHECK(strstr(port_12, "trace") == NULL, "TRACE reached 0x12");

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_INFO, sink_write, &a, &da), STATUS_SUCCESS);
    CHECK(da != NULL, "no handle");
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_WARNING | LOG_LEVEL_ERROR, sink_write, &b, &db),
                 STATUS_SUCCESS);
    LogPrintf(LOG_LEVEL_INFO, "%-4s|%5d|%08x|%X|%c%c", "ab", -42, 0xabc, 0xbeef, 'o', 'k');
    CHECK(strcmp(a.text, "  ab|  -42|00000abc|BEEF|ok") == 0, "sink got '%s'", a.text);
    CHECK(a.lines == 1 && a.last_len == 27 && a.terminated, "lines %d len %u term %d", a.lines,
          a.last_len, a.terminated);
    CHECK(b.lines == 0, "WARNING|ERROR sink got an INFO line");

    a.len = 0;
    a.text[0] = '\0';
    LogCchPrintf(LOG_LEVEL_INFO, 3, "abcdef");
    CHECK(strcmp(a.text, "abc") == 0, "count 3 gave '%s'", a.text);
    a.len = 0;
    via_va_list(LOG_LEVEL_INFO, "%s=%llu %lld", "x", 18446744073709551615ull, -1ll);
    CHECK(strcmp(a.text, "x=18446744073709551615 -1") == 0, "va_list gave '%s'", a.text);
    a.len = 0;
    via_cch_va_list(LOG_LEVEL_INFO, 2, "%u%u%u", 1u, 2u, 3u);
    CHECK(strcmp(a.text, "12") == 0, "cch va_list gave '%s'", a.text);
    a.len = 0;
    {
        char big[400];
        memset(big, 'z', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        LogPrintf(LOG_LEVEL_INFO, "%s", big);
        CHECK(a.last_len == 256 && a.terminated, "long line len %u", a.last_len);
    }
    a.len = 0;
    LogPrintf(LOG_LEVEL_INFO, "%s|%ws|%Z", (char *)NULL, (void *)NULL, (void *)NULL);
    CHECK(strcmp(a.text, "(null)|(null)|(null)") == 0, "nulls gave '%s'", a.text);
    a.len = 0;
    {
        ANSI_STRING s = {3, 4, "abcdef"};
        LogPrintf(LOG_LEVEL_INFO, "[%Z]", &s);
        CHECK(strcmp(a.text, "[abc]") == 0, "%%Z gave '%s'", a.text);
    }

    LogPrintf(LOG_LEVEL_ERROR, "err\n");
    CHECK(b.lines == 1 && strcmp(b.text, "err\n") == 0, "error sink '%s'", b.text);

    LogRemoveDisposition(da);
    a.lines = 0;
    LogPrintf(LOG_LEVEL_INFO, "gone");
    CHECK(a.lines == 0, "removed sink still called");
    LogRemoveDisposition(da); /* stale: harmless */
    LogRemoveDisposition(NULL);
    LogPrintf(LOG_LEVEL_ERROR, "again");
    CHECK(b.lines == 2, "stale removal removed another sink (%d)", b.lines);

    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_NONE, NULL, NULL, &da), STATUS_SUCCESS);
    CHECK(da == NULL, "NONE mask handed out a disposition");
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_INFO, NULL, NULL, &da), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_INFO, sink_write, &a, NULL),
                 STATUS_INVALID_PARAMETER);

    /* 8 entries: two port sinks and b are in use; fill the rest, then one more fails. */
    for (int i = 0; i < 8; i++) {
        extra[i] = NULL;
        if (LogAddDisposition(LOG_LEVEL_TRACE, sink_write, &a, &extra[i]) == 0)
            added++;
    }
    CHECK(added == 5, "added %d dispositions", added);
    CHECK(extra[5] == NULL && extra[6] == NULL && extra[7] == NULL, "handle on failure");
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_TRACE, sink_write, &a, &extra[7]),
                 STATUS_UNSUCCESSFUL);
    for (int i = 0; i < 8; i++)
        LogRemoveDisposition(extra[i]);
    LogRemoveDisposition(db);
}

static void test_log_levels_and_capture(void)
{
    static const UCHAR levels[] = "error\0Critical\0bogus\0\0";
    static const UCHAR qemu_none[] = "\0";
    struct sink s;
    PLOG_DISPOSITION d = NULL;
    LOG_LEVEL level = LOG_LEVEL_INFO;

    XenHostTeardown();
    reset_platform();
    level_name = "XenLogLevel";
    level_type = XEN_HOST_REG_MULTI_SZ;
    level_data = levels;
    level_len = sizeof(levels);
    CHECK_STATUS(LogReadLogLevel((HANDLE)0x1234, "XenLogLevel", &level), STATUS_NOT_SUPPORTED);
    load();
    CHECK_STATUS(LogReadLogLevel((HANDLE)0x1234, "XenLogLevel", &level), STATUS_SUCCESS);
    CHECK((uint32_t)level == 0x80000001u, "level %08x", (unsigned)level);
    CHECK_STATUS(LogReadLogLevel(NULL, "Missing", &level), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(level == LOG_LEVEL_NONE, "level on failure %08x", (unsigned)level);
    level_type = XEN_HOST_REG_SZ;
    CHECK_STATUS(LogReadLogLevel(NULL, "XenLogLevel", &level), STATUS_INVALID_PARAMETER);
    CHECK(level == LOG_LEVEL_NONE, "REG_SZ level %08x", (unsigned)level);
    CHECK_STATUS(LogReadLogLevel(NULL, "XenLogLevel", NULL), STATUS_INVALID_PARAMETER);

    /* The port-0xE9 sink took XenLogLevel = ERROR|CRITICAL at load, so the ERROR line xen.sys
     * printed for the REG_SZ value (through DbgPrint capture) reached it. */
    CHECK(strcmp(port_e9, "xen|LogReadLogLevel: fail1 (c000000d)\n") == 0, "0xE9 got '%s'",
          port_e9);
    len_e9 = 0;
    memset(port_e9, 0, sizeof(port_e9));
    LogPrintf(LOG_LEVEL_ERROR, "e");
    LogPrintf(LOG_LEVEL_WARNING, "w");
    CHECK(strcmp(port_e9, "e") == 0, "0xE9 got '%s'", port_e9);

    /* An empty QemuLogLevel multi-sz is a successful NONE: no 0x12 sink at all. */
    reset_platform();
    level_name = "QemuLogLevel";
    level_type = XEN_HOST_REG_MULTI_SZ;
    level_data = qemu_none;
    level_len = sizeof(qemu_none);
    load();
    LogPrintf(LOG_LEVEL_CRITICAL, "c");
    CHECK(len_12 == 0 && strcmp(port_e9, "c") == 0, "0x12 '%s' 0xE9 '%s'", port_12, port_e9);

    /* Without the platform device's magic there is no QEMU log sink either. */
    reset_platform();
    magic[0] = magic[1] = 0xffff;
    load();
    LogPrintf(LOG_LEVEL_CRITICAL, "c");
    CHECK(len_12 == 0, "0x12 written without the magic: '%s'", port_12);

    /* DbgPrint capture keeps "xen..." lines (at least 4 bytes) at 1 << level. */
    reset_platform();
    load();
    memset(&s, 0, sizeof(s));
    CHECK_STATUS(LogAddDisposition(LOG_LEVEL_INFO | LOG_LEVEL_ERROR, sink_write, &s, &d),
                 STATUS_SUCCESS);
    CHECK(XenHostDbgPrint("xenvif|Fn: up\n", DPFLTR_INFO_LEVEL), "xen line not captured");
    CHECK(strstr(s.text, "xenvif|Fn: up\n") != NULL, "sink '%s'", s.text);
    CHECK(!XenHostDbgPrint("ntfs: noise\n", DPFLTR_INFO_LEVEL), "noise captured");
    CHECK(!XenHostDbgPrint("xen", DPFLTR_INFO_LEVEL), "3-byte line captured");
    CHECK(!XenHostDbgPrint("XEN|upper\n", DPFLTR_INFO_LEVEL), "upper-case prefix captured");
    s.lines = 0;
    CHECK(XenHostDbgPrint("xen|warn\n", DPFLTR_WARNING_LEVEL), "warning not captured");
    CHECK(s.lines == 0, "WARNING line reached an INFO|ERROR sink");
    LogRemoveDisposition(d);

    /* XEN:DBG_PRINT=OFF turns capture off; lower-case off does not. */
    reset_platform();
    start_options = "NOEXECUTE=OPTIN XEN:DBG_PRINT=OFF";
    load();
    CHECK(!XenHostDbgPrint("xen|Fn: x\n", DPFLTR_ERROR_LEVEL), "captured with DBG_PRINT=OFF");
    start_options = "XEN:DBG_PRINT=off";
    load();
    CHECK(XenHostDbgPrint("xen|Fn: x\n", DPFLTR_ERROR_LEVEL), "lower-case off disabled capture");
    start_options = NULL;
    load();
    CHECK(XenHostDbgPrint("xen|Fn: x\n", DPFLTR_ERROR_LEVEL), "missing options disabled capture");
}

static int value_of(ULONG key, const char *name, ULONG *out)
{
    struct value *v = find_value(key, name);

    if (v == NULL || !v->dword)
        return 0;
    *out = v->data;
    return 1;
}

static void set_value(ULONG key, const char *name, ULONG data)
{
    (void)write_dword(NULL, key, name, data);
}

static void test_unplug(void)
{
    ULONG v = 0;

    /* DISKS requested with a VBD frontend seen; NICS requested without a VIF: vetoed. */
    reset_platform();
    set_value(XEN_HOST_KEY_UNPLUG, "DISKS", 1);
    set_value(XEN_HOST_KEY_UNPLUG, "NICS", 1);
    xenbus_keys[0] = "VEN_XP&DEV_VBD&REV_0900000C";
    xenbus_count = 1;
    load();
    CHECK(UnplugGetRequest(UNPLUG_DISKS) == 1, "disks not requested");
    CHECK(UnplugGetRequest(UNPLUG_NICS) == 0, "nics not vetoed");
    CHECK(UnplugGetRequest((UNPLUG_TYPE)2) == 0 && UnplugGetRequest((UNPLUG_TYPE)-1) == 0,
          "unknown type requested");
    CHECK(!value_of(XEN_HOST_KEY_UNPLUG, "DISKS", &v), "DISKS value not consumed");
    CHECK(!value_of(XEN_HOST_KEY_UNPLUG, "NICS", &v), "NICS value not consumed");

    UnplugDevices();
    {
        /* Pre-amble with the product number 0xFFFF and (major << 16 | minor << 8 | micro),
         * then only the disk mask (IDE/SCSI | NVMe). */
        ULONG ma, mi, mc, b;
        char want[256];

        XenHostDriverVersion(&ma, &mi, &mc, &b);
        snprintf(want, sizeof(want),
                 "in16(10) in8(12) out16(12,ffff) out32(10,%x) in16(10) out16(10,9) ",
                 (unsigned)((ma << 16) | (mi << 8) | mc));
        CHECK(strcmp(trace, want) == 0, "trace '%s', want '%s'", trace, want);
    }
    CHECK(strstr(port_12, "UNPLUG: PRE-AMBLE (DRIVERS NOT BLACKLISTED)\n") != NULL &&
              strstr(port_12, "UNPLUG: DISKS\n") != NULL,
          "unplug log '%s'", port_12);

    /* ForceUnplug NICS, BOOT_EMULATED, protocol version 0, blacklisted. */
    reset_platform();
    set_value(XEN_HOST_KEY_FORCE_UNPLUG, "NICS", 1);
    set_value(XEN_HOST_KEY_UNPLUG, "DISKS", 2);
    xenbus_keys[0] = "VEN_XP&DEV_VBD&REV_0900000C";
    xenbus_count = 1;
    start_options = "XEN:BOOT_EMULATED=TRUE";
    load();
    CHECK(UnplugGetRequest(UNPLUG_NICS) == 1 && UnplugGetRequest(UNPLUG_DISKS) == 1,
          "forced/normal requests");
    CHECK(value_of(XEN_HOST_KEY_FORCE_UNPLUG, "NICS", &v) && v == 1, "ForceUnplug consumed");
    protocol_version = 0;
    magic[0] = 0xd249;
    UnplugDevices();
    CHECK(strcmp(trace, "in16(10) out16(10,4) out16(10,2) ") == 0, "trace '%s'", trace);
    CHECK(strstr(port_12, "(DRIVERS BLACKLISTED)") != NULL && strstr(port_12, "AUX DISKS") != NULL,
          "log '%s'", port_12);

    /* No platform device: nothing is written. */
    trace[0] = '\0';
    magic_reads = 0;
    magic[0] = 0xffff;
    UnplugDevices();
    CHECK(strcmp(trace, "in16(10) ") == 0, "trace without magic '%s'", trace);

    /* Counters. */
    reset_platform();
    load();
    CHECK_STATUS(UnplugIncrementValue(UNPLUG_NICS), STATUS_SUCCESS);
    CHECK_STATUS(UnplugIncrementValue(UNPLUG_NICS), STATUS_SUCCESS);
    CHECK(value_of(XEN_HOST_KEY_UNPLUG, "NICS", &v) && v == 2, "NICS %u", v);
    CHECK(!value_of(XEN_HOST_KEY_UNPLUG, "DISKS", &v), "DISKS touched");
    CHECK_STATUS(UnplugDecrementValue(UNPLUG_NICS), STATUS_SUCCESS);
    CHECK_STATUS(UnplugDecrementValue(UNPLUG_NICS), STATUS_SUCCESS);
    CHECK_STATUS(UnplugDecrementValue(UNPLUG_NICS), STATUS_INVALID_PARAMETER);
    CHECK(value_of(XEN_HOST_KEY_UNPLUG, "NICS", &v) && v == 0, "NICS after underflow %u", v);
    CHECK_STATUS(UnplugDecrementValue(UNPLUG_DISKS), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(UnplugIncrementValue((UNPLUG_TYPE)2), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(UnplugDecrementValue((UNPLUG_TYPE)7), STATUS_INVALID_PARAMETER);
}

static void test_config(void)
{
    PANSI_STRING opt = (PANSI_STRING)0x1;
    static char huge[70100];

    reset_platform();
    start_options = "/NOEXECUTE=OPTIN  XEN:WATCHDOG=0x1E XEN:WATCHDOG=5";
    load();
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:WATCHDOG=", &opt), STATUS_SUCCESS);
    CHECK(opt != NULL && strcmp(opt[0].Buffer, "XEN:WATCHDOG=0x1E") == 0 && opt[0].Length == 17 &&
              opt[0].MaximumLength == 18 && opt[1].Buffer == NULL,
          "option '%s' %u/%u", opt ? opt[0].Buffer : "(null)", opt ? opt[0].Length : 0,
          opt ? opt[0].MaximumLength : 0);
    ConfigFreeSzValue(opt);
    ConfigFreeSzValue(NULL);

    CHECK_STATUS(ConfigQuerySystemStartOption("xen:watchdog=", &opt), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(opt == NULL, "output not cleared");
    CHECK_STATUS(ConfigQuerySystemStartOption(NULL, &opt), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:", NULL), STATUS_INVALID_PARAMETER);

    start_options = "";
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:BALLOON=", &opt), STATUS_OBJECT_NAME_NOT_FOUND);
    start_options = "     ";
    CHECK_STATUS(ConfigQuerySystemStartOption("", &opt), STATUS_OBJECT_NAME_NOT_FOUND);
    start_options = NULL;
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:BALLOON=", &opt), STATUS_OBJECT_NAME_NOT_FOUND);

    memcpy(huge, "XEN:BALLOON=", 12);
    memset(huge + 12, 'A', sizeof(huge) - 13);
    huge[sizeof(huge) - 1] = '\0';
    start_options = huge;
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:BALLOON=", &opt), STATUS_BUFFER_OVERFLOW);
    CHECK(opt == NULL, "output set on overflow");
    huge[65534] = '\0'; /* exactly 65534 bytes: MaximumLength 65535 still fits */
    CHECK_STATUS(ConfigQuerySystemStartOption("XEN:BALLOON=", &opt), STATUS_SUCCESS);
    CHECK(opt != NULL && opt[0].Length == 65534 && opt[0].MaximumLength == 65535,
          "largest token %u", opt ? opt[0].Length : 0);
    ConfigFreeSzValue(opt);

    /* Services only Windows provides answer "not supported" on a bare host. */
    {
        unsigned int vcpu = 99;
        PSTR name = (PSTR)0x1;
        ULONG_PTR offset = 1;
        PSTR active = NULL;

        CHECK_STATUS(SystemProcessorVcpuId(0, &vcpu), STATUS_NOT_SUPPORTED);
        CHECK(vcpu == 99, "vcpu id written");
        CHECK_STATUS(SystemProcessorVcpuId(0, NULL), STATUS_INVALID_PARAMETER);
        CHECK(SystemRealTimeIsUniversal() == 0, "RTC is UTC");
        CHECK(SystemMaximumPhysicalAddress().QuadPart == 0, "max address");
        CHECK_STATUS(SystemProcessorRegisterVcpuInfo(0, 1), STATUS_NOT_SUPPORTED);
        ModuleLookup(0x1000, &name, &offset);
        CHECK(name == NULL && offset == 0, "module lookup %p %lu", (void *)name,
              (unsigned long)offset);
        CHECK_STATUS(ConfigGetActive("DeviceID", &active), STATUS_NOT_SUPPORTED);
        CHECK(active == NULL, "active value");
        CHECK_STATUS(ConfigSetActive("a", "b", NULL), STATUS_INVALID_PARAMETER);
        CHECK_STATUS(ConfigRequestReboot(NULL, NULL), STATUS_INVALID_PARAMETER);
        FiltersInstall();
        FiltersUninstall();
        LogResume();
    }
}

/* ---- class filters and the active-device store ---------------------------------------------- */

struct key_value {
    int present;
    ULONG key;
    char name[64];
    ULONG type;
    UCHAR data[512];
    ULONG length;
};

static struct key_value key_values[16];
static int key_writes;
static char reboot_path[256], reboot_module[256];
static int reboot_requests;
static const HANDLE request_parameters = (HANDLE)0x5678;

static struct key_value *find_key_value(ULONG key, PCSTR name)
{
    for (size_t i = 0; i < sizeof(key_values) / sizeof(key_values[0]); i++)
        if (key_values[i].present && key_values[i].key == key &&
            strcmp(key_values[i].name, name) == 0)
            return &key_values[i];
    return NULL;
}

static NTSTATUS query_key_value(PVOID c, ULONG key, PCSTR name, ULONG *type, const UCHAR **data,
                                ULONG *length)
{
    struct key_value *v = find_key_value(key, name);

    (void)c;
    if (v == NULL)
        return (NTSTATUS)STATUS_OBJECT_NAME_NOT_FOUND;
    *type = v->type;
    *data = v->data;
    *length = v->length;
    return 0;
}

static NTSTATUS set_key_value(PVOID c, ULONG key, PCSTR name, ULONG type, const UCHAR *data,
                              ULONG length)
{
    struct key_value *v = find_key_value(key, name);

    (void)c;
    for (size_t i = 0; v == NULL && i < sizeof(key_values) / sizeof(key_values[0]); i++)
        if (!key_values[i].present)
            v = &key_values[i];
    if (v == NULL || length > sizeof(v->data) || strlen(name) >= sizeof(v->name))
        return (NTSTATUS)STATUS_NO_MEMORY;
    v->present = 1;
    v->key = key;
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->type = type;
    memcpy(v->data, data, length);
    v->length = length;
    key_writes++;
    return 0;
}

static NTSTATUS delete_key_value(PVOID c, ULONG key, PCSTR name)
{
    struct key_value *v = find_key_value(key, name);

    (void)c;
    if (v == NULL)
        return (NTSTATUS)STATUS_OBJECT_NAME_NOT_FOUND;
    v->present = 0;
    return 0;
}

static BOOLEAN enum_key_exists(PVOID c, PCSTR path)
{
    (void)c;
    (void)path;
    return 0;
}

static NTSTATUS create_reboot_request(PVOID c, PCSTR path, PCSTR module)
{
    (void)c;
    snprintf(reboot_path, sizeof(reboot_path), "%s", path);
    snprintf(reboot_module, sizeof(reboot_module), "%s", module);
    reboot_requests++;
    return 0;
}

/* UTF-16LE of `n` ASCII bytes (embedded NULs included). */
static ULONG widen(UCHAR *out, const char *ascii, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (UCHAR)ascii[i];
        out[2 * i + 1] = 0;
    }
    return (ULONG)(2 * n);
}

static void put_key_value(ULONG key, PCSTR name, ULONG type, const char *ascii, size_t n)
{
    UCHAR data[512];

    set_key_value(NULL, key, name, type, data, widen(data, ascii, n));
}

static int key_value_is(ULONG key, PCSTR name, ULONG type, const char *ascii, size_t n)
{
    struct key_value *v = find_key_value(key, name);
    UCHAR want[512];
    ULONG len = widen(want, ascii, n);

    return v != NULL && v->type == type && v->length == len && memcmp(v->data, want, len) == 0;
}

static const UCHAR request_key_value[] = {
    'S', 0, 'Y', 0, 'S', 0, 'T', 0, 'E', 0, 'M', 0, '\\', 0, 'R', 0, 'e', 0, 'q', 0, 0, 0,
};

static NTSTATUS read_value_or_request_key(PVOID c, HANDLE key, PCSTR name, ULONG *type,
                                          const UCHAR **data, ULONG *length)
{
    if (key == request_parameters && strcmp(name, "RequestKey") == 0) {
        *type = XEN_HOST_REG_SZ;
        *data = request_key_value;
        *length = sizeof(request_key_value);
        return 0;
    }
    return read_value(c, key, name, type, data, length);
}

static void test_filters_and_config(void)
{
    XEN_HOST_PLATFORM p = platform;
    PSTR active = (PSTR)0x1;
    char long_key[200];
    int writes;

    reset_platform();
    memset(key_values, 0, sizeof(key_values));
    p.QueryKeyValue = query_key_value;
    p.SetKeyValue = set_key_value;
    p.DeleteKeyValue = delete_key_value;
    p.EnumKeyExists = enum_key_exists;
    p.CreateRebootRequest = create_reboot_request;
    p.ReadValue = read_value_or_request_key;
    XenHostTeardown();
    XenHostInitialize(&p);

    /* XENFILT is appended to the System class and creates the HDC class's list. */
    put_key_value(XEN_HOST_KEY_CLASS_SYSTEM, "UpperFilters", XEN_HOST_REG_MULTI_SZ, "PartMgr\0", 8);
    FiltersInstall();
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_SYSTEM, "UpperFilters", XEN_HOST_REG_MULTI_SZ,
                       "PartMgr\0XENFILT\0\0", 17), "System UpperFilters");
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_HDC, "UpperFilters", XEN_HOST_REG_MULTI_SZ,
                       "XENFILT\0\0", 9), "HDC UpperFilters");
    writes = key_writes;
    FiltersInstall();
    CHECK(key_writes == writes, "install is idempotent (%d writes)", key_writes - writes);
    FiltersUninstall();
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_SYSTEM, "UpperFilters", XEN_HOST_REG_MULTI_SZ,
                       "PartMgr\0\0", 9), "System UpperFilters after uninstall");
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_HDC, "UpperFilters", XEN_HOST_REG_MULTI_SZ, "\0", 1),
          "HDC UpperFilters after uninstall");
    /* A value of the wrong type is left alone; the other class is still edited. */
    put_key_value(XEN_HOST_KEY_CLASS_HDC, "UpperFilters", XEN_HOST_REG_SZ, "atapi\0", 6);
    FiltersInstall();
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_HDC, "UpperFilters", XEN_HOST_REG_SZ, "atapi\0", 6),
          "REG_SZ UpperFilters untouched");
    CHECK(key_value_is(XEN_HOST_KEY_CLASS_SYSTEM, "UpperFilters", XEN_HOST_REG_MULTI_SZ,
                       "PartMgr\0XENFILT\0\0", 17), "System UpperFilters again");

    /* The active device. */
    CHECK_STATUS(ConfigGetActive("DeviceID", &active), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(active == NULL, "no active device");
    CHECK_STATUS(ConfigSetActive("PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01", "3&18",
                                 "PCI bus 0, device 3, function 0"),
                 STATUS_SUCCESS);
    CHECK_STATUS(ConfigGetActive("DeviceID", &active), STATUS_SUCCESS);
    CHECK(active != NULL && strcmp(active, "PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01") == 0,
          "ActiveDeviceID '%s'", active ? active : "(null)");
    ConfigFreeActive(active);
    ConfigFreeActive(NULL);
    CHECK(key_value_is(XEN_HOST_KEY_XENFILT_PARAMETERS, "ActiveInstanceID", XEN_HOST_REG_SZ,
                       "3&18\0", 5), "ActiveInstanceID stored as REG_SZ");
    CHECK_STATUS(ConfigUpdateActive("PCI\\VEN_5853&DEV_0002", "new", "elsewhere"), STATUS_SUCCESS);
    CHECK_STATUS(ConfigGetActive("InstanceID", &active), STATUS_SUCCESS);
    CHECK(active != NULL && strcmp(active, "3&18") == 0, "update keeps the instance id");
    ConfigFreeActive(active);
    CHECK_STATUS(ConfigClearActive(), STATUS_SUCCESS);
    CHECK_STATUS(ConfigGetActive("DeviceID", &active), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(ConfigGetActive("InstanceID", &active), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(ConfigGetActive("LocationInformation", &active), STATUS_SUCCESS);
    CHECK(active != NULL && strcmp(active, "PCI bus 0, device 3, function 0") == 0,
          "clear keeps the location");
    ConfigFreeActive(active);
    CHECK_STATUS(ConfigClearActive(), STATUS_OBJECT_NAME_NOT_FOUND);
    memset(long_key, 'K', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    CHECK_STATUS(ConfigGetActive(long_key, &active), STATUS_BUFFER_OVERFLOW);
    CHECK(active == NULL, "no value for a name that does not fit");
    put_key_value(XEN_HOST_KEY_XENFILT_PARAMETERS, "ActiveDeviceID", 4, "\1\0\0\0", 4);
    CHECK_STATUS(ConfigGetActive("DeviceID", &active), STATUS_INVALID_PARAMETER);

    /* The reboot request. */
    CHECK_STATUS(ConfigRequestReboot(request_parameters, "xenbus"), STATUS_SUCCESS);
    CHECK(reboot_requests == 1 && strcmp(reboot_path, "SYSTEM\\Req") == 0 &&
              strcmp(reboot_module, "xenbus") == 0,
          "request %d '%s' '%s'", reboot_requests, reboot_path, reboot_module);
    CHECK_STATUS(ConfigRequestReboot(request_parameters, "a\\b"), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(ConfigRequestReboot(request_parameters, ""), STATUS_INVALID_PARAMETER);
    CHECK_STATUS(ConfigRequestReboot(NULL, "xenbus"), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK(reboot_requests == 1, "refused requests create nothing");

    XenHostTeardown();
}

int main(void)
{
    XenHostInstallHypervisor(fake_xen, NULL);
    test_no_hypervisor();
    test_errno_mapping();
    test_event_channels();
    test_hvm();
    test_memory();
    test_grant_tables();
    test_sched_and_watchdog();
    test_version_and_touch();
    test_vcpu();
    test_log();
    test_log_levels_and_capture();
    test_unplug();
    test_config();
    test_filters_and_config();
    XenHostTeardown();
    XenHostInstallHypervisor(NULL, NULL);

    /* Without a platform nothing claims a vcpu_info registration. */
    CHECK_STATUS(SystemProcessorRegisterVcpuInfo(0, 1), STATUS_NOT_SUPPORTED);

    printf("xen c abi: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
