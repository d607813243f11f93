/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * The XENBUS child-driver checks, one source for the host test and for xenchild.sys (see
 * checks.h). Compiled against the interface headers a C child driver uses
 * (crates/xenbus-interface/include): every version of every interface is queried (plus short
 * buffers, unknown versions and GUIDs), then each interface is acquired and its methods called
 * end to end, checking results and that the last Release tears down.
 *
 * Every check runs in both runners unless it is marked HOST_ONLY (HOST_ONLY_CHECK, or a block
 * `if (host != NULL)` under a HOST_ONLY comment): those need a power of the host harness
 * (struct xc_host: dom0 as a peer, the simulator, the provider's reference counts, log and
 * registry) or would disturb a live system (SUSPEND's Trigger suspends the domain), and are
 * skipped, not counted, where env->host is NULL (xenchild.sys). Where a host-only peer action
 * drives a check (dom0 writes the watched node), the driver does the same by its own means
 * (the child writes it), so that the check itself runs in both.
 *
 * Each check prints "PASS <section>:<line> <what>" (verbose runners only) or
 * "FAIL <section>:<line>: <what>"; the last lines are "skipped: ..." and
 * "interfaces: N passed, M failed".
 *
 * Only what the Windows kernel exports is used (memset, memcpy, strlen, strcmp), so the same
 * object links into a driver image.
 */

#ifdef _KERNEL_MODE
#include <wdm.h>
/* The GUIDs of the interface headers are defined (selectany) in this object. */
#include <initguid.h>
#endif
#include <stdint.h>
#include <string.h>

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
#include "checks.h"

#define XC_STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define XC_STATUS_TIMEOUT ((NTSTATUS)0x00000102)
#define XC_STATUS_BUFFER_OVERFLOW ((NTSTATUS)0x80000005)
#define XC_STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define XC_STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define XC_STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define XC_STATUS_OBJECT_NAME_NOT_FOUND ((NTSTATUS)0xC0000034)
#define XC_STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define XC_STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)
#define XC_STATUS_RETRY ((NTSTATUS)0xC000022D)

/* Spelled out here: <wdm.h> declares GUID_BUS_INTERFACE_STANDARD only with <wdmguid.h>. */
DEFINE_GUID(XC_GUID_BUS_INTERFACE_STANDARD,
            0x496b8280, 0x6f25, 0x11d0, 0xbe, 0xaf, 0x08, 0x00, 0x2b, 0xe2, 0x09, 0x2f);
DEFINE_GUID(XC_GUID_UNKNOWN_INTERFACE,
            0x12345678, 0x1234, 0x5678, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78);

/* sizeof(BUS_INTERFACE_STANDARD) on x64: INTERFACE and four routines. */
#define XC_BUS_INTERFACE_SIZE 64

/* BUS_INTERFACE_STANDARD and DEVICE_DESCRIPTION (version 3) as <wdm.h> lays them out on x64,
   spelled out for the host build, which has no <wdm.h>. */
struct xc_bus_interface {
    uint16_t Size;
    uint16_t Version;
    void *Context;
    void (*InterfaceReference)(void *);
    void (*InterfaceDereference)(void *);
    uint8_t (*TranslateBusAddress)(void *, int64_t, uint32_t, uint32_t *, int64_t *);
    void *(*GetDmaAdapter)(void *, void *, uint32_t *);
    uint32_t (*SetBusData)(void *, uint32_t, void *, uint32_t, uint32_t);
    uint32_t (*GetBusData)(void *, uint32_t, void *, uint32_t, uint32_t);
};

struct xc_device_description {
    uint32_t Version;
    uint8_t Master, ScatterGather, DemandMode, AutoInitialize;
    uint8_t Dma32BitAddresses, IgnoreCount, Reserved1, Dma64BitAddresses;
    uint32_t BusNumber;
    uint32_t DmaChannel;
    int32_t InterfaceType;
    int32_t DmaWidth;
    int32_t DmaSpeed;
    uint32_t MaximumLength;
    uint32_t DmaPort;
    /* Version 3. */
    uint32_t DmaAddressWidth;
    uint32_t DmaControllerInstance;
    uint32_t DmaRequestLine;
    int64_t DeviceAddress;
};

/* DMA_ADAPTER's head and DMA_OPERATIONS (versions 1 to 3) as <wdm.h> lays them out on x64,
   with the scatter/gather list and the execution routines' types. */
typedef int32_t (*xc_driver_control)(void *DeviceObject, void *Irp, void *MapRegisterBase,
                                     void *Context);
typedef void (*xc_driver_list_control)(void *DeviceObject, void *Irp, void *ScatterGather,
                                       void *Context);

struct xc_dma_operations {
    uint32_t Size;
    void (*PutDmaAdapter)(void *);
    void *(*AllocateCommonBuffer)(void *, uint32_t, int64_t *, uint8_t);
    void (*FreeCommonBuffer)(void *, uint32_t, int64_t, void *, uint8_t);
    NTSTATUS (*AllocateAdapterChannel)(void *, void *, uint32_t, xc_driver_control, void *);
    uint8_t (*FlushAdapterBuffers)(void *, void *, void *, void *, uint32_t, uint8_t);
    void (*FreeAdapterChannel)(void *);
    void (*FreeMapRegisters)(void *, void *, uint32_t);
    int64_t (*MapTransfer)(void *, void *, void *, void *, uint32_t *, uint8_t);
    uint32_t (*GetDmaAlignment)(void *);
    uint32_t (*ReadDmaCounter)(void *);
    NTSTATUS (*GetScatterGatherList)(void *, void *, void *, void *, uint32_t,
                                     xc_driver_list_control, void *, uint8_t);
    void (*PutScatterGatherList)(void *, void *, uint8_t);
    /* Version 2. */
    NTSTATUS (*CalculateScatterGatherList)(void *, void *, void *, uint32_t, uint32_t *,
                                           uint32_t *);
    NTSTATUS (*BuildScatterGatherList)(void *, void *, void *, void *, uint32_t,
                                       xc_driver_list_control, void *, uint8_t, void *, uint32_t);
    NTSTATUS (*BuildMdlFromScatterGatherList)(void *, void *, void *, void **);
    /* Version 3. */
    NTSTATUS (*GetDmaAdapterInfo)(void *, void *);
    NTSTATUS (*GetDmaTransferInfo)(void *, void *, uint64_t, uint32_t, uint8_t, void *);
    NTSTATUS (*InitializeDmaTransferContext)(void *, void *);
    void *(*AllocateCommonBufferEx)(void *, int64_t *, uint32_t, int64_t *, uint8_t, uint32_t);
    NTSTATUS (*AllocateAdapterChannelEx)(void *, void *, void *, uint32_t, uint32_t,
                                         xc_driver_control, void *, void **);
    NTSTATUS (*ConfigureAdapterChannel)(void *, uint32_t, void *);
    uint8_t (*CancelAdapterChannel)(void *, void *, void *);
    void *MapTransferEx;
    NTSTATUS (*GetScatterGatherListEx)(void *, void *, void *, void *, uint64_t, uint32_t,
                                       uint32_t, xc_driver_list_control, void *, uint8_t, void *,
                                       void *, void **);
    void *BuildScatterGatherListEx;
    void *FlushAdapterBuffersEx;
    void (*FreeAdapterObject)(void *, int32_t);
    void *CancelMappedTransfer;
};

/* DMA_OPERATIONS' Size for versions 1, 2, 3 (x64). */
#define XC_DMA_OPERATIONS_SIZE1 104
#define XC_DMA_OPERATIONS_SIZE2 128
#define XC_DMA_OPERATIONS_SIZE3 232
_Static_assert(__builtin_offsetof(struct xc_dma_operations, CalculateScatterGatherList) ==
                   XC_DMA_OPERATIONS_SIZE1,
               "DMA_OPERATIONS version 1");
_Static_assert(__builtin_offsetof(struct xc_dma_operations, GetDmaAdapterInfo) ==
                   XC_DMA_OPERATIONS_SIZE2,
               "DMA_OPERATIONS version 2");
_Static_assert(sizeof(struct xc_dma_operations) == XC_DMA_OPERATIONS_SIZE3,
               "DMA_OPERATIONS version 3");

struct xc_sg_element {
    int64_t Address;
    uint32_t Length;
    uintptr_t Reserved;
};

struct xc_sg_list {
    uint32_t NumberOfElements;
    uintptr_t Reserved;
    struct xc_sg_element Elements[];
};

/* IO_ALLOCATION_ACTION. */
#define XC_KEEP_OBJECT 1
#define XC_DEALLOCATE_OBJECT 2
#define XC_DEALLOCATE_OBJECT_KEEP_REGISTERS 3
#define XC_DISPATCH_LEVEL 2
#define XC_DMA_SYNCHRONOUS_CALLBACK 1
#define XC_DMA_TRANSFER_CONTEXT_SIZE_V1 128
#define XC_PAGE_SIZE 4096

struct xc_dma_adapter {
    uint16_t Version;
    uint16_t Size;
    struct xc_dma_operations *DmaOperations;
};

#define XC_INTERNAL 0
#define XC_PCI_BUS 5
#define XC_PCI_WHICHSPACE_CONFIG 0

/* The run's state: one run at a time (xc_run is not re-entrant). */
static const struct xc_env *env;
static const struct xc_host *host;
static struct xc_result *result;
static const char *section = "";
static unsigned section_passed;
static unsigned section_failed;
/* Our domain ID: from the store ("domid"), else the runner's, else -1. */
static int domid = -1;

static void check_(int ok, int line, const char *what)
{
    if (ok) {
        result->passed++;
        section_passed++;
        if (env->verbose)
            env->print(env->context, "PASS %s:%d %.200s", section, line, what);
    } else {
        result->failed++;
        section_failed++;
        env->print(env->context, "FAIL %s:%d: %.200s", section, line, what);
    }
}

static void check_status_(NTSTATUS got, NTSTATUS expected, int line, const char *what)
{
    if (got == expected) {
        check_(1, line, what);
        return;
    }
    result->failed++;
    section_failed++;
    env->print(env->context, "FAIL %s:%d: %.200s = %08x, expected %08x", section, line, what,
               (unsigned)got, (unsigned)expected);
}

#define CHECK(cond) check_((cond) ? 1 : 0, __LINE__, #cond)
#define CHECK_STATUS(expr, expected) \
    check_status_((expr), (NTSTATUS)(expected), __LINE__, #expr)
/* A check that needs a host power: skipped (not counted) where there is no host. */
#define HOST_ONLY_CHECK(cond) \
    do {                      \
        if (host != NULL)     \
            CHECK(cond);      \
    } while (0)
/* A host power's value, or `otherwise` where there is no host (never checked then). */
#define HOST_VALUE(call, otherwise) (host != NULL ? host->call : (otherwise))

static void begin(const char *name)
{
    section = name;
    section_passed = 0;
    section_failed = 0;
}

static void end(void)
{
    if (env->verbose)
        env->print(env->context, "%s: %u passed, %u failed", section, section_passed,
                   section_failed);
}

static void skip(const char *what)
{
    size_t used = strlen(result->skipped);
    size_t room = sizeof(result->skipped) - 1;
    size_t length = strlen(what);

    if (used != 0 && used + 2 <= room) {
        memcpy(result->skipped + used, ", ", 2);
        used += 2;
    }
    if (length > room - used)
        length = room - used;
    memcpy(result->skipped + used, what, length);
    result->skipped[used + length] = '\0';
}

/* Whether a subsystem serves the interface's methods: the host knows; a driver expects all. */
static int wired(const GUID *guid)
{
    return host == NULL || host->is_wired(guid) == 1;
}

static NTSTATUS query(const GUID *guid, USHORT version, USHORT size, PVOID buffer)
{
    return env->query_interface(env->context, guid, version, size, buffer);
}

/* Methods without arguments beyond Interface (the helper macros need at least one). */
#define CALL0(_Interface, _Member) (_Interface)->_Member((PINTERFACE)(_Interface))

#define QUERY(_guid, _version, _table) \
    (query(&(_guid), (_version), sizeof(_table), &(_table)) == XC_STATUS_SUCCESS)

static int load(int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* Whether the callback counter reaches `want` within about 5 s, and stays there. An event dom0
   sends is usually delivered before the send returns, but when another thread is running
   vCPU 0's upcall at that moment, that thread delivers it instead, a little later. */
static int reaches(int *counter, int want)
{
    for (int i = 0; i < 5000; i++) {
        int seen = load(counter);
        if (seen >= want)
            return seen == want;
        env->sleep_ms(env->context, 1);
    }
    return 0;
}

/* Whether the callback counter grows past `before` within about 5 s. */
static int grows(int *counter, int before)
{
    for (int i = 0; i < 5000; i++) {
        if (load(counter) > before)
            return 1;
        env->sleep_ms(env->context, 1);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* DMA                                                                                  */

/* What an execution routine was called with. */
struct xc_dma_seen {
    int calls;
    void *device;
    void *irp;
    void *argument;
    void *context;
    unsigned irql;
    /* Adapter-control routines: what to return. */
    int32_t action;
    /* List-control routines: the transfer the list must describe, and what it held. */
    uint8_t *va;
    uint32_t length;
    uint32_t elements;
    uint32_t total;
    int addresses_ok;
};

static int32_t xc_dma_control(void *DeviceObject, void *Irp, void *MapRegisterBase,
                              void *Context)
{
    struct xc_dma_seen *seen = Context;

    seen->calls++;
    seen->device = DeviceObject;
    seen->irp = Irp;
    seen->argument = MapRegisterBase;
    seen->context = Context;
    seen->irql = env->irql(env->context);
    return seen->action;
}

static void xc_dma_list_control(void *DeviceObject, void *Irp, void *ScatterGather,
                                void *Context)
{
    struct xc_dma_seen *seen = Context;
    struct xc_sg_list *list = ScatterGather;
    uint32_t offset = 0;

    seen->calls++;
    seen->device = DeviceObject;
    seen->irp = Irp;
    seen->argument = ScatterGather;
    seen->context = Context;
    seen->irql = env->irql(env->context);
    seen->addresses_ok = list != NULL && list->NumberOfElements != 0;
    if (list == NULL)
        return;
    seen->elements = list->NumberOfElements;
    /* Each element starts at the physical address of the transfer's byte it begins with. */
    for (uint32_t i = 0; i < list->NumberOfElements && seen->addresses_ok; i++) {
        struct xc_sg_element *e = &list->Elements[i];

        if (e->Length == 0 || offset + e->Length > seen->length ||
            e->Address != env->physical_address(env->context, seen->va + offset).QuadPart)
            seen->addresses_ok = 0;
        offset += e->Length;
    }
    seen->total = offset;
}

/* The checks on what a list-control routine saw. */
#define CHECK_LIST_SEEN(seen)                                                              \
    do {                                                                                   \
        CHECK((seen).calls == 1 && (seen).context == &(seen));                             \
        CHECK((seen).device == env->device && (seen).irp == (void *)xc_marker_irp);        \
        CHECK((seen).irql == XC_DISPATCH_LEVEL);                                           \
        CHECK((seen).addresses_ok && (seen).total == (seen).length);                       \
    } while (0)

/* A recognisable IRP: the driver's DeviceObject->CurrentIrp while it asks for DMA. */
static char xc_marker_irp[64];

/* One adapter of description version `version`: its table, common buffers, the adapter
   channel (both ways of keeping map registers), scatter/gather lists over `mdl` (`length`
   bytes at `va`), the version 2 and 3 routines, then PutDmaAdapter. */
static void check_dma_adapter(struct xc_bus_interface *bus, uint32_t version, void *mdl,
                              uint8_t *va, uint32_t length)
{
    static const uint32_t sizes[] = {XC_DMA_OPERATIONS_SIZE1, XC_DMA_OPERATIONS_SIZE2,
                                     XC_DMA_OPERATIONS_SIZE2, XC_DMA_OPERATIONS_SIZE3};
    struct xc_device_description description;
    struct xc_dma_operations *ops;
    struct xc_dma_seen keep_registers, keep_object, list, built, channel_ex, list_ex;
    uint64_t context[XC_DMA_TRANSFER_CONTEXT_SIZE_V1 / 8];
    uint32_t info[6];
    uint8_t buffer[256];
    uint32_t registers = 0, list_size = 0, list_registers = 0, alignment;
    NTSTATUS keep_registers_status, keep_object_status, list_status, built_status = 0;
    NTSTATUS channel_ex_status = 0, list_ex_status = 0, calculated = 0;
    uint8_t cancelled = 1, flushed = 0;
    uint32_t mapped_length = 0, counter = 1;
    int64_t logical = 0, mapped = 0;
    NTSTATUS sync_status = 0;
    void *sync_base = NULL;
    unsigned char irql;
    void *adapter, *previous, *common;

    memset(&description, 0, sizeof(description));
    description.Version = version;
    description.Master = 1;
    description.ScatterGather = 1;
    description.Dma64BitAddresses = 1;
    description.InterfaceType = XC_INTERNAL;
    description.MaximumLength = 0x10000;
    if (version >= 3)
        description.DmaAddressWidth = 64;
    adapter = bus->GetDmaAdapter(bus->Context, &description, &registers);
    CHECK(adapter != NULL);
    if (adapter == NULL)
        return;
    ops = ((struct xc_dma_adapter *)adapter)->DmaOperations;
    CHECK(ops != NULL && ops->Size == sizes[version]);
    CHECK(registers >= 3);
    if (ops == NULL || ops->Size != sizes[version] || registers < 3)
        return;
    alignment = ops->GetDmaAlignment(adapter);
    CHECK(alignment >= 1);

    /* A common buffer: its logical address is its physical address. */
    common = ops->AllocateCommonBuffer(adapter, 2 * XC_PAGE_SIZE, &logical, 1);
    CHECK(common != NULL);
    if (common != NULL) {
        CHECK(logical == env->physical_address(env->context, common).QuadPart);
        CHECK(logical + XC_PAGE_SIZE ==
              env->physical_address(env->context, (uint8_t *)common + XC_PAGE_SIZE).QuadPart);
        ops->FreeCommonBuffer(adapter, 2 * XC_PAGE_SIZE, logical, common, 1);
    }
    if (version >= 3) {
        /* AllocateCommonBufferEx, anywhere, any node (MM_ANY_NODE_OK): the same answer. */
        logical = 0;
        common = ops->AllocateCommonBufferEx(adapter, NULL, XC_PAGE_SIZE, &logical, 1,
                                             0x80000000u);
        CHECK(common != NULL);
        if (common != NULL) {
            CHECK(logical == env->physical_address(env->context, common).QuadPart);
            ops->FreeCommonBuffer(adapter, XC_PAGE_SIZE, logical, common, 1);
        }
    }

    memset(&keep_registers, 0, sizeof(keep_registers));
    keep_registers.action = XC_DEALLOCATE_OBJECT_KEEP_REGISTERS;
    memset(&keep_object, 0, sizeof(keep_object));
    keep_object.action = XC_KEEP_OBJECT;
    memset(&list, 0, sizeof(list));
    list.va = va;
    list.length = length;
    built = list;
    list_ex = list;
    memset(&channel_ex, 0, sizeof(channel_ex));
    channel_ex.action = XC_DEALLOCATE_OBJECT;
    if (version >= 2)
        calculated = ops->CalculateScatterGatherList(adapter, mdl, va, length, &list_size,
                                                     &list_registers);
    if (version >= 3) {
        memset(context, 0xA5, sizeof(context));
        CHECK_STATUS(ops->InitializeDmaTransferContext(adapter, context), XC_STATUS_SUCCESS);
    }

    /* At DISPATCH_LEVEL, with a recognisable CurrentIrp: nothing printed until it is back. */
    irql = env->raise_to_dispatch(env->context);
    previous = env->set_current_irp(env->context, xc_marker_irp);
    keep_registers_status = ops->AllocateAdapterChannel(adapter, env->device, 2, xc_dma_control,
                                                        &keep_registers);
    if (keep_registers.calls == 1) {
        /* The registers kept: MapTransfer maps the first run of the buffer through them. */
        mapped_length = length;
        mapped = ops->MapTransfer(adapter, mdl, keep_registers.argument, va, &mapped_length, 1);
        flushed = ops->FlushAdapterBuffers(adapter, mdl, keep_registers.argument, va,
                                           mapped_length, 1);
        ops->FreeMapRegisters(adapter, keep_registers.argument, 2);
    }
    counter = ops->ReadDmaCounter(adapter);
    keep_object_status = ops->AllocateAdapterChannel(adapter, env->device, 1, xc_dma_control,
                                                     &keep_object);
    if (keep_object.calls == 1)
        ops->FreeAdapterChannel(adapter);
    list_status = ops->GetScatterGatherList(adapter, env->device, mdl, va, length,
                                            xc_dma_list_control, &list, 0);
    if (list.calls == 1)
        ops->PutScatterGatherList(adapter, list.argument, 0);
    if (version >= 2 && calculated == XC_STATUS_SUCCESS && list_size <= sizeof(buffer)) {
        built_status = ops->BuildScatterGatherList(adapter, env->device, mdl, va, length,
                                                   xc_dma_list_control, &built, 0, buffer,
                                                   sizeof(buffer));
        if (built.calls == 1)
            ops->PutScatterGatherList(adapter, built.argument, 0);
    }
    if (version >= 3) {
        channel_ex_status = ops->AllocateAdapterChannelEx(adapter, env->device, context, 1, 0,
                                                          xc_dma_control, &channel_ex, NULL);
        list_ex_status = ops->GetScatterGatherListEx(adapter, env->device, context, mdl, 0,
                                                     length, 0, xc_dma_list_control, &list_ex,
                                                     0, NULL, NULL, NULL);
        if (list_ex.calls == 1)
            ops->PutScatterGatherList(adapter, list_ex.argument, 0);
        cancelled = ops->CancelAdapterChannel(adapter, env->device, context);
        /* No execution routine: allocated at once, the registers returned; the adapter object
           freed keeping them, then the registers. The adapter stays usable (PutDmaAdapter). */
        sync_status = ops->AllocateAdapterChannelEx(adapter, env->device, context, 1,
                                                    XC_DMA_SYNCHRONOUS_CALLBACK, NULL, NULL,
                                                    &sync_base);
        if (sync_status == XC_STATUS_SUCCESS && sync_base != NULL) {
            ops->FreeAdapterObject(adapter, XC_DEALLOCATE_OBJECT_KEEP_REGISTERS);
            ops->FreeMapRegisters(adapter, sync_base, 1);
        }
    }
    (void)env->set_current_irp(env->context, previous);
    env->lower_irql(env->context, irql);

    /* AllocateAdapterChannel: the routine at once, with the driver's own DeviceObject, its
       CurrentIrp and the context; DeallocateObjectKeepRegisters, then KeepObject. */
    CHECK_STATUS(keep_registers_status, XC_STATUS_SUCCESS);
    CHECK(keep_registers.calls == 1 && keep_registers.context == &keep_registers);
    CHECK(keep_registers.device == env->device && keep_registers.irp == (void *)xc_marker_irp);
    CHECK(keep_registers.irql == XC_DISPATCH_LEVEL && keep_registers.argument != NULL);
    CHECK(mapped_length >= 1 && mapped_length <= length &&
          mapped == env->physical_address(env->context, va).QuadPart && flushed == 1);
    CHECK(counter == 0);
    CHECK_STATUS(keep_object_status, XC_STATUS_SUCCESS);
    CHECK(keep_object.calls == 1 && keep_object.context == &keep_object);
    CHECK(keep_object.device == env->device && keep_object.irp == (void *)xc_marker_irp);
    /* GetScatterGatherList: the pages' physical addresses, Length bytes in all. */
    CHECK_STATUS(list_status, XC_STATUS_SUCCESS);
    CHECK_LIST_SEEN(list);
    if (version >= 2) {
        CHECK_STATUS(calculated, XC_STATUS_SUCCESS);
        CHECK(list_size >= sizeof(struct xc_sg_list) + sizeof(struct xc_sg_element) &&
              list_size <= sizeof(buffer) && list_registers >= 2);
        CHECK_STATUS(built_status, XC_STATUS_SUCCESS);
        CHECK_LIST_SEEN(built);
        CHECK(built.argument == (void *)buffer);
    }
    if (version >= 3) {
        CHECK_STATUS(channel_ex_status, XC_STATUS_SUCCESS);
        CHECK(channel_ex.calls == 1 && channel_ex.context == &channel_ex);
        CHECK(channel_ex.device == env->device && channel_ex.irp == (void *)xc_marker_irp);
        CHECK_STATUS(list_ex_status, XC_STATUS_SUCCESS);
        CHECK_LIST_SEEN(list_ex);
        CHECK(cancelled == 0);
        CHECK_STATUS(sync_status, XC_STATUS_SUCCESS);
        CHECK(sync_base != NULL);
        memset(info, 0, sizeof(info));
        info[0] = 1; /* DMA_ADAPTER_INFO_VERSION1 */
        CHECK_STATUS(ops->GetDmaAdapterInfo(adapter, info), XC_STATUS_SUCCESS);
        /* ScatterGatherLimit, DmaAddressWidth (a 64-bit bus master). */
        CHECK(info[2] >= 1 && info[3] == 64);
    }
    ops->PutDmaAdapter(adapter);
}

/* The DMA adapters the PDO's BUS_INTERFACE_STANDARD (`bus`, referenced) gives, for description
   versions 0, 2 and 3. A section of its own, inside QUERY's (whose counts it leaves alone). */
static void check_dma(struct xc_bus_interface *bus)
{
    const char *outer = section;
    unsigned outer_passed = section_passed, outer_failed = section_failed;
    static const uint32_t versions[] = {0, 2, 3};
    uint8_t *buffer;
    void *mdl;

    if (env->device == NULL || env->set_current_irp == NULL || env->raise_to_dispatch == NULL ||
        env->lower_irql == NULL || env->irql == NULL || env->physical_address == NULL ||
        env->alloc_contiguous == NULL || env->free_contiguous == NULL ||
        env->build_mdl == NULL || env->free_mdl == NULL) {
        skip("DMA");
        return;
    }
    begin("DMA");
    /* Two pages' worth of a three-page buffer, starting inside the first page. */
    buffer = env->alloc_contiguous(env->context, 3 * XC_PAGE_SIZE);
    CHECK(buffer != NULL);
    if (buffer != NULL) {
        mdl = env->build_mdl(env->context, buffer + 0x80, 2 * XC_PAGE_SIZE);
        CHECK(mdl != NULL);
        if (mdl != NULL) {
            for (unsigned i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
                check_dma_adapter(bus, versions[i], mdl, buffer + 0x80, 2 * XC_PAGE_SIZE);
            env->free_mdl(env->context, mdl);
        }
        env->free_contiguous(env->context, buffer);
    }
    end();
    section = outer;
    section_passed = outer_passed;
    section_failed = outer_failed;
}

/* ------------------------------------------------------------------------------------ */
/* Queries                                                                              */

struct served {
    const char *section;
    const GUID *guid;
    USHORT min;
    USHORT max;
    USHORT sizes[6];
};

static const struct served SERVED[] = {
    { "QUERY SUSPEND", &GUID_XENBUS_SUSPEND_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_SUSPEND_INTERFACE_V1) } },
    { "QUERY SHARED_INFO", &GUID_XENBUS_SHARED_INFO_INTERFACE, 2, 4,
      { sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V2),
        sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V3),
        sizeof(struct _XENBUS_SHARED_INFO_INTERFACE_V4) } },
    { "QUERY EVTCHN", &GUID_XENBUS_EVTCHN_INTERFACE, 5, 9,
      { sizeof(struct _XENBUS_EVTCHN_INTERFACE_V5), sizeof(struct _XENBUS_EVTCHN_INTERFACE_V6),
        sizeof(struct _XENBUS_EVTCHN_INTERFACE_V7), sizeof(struct _XENBUS_EVTCHN_INTERFACE_V8),
        sizeof(struct _XENBUS_EVTCHN_INTERFACE_V9) } },
    { "QUERY DEBUG", &GUID_XENBUS_DEBUG_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_DEBUG_INTERFACE_V1) } },
    { "QUERY STORE", &GUID_XENBUS_STORE_INTERFACE, 2, 2,
      { sizeof(struct _XENBUS_STORE_INTERFACE_V2) } },
    { "QUERY RANGE_SET", &GUID_XENBUS_RANGE_SET_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_RANGE_SET_INTERFACE_V1) } },
    { "QUERY CACHE", &GUID_XENBUS_CACHE_INTERFACE, 1, 2,
      { sizeof(struct _XENBUS_CACHE_INTERFACE_V1), sizeof(struct _XENBUS_CACHE_INTERFACE_V2) } },
    { "QUERY GNTTAB", &GUID_XENBUS_GNTTAB_INTERFACE, 2, 4,
      { sizeof(struct _XENBUS_GNTTAB_INTERFACE_V2), sizeof(struct _XENBUS_GNTTAB_INTERFACE_V3),
        sizeof(struct _XENBUS_GNTTAB_INTERFACE_V4) } },
    { "QUERY UNPLUG", &GUID_XENBUS_UNPLUG_INTERFACE, 1, 3,
      { sizeof(struct _XENBUS_UNPLUG_INTERFACE_V1), sizeof(struct _XENBUS_UNPLUG_INTERFACE_V2),
        sizeof(struct _XENBUS_UNPLUG_INTERFACE_V3) } },
    { "QUERY CONSOLE", &GUID_XENBUS_CONSOLE_INTERFACE, 1, 1,
      { sizeof(struct _XENBUS_CONSOLE_INTERFACE_V1) } },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int all_bytes(const unsigned char *bytes, size_t from, size_t to, unsigned char value)
{
    int same = 1;
    for (size_t off = from; off < to; off++)
        same &= bytes[off] == value;
    return same;
}

static void check_queries(void)
{
    unsigned char buffer[512];
    PINTERFACE header = (PINTERFACE)buffer;
    NTSTATUS status;

    for (size_t i = 0; i < COUNT(SERVED); i++) {
        const struct served *s = &SERVED[i];
        PVOID context = NULL;

        begin(s->section);

        for (USHORT v = s->min; v <= s->max; v++) {
            USHORT size = s->sizes[v - s->min];

            memset(buffer, 0xA5, sizeof(buffer));
            CHECK_STATUS(query(s->guid, v, sizeof(buffer), buffer), XC_STATUS_SUCCESS);
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
            CHECK(all_bytes(buffer, size, sizeof(buffer), 0xA5));
            /* One context per interface, the same for every version. */
            if (context == NULL)
                context = header->Context;
            CHECK(header->Context == context);

            /* A buffer one byte short: STATUS_BUFFER_OVERFLOW, nothing written. */
            memset(buffer, 0, sizeof(buffer));
            CHECK_STATUS(query(s->guid, v, (USHORT)(size - 1), buffer),
                         XC_STATUS_BUFFER_OVERFLOW);
            CHECK(all_bytes(buffer, 0, sizeof(buffer), 0));
        }
        /* Versions outside MIN..MAX. */
        CHECK_STATUS(query(s->guid, (USHORT)(s->min - 1), sizeof(buffer), buffer),
                     XC_STATUS_NOT_SUPPORTED);
        CHECK_STATUS(query(s->guid, (USHORT)(s->max + 1), sizeof(buffer), buffer),
                     XC_STATUS_NOT_SUPPORTED);
        CHECK_STATUS(query(s->guid, 0xFFFF, sizeof(buffer), buffer), XC_STATUS_NOT_SUPPORTED);
        end();
    }

    begin("QUERY");

    /* HOST_ONLY: an IRP another driver already answered keeps its status and the buffer (a
       driver must send PnP IRPs with STATUS_NOT_SUPPORTED, so only the host can pose this). */
    int outcome = -1;
    if (host != NULL) {
        memset(buffer, 0, sizeof(buffer));
        CHECK_STATUS(host->query_interface_ex(&GUID_XENBUS_STORE_INTERFACE, 2, sizeof(buffer),
                                              buffer, XC_STATUS_SUCCESS, &outcome),
                     XC_STATUS_SUCCESS);
        CHECK(outcome == XC_QUERY_COMPLETED);
        CHECK(header->Size == 0);
        CHECK_STATUS(host->query_interface_ex(&GUID_XENBUS_STORE_INTERFACE, 2, sizeof(buffer),
                                              buffer, XC_STATUS_UNSUCCESSFUL, &outcome),
                     XC_STATUS_UNSUCCESSFUL);
        CHECK(header->Size == 0);
    }

    /* Unknown GUID, BALLOON (internal), BUS_INTERFACE_STANDARD, EMULATED. */
    CHECK_STATUS(query(&XC_GUID_UNKNOWN_INTERFACE, 1, sizeof(buffer), buffer),
                 XC_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(query(&GUID_XENBUS_BALLOON_INTERFACE, 1, sizeof(buffer), buffer),
                 XC_STATUS_NOT_SUPPORTED);
    CHECK_STATUS(query(&XC_GUID_BUS_INTERFACE_STANDARD, 1, XC_BUS_INTERFACE_SIZE - 1, buffer),
                 XC_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(query(&XC_GUID_BUS_INTERFACE_STANDARD, 2, XC_BUS_INTERFACE_SIZE, buffer),
                 XC_STATUS_NOT_SUPPORTED);
    /* Version 1: the PDO hands out the bus interface below the FDO, referenced, if there is
       one (on Windows, PCI's); the host has none and the IRP keeps its status. */
    memset(buffer, 0, sizeof(buffer));
    status = query(&XC_GUID_BUS_INTERFACE_STANDARD, 1, XC_BUS_INTERFACE_SIZE, buffer);
    if (status == XC_STATUS_SUCCESS) {
        struct xc_bus_interface *bus = (struct xc_bus_interface *)buffer;

        CHECK(header->Size == XC_BUS_INTERFACE_SIZE);
        CHECK(bus->Version == 1);
        CHECK(bus->Context != NULL && bus->InterfaceReference != NULL &&
              bus->InterfaceDereference != NULL && bus->TranslateBusAddress != NULL &&
              bus->GetDmaAdapter != NULL && bus->SetBusData != NULL && bus->GetBusData != NULL);
        if (bus->GetBusData != NULL && bus->GetDmaAdapter != NULL &&
            bus->TranslateBusAddress != NULL && bus->InterfaceReference != NULL &&
            bus->InterfaceDereference != NULL) {
            uint8_t config[4] = {0, 0, 0, 0};
            struct xc_device_description description;
            uint32_t registers = 0, space = 0;
            int64_t translated = 0;
            void *adapter;

            /* Configuration space is the platform device's: the Xen platform PCI device, 'XS'
               (0x5853). */
            CHECK(bus->GetBusData(bus->Context, XC_PCI_WHICHSPACE_CONFIG, config, 0, 4) == 4);
            CHECK(config[0] == 0x53 && config[1] == 0x58);
            /* Translation is the platform device's bus's (memory space: the same address). */
            CHECK(bus->TranslateBusAddress(bus->Context, 0xF1000000, 16, &space, &translated) ==
                  1);
            CHECK(translated == 0xF1000000);
            /* A DMA adapter is asked of the platform device's bus for PCIBus, whatever the
               child said (upstream's DmaGetAdapter changes the caller's description). */
            memset(&description, 0, sizeof(description));
            description.Master = 1;
            description.ScatterGather = 1;
            description.Dma64BitAddresses = 1;
            description.InterfaceType = XC_INTERNAL;
            description.MaximumLength = 0x10000;
            adapter = bus->GetDmaAdapter(bus->Context, &description, &registers);
            CHECK(description.InterfaceType == XC_PCI_BUS);
            if (adapter != NULL) {
                struct xc_dma_adapter *dma = (struct xc_dma_adapter *)adapter;

                if (dma->DmaOperations != NULL && dma->DmaOperations->PutDmaAdapter != NULL)
                    dma->DmaOperations->PutDmaAdapter(adapter);
                /* The bus gives adapters: use them (a section of its own). */
                check_dma(bus);
            }
            /* The interface counts its own references. */
            bus->InterfaceReference(bus->Context);
            bus->InterfaceDereference(bus->Context);
        }
        if (header->InterfaceDereference != NULL)
            header->InterfaceDereference(header->Context);
    } else {
        CHECK_STATUS(status, XC_STATUS_NOT_SUPPORTED);
    }
    /* HOST_ONLY: how the PDO answered. */
    if (host != NULL) {
        (void)host->query_interface_ex(&XC_GUID_BUS_INTERFACE_STANDARD, 1,
                                       XC_BUS_INTERFACE_SIZE, buffer, XC_STATUS_NOT_SUPPORTED,
                                       &outcome);
        CHECK(outcome == XC_QUERY_BUS_INTERFACE);
    }
    /* XENFILT's EMULATED goes to the FDO's stack: answered there (xenfilt) or not at all. */
    status = query(&GUID_XENFILT_EMULATED_INTERFACE, 3, sizeof(buffer), buffer);
    CHECK(status == XC_STATUS_SUCCESS || status == XC_STATUS_NOT_SUPPORTED);
    /* With xenfilt below the FDO, the table is xenfilt's: used as xenvbd uses it, and the
       emulated disks it knows printed for whoever runs the checks to compare. */
    if (status == XC_STATUS_SUCCESS) {
        struct _XENFILT_EMULATED_INTERFACE_V3 *em = (struct _XENFILT_EMULATED_INTERFACE_V3 *)buffer;
        XENBUS_EMULATED_ACTIVATION_STATUS forced = XENBUS_EMULATED_FORCE_DEACTIVATED;

        CHECK(em->Interface.Version == 3);
        CHECK(em->Interface.Size == sizeof(*em));
        CHECK_STATUS(XENFILT_EMULATED(Acquire, em), XC_STATUS_SUCCESS);
        /* No device is force-activated without a precedence table. */
        CHECK(!XENFILT_EMULATED(IsDevicePresent, em, NULL, NULL, &forced));
        CHECK(forced == XENBUS_EMULATED_ACTIVATE_NEUTRAL);
        env->print(env->context, "EMULATED disks: %d %d %d %d",
                   XENFILT_EMULATED(IsDiskPresent, em, 0) ? 1 : 0,
                   XENFILT_EMULATED(IsDiskPresent, em, 1) ? 1 : 0,
                   XENFILT_EMULATED(IsDiskPresent, em, 2) ? 1 : 0,
                   XENFILT_EMULATED(IsDiskPresent, em, 3) ? 1 : 0);
        XENFILT_EMULATED(Release, em);
    }
    /* HOST_ONLY: how the PDO answered. */
    if (host != NULL) {
        (void)host->query_interface_ex(&GUID_XENFILT_EMULATED_INTERFACE, 3, sizeof(buffer),
                                       buffer, XC_STATUS_NOT_SUPPORTED, &outcome);
        CHECK(outcome == XC_QUERY_DELEGATED);
    }
    end();
}

/* ------------------------------------------------------------------------------------ */
/* STORE                                                                                */

/* The decimal number `text` (at most 5 digits), or -1. */
static int parse_domid(const char *text)
{
    int value = 0;
    size_t digits = 0;

    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9' || ++digits > 5)
            return -1;
        value = value * 10 + (*text - '0');
    }
    return digits == 0 ? -1 : value;
}

/* Polls the store (as a child may when interrupts are off) until `event` is set, ~2 s. */
static int watch_fires(struct _XENBUS_STORE_INTERFACE_V2 *store, PKEVENT event)
{
    for (int i = 0; i < 2000; i++) {
        if (env->event_is_set(env->context, event))
            return 1;
        CALL0(store, StorePoll);
        env->sleep_ms(env->context, 1);
    }
    return env->event_is_set(env->context, event);
}

static void check_store(void)
{
    struct _XENBUS_STORE_INTERFACE_V2 store;
    const GUID *guid = &GUID_XENBUS_STORE_INTERFACE;
    char *value = NULL;

    begin("STORE");
    if (!wired(guid)) {
        skip("STORE (no xenstored)");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_STORE_INTERFACE, 2, store));
    /* The FDO's composition holds its own reference on STORE. */
    int base = HOST_VALUE(subsystem_references(guid), 0);
    HOST_ONLY_CHECK(base >= 1);

    CHECK_STATUS(CALL0(&store, StoreAcquire), XC_STATUS_SUCCESS);
    CHECK_STATUS(CALL0(&store, StoreAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->references(guid) == 2);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 2);

    /* Our domain ID, as the toolstack wrote it under our home. */
    int read_domid = -1;
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, NULL, "domid", &value), XC_STATUS_SUCCESS);
    if (value != NULL) {
        read_domid = parse_domid(value);
        XENBUS_STORE(Free, &store, value);
        value = NULL;
    }
    CHECK(read_domid >= 0 && (env->domid < 0 || read_domid == env->domid));
    if (read_domid >= 0)
        domid = read_domid;

    /* Printf through the variadic thunk, with many conversions. */
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "foo",
                              "%s-%d-%u-%x-%08X-%c-%%-%lld-%p-%5.2s|%-4d|",
                              "abc", -42, 42u, 0xbeefu, 0xBEEFu, 'z', (long long)-5,
                              (void *)0x1234, "xyz", 7),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "foo", &value), XC_STATUS_SUCCESS);
    CHECK(value != NULL &&
          strcmp(value, "abc--42-42-beef-0000BEEF-z-%--5-0000000000001234-   xy|7   |") == 0);
    if (value != NULL) {
        env->print(env->context, "StorePrintf wrote: %s", value);
        XENBUS_STORE(Free, &store, value);
    }
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, NULL, "data/bar", "%lu/%llu", 7ul,
                              18446744073709551615ull),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, NULL, "data/bar", &value), XC_STATUS_SUCCESS);
    /* %lu is 32-bit (LLP64), as on Windows. */
    CHECK(value != NULL && strcmp(value, "7/18446744073709551615") == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);
    /* A bad format writes nothing. */
    CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "bad", "%q", 1),
                 XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "bad", &value),
                 XC_STATUS_OBJECT_NAME_NOT_FOUND);

    /* Directory: a NUL-separated, double-NUL-terminated list. */
    CHECK_STATUS(XENBUS_STORE(Directory, &store, NULL, NULL, "data", &value), XC_STATUS_SUCCESS);
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
                 XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "foo", NULL),
                 XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, (PXENBUS_STORE_TRANSACTION)0x40, "data", "foo",
                              &value),
                 XC_STATUS_INVALID_PARAMETER);
    XENBUS_STORE(Free, &store, (PSTR)"not a store buffer");
    CHECK_STATUS(store.StoreAcquire(NULL), XC_STATUS_INVALID_PARAMETER);

    /* Watches: signalled once at registration and on every change; the change comes from
       dom0 on the host (a HOST_ONLY power), from the child itself in a driver. */
    PKEVENT event = env->event(env->context, 0);
    PXENBUS_STORE_WATCH watch = NULL;
    const char *expected = host != NULL ? "dom0 was here" : "child was here";
    env->event_reset(env->context, event);
    CHECK_STATUS(XENBUS_STORE(WatchAdd, &store, "data", "watched", event, &watch),
                 XC_STATUS_SUCCESS);
    CHECK(watch_fires(&store, event));
    env->event_reset(env->context, event);
    if (host != NULL)
        CHECK_STATUS(host->dom0_write("/local/domain/1/data/watched", expected),
                     XC_STATUS_SUCCESS);
    else
        CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "watched", "%s", expected),
                     XC_STATUS_SUCCESS);
    CHECK(watch_fires(&store, event));
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "watched", &value), XC_STATUS_SUCCESS);
    CHECK(value != NULL && strcmp(value, expected) == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);

    /* Transactions: commit, abort, stale handle. */
    PXENBUS_STORE_TRANSACTION tx = NULL;
    NTSTATUS status;
    int attempts = 0;
    do {
        CHECK_STATUS(XENBUS_STORE(TransactionStart, &store, &tx), XC_STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Printf, &store, tx, "data", "txkey", "%s", "in-tx"),
                     XC_STATUS_SUCCESS);
        status = XENBUS_STORE(TransactionEnd, &store, tx, 1);
    } while (status == XC_STATUS_RETRY && ++attempts < 10);
    CHECK_STATUS(status, XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(TransactionEnd, &store, tx, 1), XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "txkey", &value), XC_STATUS_SUCCESS);
    CHECK(value != NULL && strcmp(value, "in-tx") == 0);
    if (value != NULL)
        XENBUS_STORE(Free, &store, value);
    CHECK_STATUS(XENBUS_STORE(TransactionStart, &store, &tx), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Printf, &store, tx, "data", "aborted", "%d", 1),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(TransactionEnd, &store, tx, 0), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "aborted", &value),
                 XC_STATUS_OBJECT_NAME_NOT_FOUND);

    /* Permissions (we stay the owner; dom0 may read and write) and Remove. */
    XENBUS_STORE_PERMISSION perms[2] = {
        { (USHORT)(domid < 0 ? 0 : domid), XENBUS_STORE_PERM_NONE },
        { 0, XENBUS_STORE_PERM_READ | XENBUS_STORE_PERM_WRITE },
    };
    CHECK_STATUS(XENBUS_STORE(PermissionsSet, &store, NULL, "data", "foo", perms, 2),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(PermissionsSet, &store, NULL, "data", "foo", NULL, 2),
                 XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_STORE(Remove, &store, NULL, "data", "bar"), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "bar", &value),
                 XC_STATUS_OBJECT_NAME_NOT_FOUND);

    CHECK_STATUS(XENBUS_STORE(WatchRemove, &store, watch), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(WatchRemove, &store, watch), XC_STATUS_INVALID_PARAMETER);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);

    CALL0(&store, StoreRelease);
    HOST_ONLY_CHECK(host->references(guid) == 1);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CALL0(&store, StoreRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    /* An unmatched Release changes nothing (it does not take the FDO's reference). */
    CALL0(&store, StoreRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
}

/* ------------------------------------------------------------------------------------ */
/* RANGE_SET                                                                            */

static void check_range_set(void)
{
    struct _XENBUS_RANGE_SET_INTERFACE_V1 rs;
    const GUID *guid = &GUID_XENBUS_RANGE_SET_INTERFACE;
    PXENBUS_RANGE_SET set = NULL;
    LONGLONG start = -1;

    begin("RANGE_SET");
    CHECK(QUERY(GUID_XENBUS_RANGE_SET_INTERFACE, 1, rs));
    int teardowns = HOST_VALUE(lifecycle_count(guid, 1), 0);
    CHECK_STATUS(CALL0(&rs, RangeSetAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->references(guid) == 1);
    CHECK_STATUS(XENBUS_RANGE_SET(Create, &rs, "child", &set), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 0, 100), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 50, 1), XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 10, &start), XC_STATUS_SUCCESS);
    CHECK(start == 0);
    CHECK_STATUS(XENBUS_RANGE_SET(Get, &rs, set, 50, 10), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_RANGE_SET(Get, &rs, set, 55, 1), XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 200, &start), XC_STATUS_INSUFFICIENT_RESOURCES);
    CHECK_STATUS(XENBUS_RANGE_SET(Pop, &rs, set, 40, &start), XC_STATUS_SUCCESS);
    CHECK(start == 10);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, -5, 0), XC_STATUS_INVALID_PARAMETER);
    HOST_ONLY_CHECK(host->outstanding(guid) == 1);
    XENBUS_RANGE_SET(Destroy, &rs, set);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    CHECK_STATUS(XENBUS_RANGE_SET(Put, &rs, set, 1, 1), XC_STATUS_INVALID_PARAMETER);
    CALL0(&rs, RangeSetRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->lifecycle_count(guid, 1) == teardowns + 1);
    end();
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

    begin("SHARED_INFO");
    if (!wired(guid)) {
        skip("SHARED_INFO");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_SHARED_INFO_INTERFACE, 4, si4));
    CHECK(QUERY(GUID_XENBUS_SHARED_INFO_INTERFACE, 2, si2));
    int base = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&si4, SharedInfoAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CHECK(XENBUS_SHARED_INFO(UpcallSupported, &si4, 0) == 1);
    /* No upcall for a processor beyond the last. */
    CHECK(XENBUS_SHARED_INFO(UpcallSupported, &si4, env->processors) == 0);
    /* HOST_ONLY: port 5 is a live channel on a real system, and EvtchnPoll would take its
       events; on the simulator nothing else owns them. */
    if (host != NULL) {
        XENBUS_SHARED_INFO(EvtchnMask, &si4, 5);
        XENBUS_SHARED_INFO(EvtchnAck, &si4, 5);
        CHECK(XENBUS_SHARED_INFO(EvtchnUnmask, &si4, 5) == 0);
    }
    /* Ports beyond the 2-level range are refused, not indexed. */
    CHECK(XENBUS_SHARED_INFO(EvtchnUnmask, &si4, 100000) == 0);
    (void)XENBUS_SHARED_INFO(UpcallPending, &si4, 0);
    /* HOST_ONLY (as above). */
    if (host != NULL) {
        int delivered = 0;
        CHECK(XENBUS_SHARED_INFO(EvtchnPoll, &si4, 0, count_port, &delivered) == 0);
        CHECK(delivered == 0);
    }
    LARGE_INTEGER now = { .QuadPart = 0 };
    BOOLEAN local = 2;
    XENBUS_SHARED_INFO(GetTime, &si4, &now, &local);
    CHECK(now.QuadPart >= epoch1970);
    CHECK(local == 0 || local == 1);
    /* The host composition keeps UTC. */
    HOST_ONLY_CHECK(local == 0);
    LARGE_INTEGER v2 = si2.SharedInfoGetTimeVersion2((PINTERFACE)&si2);
    CHECK(v2.QuadPart >= epoch1970);
    CALL0(&si4, SharedInfoRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
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

    begin("DEBUG");
    if (!wired(guid)) {
        skip("DEBUG");
        return;
    }
    debug_calls = 0;
    debug_crashing = 0;
    CHECK(QUERY(GUID_XENBUS_DEBUG_INTERFACE, 1, debug_iface));
    int base = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&debug_iface, DebugAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_DEBUG(Register, &debug_iface, "child", debug_callback, &one, &callback),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_DEBUG(Register, &debug_iface, "child", NULL, &one, &callback),
                 XC_STATUS_INVALID_PARAMETER);
    XENBUS_DEBUG(Trigger, &debug_iface, callback);
    CHECK(debug_calls == 1);
    CHECK(debug_crashing == 0);
    HOST_ONLY_CHECK(host->log_contains("child: answer=42 0000000000000ABC wide|"));
    XENBUS_DEBUG(Trigger, &debug_iface, NULL);
    CHECK(debug_calls == 2);
    /* Outside a callback the text is logged without a prefix. */
    XENBUS_DEBUG(Printf, &debug_iface, "outside %u", 7u);
    HOST_ONLY_CHECK(host->log_contains("outside 7"));
    HOST_ONLY_CHECK(host->outstanding(guid) == 1);
    XENBUS_DEBUG(Deregister, &debug_iface, callback);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    XENBUS_DEBUG(Trigger, &debug_iface, callback);
    CHECK(debug_calls == 2);
    CALL0(&debug_iface, DebugRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
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
    return XC_STATUS_SUCCESS;
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

    begin("CACHE");
    if (!wired(guid)) {
        skip("CACHE");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_CACHE_INTERFACE, 2, c2));
    CHECK(QUERY(GUID_XENBUS_CACHE_INTERFACE, 1, c1));
    int base = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&c2, CacheAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_CACHE(Create, &c2, "child_objects", 48, 2, 0, cache_ctor, cache_dtor,
                              cache_lock, cache_unlock, &state, &cache),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_CACHE(Create, &c2, "capped", 48, 4, 2, cache_ctor, cache_dtor,
                              cache_lock, cache_unlock, &state, &cache1),
                 XC_STATUS_INVALID_PARAMETER);
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
    HOST_ONLY_CHECK(host->outstanding(guid) == 1);
    XENBUS_CACHE(Put, &c2, cache, objects[0], 0);
    XENBUS_CACHE(Destroy, &c2, cache);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    CHECK(state.destroyed == state.constructed);
    CHECK(XENBUS_CACHE(Get, &c2, cache, 0) == NULL);
    /* Version 1's Create (no cap). */
    CHECK_STATUS(c1.CacheCreateVersion1((PINTERFACE)&c1, "v1_objects", 48, 1, cache_ctor,
                                        cache_dtor, cache_lock, cache_unlock, &state, &cache1),
                 XC_STATUS_SUCCESS);
    PVOID object = c1.CacheGet((PINTERFACE)&c1, cache1, 0);
    CHECK(object != NULL);
    c1.CachePut((PINTERFACE)&c1, cache1, object, 0);
    c1.CacheDestroy((PINTERFACE)&c1, cache1);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    CALL0(&c2, CacheRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
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

    begin("GNTTAB");
    if (!wired(guid)) {
        skip("GNTTAB");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_GNTTAB_INTERFACE, 4, g4));
    CHECK(QUERY(GUID_XENBUS_GNTTAB_INTERFACE, 2, g2));
    int base = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&g4, GnttabAcquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_GNTTAB(CreateCache, &g4, "child", 0, 0, no_lock, no_lock, NULL, &cache),
                 XC_STATUS_SUCCESS);
    /* dom0 may read our page 0x1000 (it never maps it), then the grant is revoked. */
    CHECK_STATUS(XENBUS_GNTTAB(PermitForeignAccess, &g4, cache, 0, 0, 0x1000, 1, &entry),
                 XC_STATUS_SUCCESS);
    ULONG ref = XENBUS_GNTTAB(GetReference, &g4, entry);
    CHECK(ref >= 32);
    CHECK_STATUS(XENBUS_GNTTAB(QueryReference, &g4, ref, &pfn, &ro), XC_STATUS_SUCCESS);
    CHECK(pfn == 0x1000);
    CHECK(ro == 1);
    CHECK_STATUS(XENBUS_GNTTAB(QueryReference, &g4, 0x7FFFFFF, &pfn, &ro),
                 XC_STATUS_INVALID_PARAMETER);
    HOST_ONLY_CHECK(host->outstanding(guid) == 2);
    CHECK_STATUS(XENBUS_GNTTAB(RevokeForeignAccess, &g4, cache, 0, entry), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_GNTTAB(RevokeForeignAccess, &g4, cache, 0, entry),
                 XC_STATUS_INVALID_PARAMETER);
    CHECK(XENBUS_GNTTAB(GetReference, &g4, entry) == 0);
    XENBUS_GNTTAB(DestroyCache, &g4, cache);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    /* Mapping no pages is refused. */
    ULONG none[1] = { 0 };
    PHYSICAL_ADDRESS address = { .QuadPart = 0 };
    CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, &g4, 0, 0, none, 0, &address),
                 XC_STATUS_INVALID_PARAMETER);
    /* HOST_ONLY: a page dom0 granted, mapped into a hole and unmapped. */
    if (host != NULL) {
        long long foreign = host->dom0_grant_page();
        CHECK(foreign >= 0);
        ULONG refs[1] = { (ULONG)foreign };
        CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, &g4, 0, 1, refs, 0, &address),
                     XC_STATUS_SUCCESS);
        CHECK(address.QuadPart != 0 && (address.QuadPart & 0xFFF) == 0);
        CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, &g4, 0, 0, refs, 0, &address),
                     XC_STATUS_INVALID_PARAMETER);
        CHECK_STATUS(XENBUS_GNTTAB(UnmapForeignPages, &g4, address), XC_STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_GNTTAB(UnmapForeignPages, &g4, address),
                     XC_STATUS_OBJECT_NAME_NOT_FOUND);
    }
    /* Version 2's CreateCache (no cap). */
    CHECK_STATUS(g2.GnttabCreateCacheVersion1((PINTERFACE)&g2, "child_v2", 1, no_lock, no_lock,
                                              NULL, &cache),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(g2.GnttabPermitForeignAccess((PINTERFACE)&g2, cache, 0, 0, 0x2000, 0, &entry),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(g2.GnttabRevokeForeignAccess((PINTERFACE)&g2, cache, 0, entry),
                 XC_STATUS_SUCCESS);
    g2.GnttabDestroyCache((PINTERFACE)&g2, cache);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    CALL0(&g4, GnttabRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
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

    begin("SUSPEND");
    if (!wired(guid)) {
        skip("SUSPEND");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_SUSPEND_INTERFACE, 1, su));
    int base = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&su, Acquire), XC_STATUS_SUCCESS);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base + 1);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_EARLY, suspend_callback, &early,
                                &early_cb),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_LATE, suspend_callback, &late,
                                &late_cb),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_SUSPEND(Register, &su, SUSPEND_CALLBACK_TYPE_INVALID, suspend_callback,
                                &late, &bad),
                 XC_STATUS_INVALID_PARAMETER);
    /* HOST_ONLY: the count is the number of suspends the domain completed, 0 in the host's
       fresh composition; a driver may start after save, restore or migration (the stand-in
       kernel checks the count against the suspends it saw). */
    HOST_ONLY_CHECK(CALL0(&su, GetCount) == 0);
    /* HOST_ONLY: Trigger really suspends the domain (on real Xen the toolstack would have to
       resume it); the simulator suspends and resumes. */
    if (host != NULL) {
        unsigned long long suspends = host->sim_suspends();
        CHECK_STATUS(CALL0(&su, Trigger), XC_STATUS_SUCCESS);
        CHECK(host->sim_suspends() == suspends + 1);
        CHECK(early == 1);
        CHECK(late == 1);
        CHECK(CALL0(&su, GetCount) == 1);
    }
    HOST_ONLY_CHECK(host->outstanding(guid) == 2);
    XENBUS_SUSPEND(Deregister, &su, early_cb);
    XENBUS_SUSPEND(Deregister, &su, late_cb);
    XENBUS_SUSPEND(Deregister, &su, late_cb);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    /* HOST_ONLY: the store still works after the resume (the composition re-opened its
       channel). */
    if (host != NULL && wired(&GUID_XENBUS_STORE_INTERFACE)) {
        struct _XENBUS_STORE_INTERFACE_V2 store;
        char *value = NULL;
        CHECK(QUERY(GUID_XENBUS_STORE_INTERFACE, 2, store));
        CHECK_STATUS(CALL0(&store, StoreAcquire), XC_STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Printf, &store, NULL, "data", "resumed", "%u", 1u),
                     XC_STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_STORE(Read, &store, NULL, "data", "resumed", &value),
                     XC_STATUS_SUCCESS);
        CHECK(value != NULL && strcmp(value, "1") == 0);
        if (value != NULL)
            XENBUS_STORE(Free, &store, value);
        CALL0(&store, StoreRelease);
    }
    CALL0(&su, Release);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == base);
    end();
}

/* ------------------------------------------------------------------------------------ */
/* UNPLUG                                                                               */

static void check_unplug(void)
{
    struct _XENBUS_UNPLUG_INTERFACE_V3 un;
    const GUID *guid = &GUID_XENBUS_UNPLUG_INTERFACE;

    begin("UNPLUG");
    if (!wired(guid)) {
        skip("UNPLUG");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_UNPLUG_INTERFACE, 3, un));
    CHECK_STATUS(CALL0(&un, UnplugAcquire), XC_STATUS_SUCCESS);
    XENBUS_UNPLUG(Request, &un, XENBUS_UNPLUG_DEVICE_TYPE_NICS, 1);
    HOST_ONLY_CHECK(host->log_contains("UNPLUG: NICS (MAKE)"));
    XENBUS_UNPLUG(Request, &un, XENBUS_UNPLUG_DEVICE_TYPE_INVALID, 1);
    CHECK(XENBUS_UNPLUG(IsRequested, &un, XENBUS_UNPLUG_DEVICE_TYPE_DISKS) == 0);
    CHECK(CALL0(&un, UnplugBootEmulated) == 0);
    /* The NIC request is a test's, not a driver's: taken back. */
    XENBUS_UNPLUG(Request, &un, XENBUS_UNPLUG_DEVICE_TYPE_NICS, 0);
    XENBUS_UNPLUG(Reboot, &un, "xenvif");
    HOST_ONLY_CHECK(host->registry_dword("SOFTWARE\\XenBusHost\\RequestReboot\\xenvif",
                                         "Reboot") == 1);
    CALL0(&un, UnplugRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == 0);
    end();
}

/* ------------------------------------------------------------------------------------ */
/* EVTCHN, CONSOLE                                                                      */

static BOOLEAN evtchn_callback(PKINTERRUPT interrupt, PVOID argument)
{
    (void)interrupt;
    __atomic_fetch_add((int *)argument, 1, __ATOMIC_SEQ_CST);
    return 1;
}

/* Whether an Open was refused; a channel opened against expectations is closed again. */
static int refused(struct _XENBUS_EVTCHN_INTERFACE_V9 *ev, PXENBUS_EVTCHN_CHANNEL channel)
{
    if (channel == NULL)
        return 1;
    XENBUS_EVTCHN(Close, ev, channel);
    return 0;
}

/* Both ends of a channel are ours (an UNBOUND port for our own domain, bound INTER_DOMAIN):
   each Send runs the other end's callback through the upcall. Needs our domain ID. */
static void check_evtchn_loopback(struct _XENBUS_EVTCHN_INTERFACE_V9 *ev)
{
    int fired_a = 0, fired_b = 0;

    if (domid < 0) {
        skip("EVTCHN loopback (no domain ID)");
        return;
    }
    PXENBUS_EVTCHN_CHANNEL a =
        XENBUS_EVTCHN(Open, ev, XENBUS_EVTCHN_TYPE_UNBOUND, evtchn_callback, &fired_a,
                      (USHORT)domid, (BOOLEAN)0);
    CHECK(a != NULL);
    if (a == NULL)
        return;
    ULONG port_a = XENBUS_EVTCHN(GetPort, ev, a);
    PXENBUS_EVTCHN_CHANNEL b =
        XENBUS_EVTCHN(Open, ev, XENBUS_EVTCHN_TYPE_INTER_DOMAIN, evtchn_callback, &fired_b,
                      (USHORT)domid, port_a, (BOOLEAN)0);
    CHECK(b != NULL);
    if (b != NULL) {
        CHECK(XENBUS_EVTCHN(GetPort, ev, b) != port_a);
        /* Channels open masked; the bind may leave an event pending on either end: let it
           land first. */
        (void)XENBUS_EVTCHN(Unmask, ev, a, 0, 0);
        (void)XENBUS_EVTCHN(Unmask, ev, b, 0, 0);
        env->sleep_ms(env->context, 10);
        env->flush_dpcs(env->context);
        int before_b = load(&fired_b);
        XENBUS_EVTCHN(Send, ev, a);
        CHECK(grows(&fired_b, before_b));
        int before_a = load(&fired_a);
        XENBUS_EVTCHN(Send, ev, b);
        CHECK(grows(&fired_a, before_a));
        XENBUS_EVTCHN(Close, ev, b);
    }
    XENBUS_EVTCHN(Close, ev, a);
    env->flush_dpcs(env->context);
}

static void check_evtchn(void)
{
    struct _XENBUS_EVTCHN_INTERFACE_V9 ev;
    struct _XENBUS_EVTCHN_INTERFACE_V8 ev8;
    struct _XENBUS_EVTCHN_INTERFACE_V5 ev5;
    const GUID *guid = &GUID_XENBUS_EVTCHN_INTERFACE;
    LARGE_INTEGER short_wait = { .QuadPart = -10000 }; /* 1 ms, relative */

    begin("EVTCHN");
    if (!wired(guid)) {
        /* The table is served; its methods fail cleanly until EVTCHN is wired. */
        CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 9, ev));
        CHECK_STATUS(CALL0(&ev, EvtchnAcquire), XC_STATUS_NOT_SUPPORTED);
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
    int channels = HOST_VALUE(subsystem_references(guid), 0);
    CHECK_STATUS(CALL0(&ev, EvtchnAcquire), XC_STATUS_SUCCESS);

    /* UNBOUND (auto-masked) for dom0. */
    int fired_unbound = 0;
    PXENBUS_EVTCHN_CHANNEL unbound =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, evtchn_callback, &fired_unbound,
                      (USHORT)0, (BOOLEAN)1);
    CHECK(unbound != NULL);
    ULONG port = XENBUS_EVTCHN(GetPort, &ev, unbound);
    CHECK(port != 0);
    /* Nothing arrives on a port nobody bound. */
    ULONG count = XENBUS_EVTCHN(GetCount, &ev, unbound);
    CHECK_STATUS(XENBUS_EVTCHN(Wait, &ev, unbound, count + 1, &short_wait), XC_STATUS_TIMEOUT);
    /* HOST_ONLY: dom0 binds to it; Send reaches dom0's end and dom0's notifications run the
       callback through the upcall. */
    long long remote = -1;
    if (host != NULL) {
        remote = host->dom0_bind(port);
        CHECK(remote > 0);
        (void)host->dom0_events((ULONG)remote);
        (void)XENBUS_EVTCHN(Unmask, &ev, unbound, 0, 0);
        XENBUS_EVTCHN(Send, &ev, unbound);
        CHECK(host->dom0_events((ULONG)remote) == 1);
        count = XENBUS_EVTCHN(GetCount, &ev, unbound);
        CHECK(host->dom0_send((ULONG)remote) == 0);
        CHECK(reaches(&fired_unbound, 1));
        CHECK(XENBUS_EVTCHN(GetCount, &ev, unbound) == count + 1);
        CHECK_STATUS(XENBUS_EVTCHN(Wait, &ev, unbound, count + 1, &short_wait),
                     XC_STATUS_SUCCESS);
        CHECK_STATUS(XENBUS_EVTCHN(Wait, &ev, unbound, count + 2, &short_wait),
                     XC_STATUS_TIMEOUT);
        /* Auto-masked: the next notification waits for Unmask, which reports it pending. */
        CHECK(host->dom0_send((ULONG)remote) == 0);
        CHECK(fired_unbound == 1);
        CHECK(XENBUS_EVTCHN(Unmask, &ev, unbound, 0, 0) == 1);
    } else {
        /* An unbound port takes a Send and drops it. */
        XENBUS_EVTCHN(Send, &ev, unbound);
    }
    /* Trigger runs the callback from the owning CPU's DPC. */
    int before = load(&fired_unbound);
    XENBUS_EVTCHN(Trigger, &ev, unbound);
    env->flush_dpcs(env->context);
    CHECK(load(&fired_unbound) == before + 1);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 0, 0), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 0, 9), XC_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(XENBUS_EVTCHN(Bind, &ev, unbound, 1, 0), XC_STATUS_INVALID_PARAMETER);
    /* Version 5's slots on the same channel. */
    ev5.EvtchnSendVersion1((PINTERFACE)&ev5, unbound);
    HOST_ONLY_CHECK(host->dom0_events((ULONG)remote) == 1);
    ev5.EvtchnUnmaskVersion4((PINTERFACE)&ev5, unbound, 0);
    CHECK_STATUS(ev5.EvtchnWaitVersion5((PINTERFACE)&ev5, unbound, &short_wait),
                 XC_STATUS_TIMEOUT);

    /* HOST_ONLY: INTER_DOMAIN to a port dom0 allocated (not auto-masked). */
    int fired_inter = 0;
    PXENBUS_EVTCHN_CHANNEL inter = NULL;
    if (host != NULL) {
        long long dom0_port = host->dom0_allocate_unbound();
        CHECK(dom0_port > 0);
        inter = XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_INTER_DOMAIN, evtchn_callback,
                              &fired_inter, (USHORT)0, (ULONG)dom0_port, (BOOLEAN)0);
        CHECK(inter != NULL);
        CHECK(XENBUS_EVTCHN(GetPort, &ev, inter) != 0);
        (void)XENBUS_EVTCHN(Unmask, &ev, inter, 0, 0);
        int inter_before = fired_inter;
        CHECK(host->dom0_send((ULONG)dom0_port) == 0);
        CHECK(reaches(&fired_inter, inter_before + 1));
        CHECK(host->dom0_send((ULONG)dom0_port) == 0);
        CHECK(reaches(&fired_inter, inter_before + 2));
        (void)host->dom0_events((ULONG)dom0_port);
        XENBUS_EVTCHN(Send, &ev, inter);
        CHECK(host->dom0_events((ULONG)dom0_port) == 1);
    }
    /* INTER_DOMAIN with both ends ours. */
    check_evtchn_loopback(&ev);

    /* HOST_ONLY: FIXED, a port bound outside EVTCHN (as the toolstack binds the store's),
       then bound by dom0 and notified. */
    int fired_fixed = 0;
    PXENBUS_EVTCHN_CHANNEL fixed = NULL;
    if (host != NULL) {
        ULONG toolstack = host->toolstack_port();
        CHECK(toolstack != 0);
        fixed = XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_FIXED, evtchn_callback,
                              &fired_fixed, toolstack, (BOOLEAN)0);
        CHECK(fixed != NULL);
        CHECK(XENBUS_EVTCHN(GetPort, &ev, fixed) == toolstack);
        (void)XENBUS_EVTCHN(Unmask, &ev, fixed, 0, 0);
        long long fixed_remote = host->dom0_bind(toolstack);
        CHECK(fixed_remote > 0);
        int fixed_before = fired_fixed;
        CHECK(host->dom0_send((ULONG)fixed_remote) == 0);
        CHECK(reaches(&fired_fixed, fixed_before + 1));
        /* A port EVTCHN already holds cannot be opened twice. */
        CHECK(refused(&ev, XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_FIXED, evtchn_callback,
                                         &fired_fixed, toolstack, (BOOLEAN)0)));
    }
    /* Nor can the port of our own UNBOUND channel. */
    CHECK(refused(&ev, XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_FIXED, evtchn_callback,
                                     &fired_fixed, port, (BOOLEAN)0)));

    /* VIRQ: v9 takes Group and Number, v8 only the index. Not VIRQ_TIMER: with the domain
       watchdog on (XEN:WATCHDOG) the FDO holds it on every processor. */
    int fired_virq = 0;
    PXENBUS_EVTCHN_CHANNEL virq9 =
        XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback, &fired_virq,
                      (ULONG)13 /* VIRQ_XENPMU */, (USHORT)0, (UCHAR)0);
    CHECK(virq9 != NULL);
    /* VIRQ_DEBUG is held by the FDO itself (a second bind is refused), so use XENOPROF. */
    CHECK(refused(&ev, ev8.EvtchnOpen((PINTERFACE)&ev8, XENBUS_EVTCHN_TYPE_VIRQ,
                                      evtchn_callback, &fired_virq, (ULONG)1 /* VIRQ_DEBUG */)));
    PXENBUS_EVTCHN_CHANNEL virq8 =
        ev8.EvtchnOpen((PINTERFACE)&ev8, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback, &fired_virq,
                       (ULONG)7 /* VIRQ_XENOPROF */);
    CHECK(virq8 != NULL);
    CHECK(virq8 != NULL && XENBUS_EVTCHN(GetPort, &ev, virq8) != 0);
    CHECK(refused(&ev, XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_VIRQ, evtchn_callback,
                                     &fired_virq, (ULONG)3, (USHORT)1, (UCHAR)0)));

    /* Bad opens answer NULL. */
    CHECK(refused(&ev, XENBUS_EVTCHN(Open, &ev, (XENBUS_EVTCHN_TYPE)9, evtchn_callback,
                                     &fired_virq, 1, 2, 3)));
    CHECK(refused(&ev, XENBUS_EVTCHN(Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, NULL, &fired_virq,
                                     0, 1)));

    HOST_ONLY_CHECK(host->outstanding(guid) == 5);
    PXENBUS_EVTCHN_CHANNEL open[] = { unbound, inter, fixed, virq9, virq8 };
    for (size_t i = 0; i < COUNT(open); i++) {
        if (open[i] != NULL)
            XENBUS_EVTCHN(Close, &ev, open[i]);
    }
    /* A second Close of the same channel is ignored; the handle answers no port. */
    XENBUS_EVTCHN(Close, &ev, unbound);
    CHECK(XENBUS_EVTCHN(GetPort, &ev, unbound) == 0);
    env->flush_dpcs(env->context);
    HOST_ONLY_CHECK(host->outstanding(guid) == 0);
    HOST_ONLY_CHECK(host->subsystem_references(guid) == channels);
    CALL0(&ev, EvtchnRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    end();
}

static void check_console(void)
{
    struct _XENBUS_CONSOLE_INTERFACE_V1 co;
    const GUID *guid = &GUID_XENBUS_CONSOLE_INTERFACE;
    PKEVENT event = env->event(env->context, 1);
    PXENBUS_CONSOLE_WAKEUP wakeup = NULL;
    char text[64];

    begin("CONSOLE");
    CHECK(QUERY(GUID_XENBUS_CONSOLE_INTERFACE, 1, co));
    if (!wired(guid)) {
        CHECK_STATUS(CALL0(&co, ConsoleAcquire), XC_STATUS_NOT_SUPPORTED);
        CHECK(XENBUS_CONSOLE(Write, &co, "hello", 5) == 0);
        skip("CONSOLE (not wired on the host)");
        return;
    }
    CHECK_STATUS(CALL0(&co, ConsoleAcquire), XC_STATUS_SUCCESS);
    CHECK(CALL0(&co, ConsoleCanWrite) == 1);
    CHECK(XENBUS_CONSOLE(Write, &co, "hello from the child\n", 21) == 21);
    CHECK(XENBUS_CONSOLE(Write, &co, NULL, 5) == 0);
    /* HOST_ONLY: what the console backend received. */
    if (host != NULL) {
        for (int i = 0; i < 1000 && !host->console_output_contains("hello from the child"); i++)
            env->sleep_ms(env->context, 1);
        CHECK(host->console_output_contains("hello from the child"));
    }
    env->event_reset(env->context, event);
    CHECK_STATUS(XENBUS_CONSOLE(WakeupAdd, &co, event, &wakeup), XC_STATUS_SUCCESS);
    CHECK(CALL0(&co, ConsoleCanRead) == 0);
    /* HOST_ONLY: the console backend types into our ring. */
    if (host != NULL) {
        CHECK(host->console_input("typed") == 5);
        env->flush_dpcs(env->context);
        CHECK(env->event_is_set(env->context, event));
        CHECK(CALL0(&co, ConsoleCanRead) == 1);
        memset(text, 0, sizeof(text));
        CHECK(XENBUS_CONSOLE(Read, &co, text, sizeof(text) - 1) == 5);
        CHECK(strcmp(text, "typed") == 0);
        CHECK(CALL0(&co, ConsoleCanRead) == 0);
    }
    XENBUS_CONSOLE(WakeupRemove, &co, wakeup);
    XENBUS_CONSOLE(WakeupRemove, &co, wakeup);
    CALL0(&co, ConsoleRelease);
    HOST_ONLY_CHECK(host->references(guid) == 0);
    end();
}

/* ------------------------------------------------------------------------------------ */
/* PEER: a real backend in dom0                                                         */

/* The round of crates/xen-pvh-test/dom0/xtk-peer.c (its header has the exchange), driven
   through the interfaces a PV frontend uses: dom0 asks for it by writing the round's name to
   data/xenchild-peer (the first run to see it takes it), and runs the peer for that name. */

#define XC_PAGE 4096u
#define XC_HALF 2048u

/* The byte patterns of the exchange (the peer computes the same ones). */
static unsigned char peer_pattern(char which, unsigned i)
{
    switch (which) {
    case 'A': return (unsigned char)(i * 7 % 251);
    case 'B': return (unsigned char)(i * 11 % 253 + 1);
    case 'C': return (unsigned char)(i * 13 % 241 + 2);
    default: return (unsigned char)(i * 17 % 239 + 3);
    }
}

/* Whether [from, to) of `page` holds `which`. */
static int peer_holds(const volatile unsigned char *page, char which, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        if (page[i] != peer_pattern(which, i))
            return 0;
    return 1;
}

/* Whether the callback counter reaches `want` within about `seconds` s (dom0's peer polls the
   store through xenstore-read, which takes its time under emulation). */
static int peer_event(int *counter, int want, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        if (load(counter) >= want)
            return 1;
        env->sleep_ms(env->context, 10);
    }
    return 0;
}

/* The value of `dir`/`node`, polled for up to `seconds` s (free it with StoreFree), or NULL. */
static char *peer_read(struct _XENBUS_STORE_INTERFACE_V2 *store, const char *dir,
                       const char *node, int seconds)
{
    char *value = NULL;

    for (int i = 0; i < seconds * 10; i++) {
        if (XENBUS_STORE(Read, store, NULL, (char *)dir, (char *)node, &value) ==
                XC_STATUS_SUCCESS &&
            value != NULL)
            return value;
        env->sleep_ms(env->context, 100);
    }
    return NULL;
}

/* The decimal number `text`, or -1. */
static long long peer_number(const char *text)
{
    long long value = 0;
    size_t digits = 0;

    for (; text != NULL && *text != '\0'; text++) {
        if (*text < '0' || *text > '9' || ++digits > 9)
            return -1;
        value = value * 10 + (*text - '0');
    }
    return digits == 0 ? -1 : value;
}

/* Copies the round's name `name` into data/<name> (`dir`, `size` bytes): letters, digits and
   '-' only, at most 32 of them. */
static int peer_dir(const char *name, char *dir, size_t size)
{
    size_t n = 0;
    const char *head = "data/";

    while (head[n] != '\0' && n + 1 < size) {
        dir[n] = head[n];
        n++;
    }
    for (size_t i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-';
        if (!ok || i >= 32 || n + 1 >= size)
            return 0;
        dir[n++] = c;
    }
    dir[n] = '\0';
    return n > 5;
}

/* Our half of the exchange once the page, the grant and the channel exist: whether the grant
   was revoked at its end. */
static int peer_exchange(struct _XENBUS_STORE_INTERFACE_V2 *store,
                          struct _XENBUS_GNTTAB_INTERFACE_V4 *g, PXENBUS_GNTTAB_CACHE cache,
                          PXENBUS_GNTTAB_ENTRY entry, struct _XENBUS_EVTCHN_INTERFACE_V9 *ev,
                          PXENBUS_EVTCHN_CHANNEL channel, int *fired,
                          volatile unsigned char *page, const char *dir)
{
    ULONG ref = XENBUS_GNTTAB(GetReference, g, entry);
    ULONG port = XENBUS_EVTCHN(GetPort, ev, channel);
    PHYSICAL_ADDRESS address = { .QuadPart = 0 };
    char *value;

    CHECK_STATUS(XENBUS_STORE(Printf, store, NULL, (char *)dir, "gref", "%u", (unsigned)ref),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Printf, store, NULL, (char *)dir, "port", "%u", (unsigned)port),
                 XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_STORE(Printf, store, NULL, (char *)dir, "go", "1"), XC_STATUS_SUCCESS);
    /* dom0 bound our port, mapped our grant, wrote B, granted its page and notified. */
    value = peer_read(store, dir, "dom0-gref", 120);
    long long dom0_ref = peer_number(value);
    if (value != NULL)
        XENBUS_STORE(Free, store, value);
    CHECK(dom0_ref >= 0);
    CHECK(peer_event(fired, 1, 60));
    if (dom0_ref < 0 || load(fired) < 1)
        return 0;
    CHECK(peer_holds(page, 'A', 0, XC_HALF));
    CHECK(peer_holds(page, 'B', XC_HALF, XC_PAGE));
    /* dom0 maps our grant: it cannot be revoked yet. */
    CHECK(XENBUS_GNTTAB(RevokeForeignAccess, g, cache, 0, entry) != XC_STATUS_SUCCESS);
    /* dom0's page, mapped: C below, D written above. */
    ULONG refs[1] = { (ULONG)dom0_ref };
    CHECK_STATUS(XENBUS_GNTTAB(MapForeignPages, g, 0, 1, refs, 0, &address), XC_STATUS_SUCCESS);
    volatile unsigned char *foreign =
        address.QuadPart != 0 ? env->map_physical(env->context, address) : NULL;
    CHECK(foreign != NULL);
    if (foreign != NULL) {
        CHECK(peer_holds(foreign, 'C', 0, XC_HALF));
        for (unsigned i = XC_HALF; i < XC_PAGE; i++)
            foreign[i] = peer_pattern('D', i);
        env->unmap_physical(env->context, (void *)foreign);
    }
    XENBUS_EVTCHN(Send, ev, channel);
    /* dom0 checked D, unmapped our grant and notified again. */
    value = peer_read(store, dir, "unmapped", 120);
    CHECK(value != NULL);
    if (value != NULL)
        XENBUS_STORE(Free, store, value);
    CHECK(peer_event(fired, 2, 60));
    NTSTATUS revoked = XENBUS_GNTTAB(RevokeForeignAccess, g, cache, 0, entry);
    CHECK_STATUS(revoked, XC_STATUS_SUCCESS);
    if (address.QuadPart != 0)
        CHECK_STATUS(XENBUS_GNTTAB(UnmapForeignPages, g, address), XC_STATUS_SUCCESS);
    XENBUS_EVTCHN(Send, ev, channel);
    if (revoked != XC_STATUS_SUCCESS)
        return 0;
    env->print(env->context, "PEER round %s: done (gref %u, port %u, dom0 gref %u)", dir + 5,
               (unsigned)ref, (unsigned)port, (unsigned)dom0_ref);
    return 1;
}

static void check_peer(void)
{
    struct _XENBUS_STORE_INTERFACE_V2 store;
    struct _XENBUS_GNTTAB_INTERFACE_V4 g;
    struct _XENBUS_EVTCHN_INTERFACE_V9 ev;
    PXENBUS_GNTTAB_CACHE cache = NULL;
    PXENBUS_GNTTAB_ENTRY entry = NULL;
    PFN_NUMBER pfn = 0;
    char dir[48];
    char *name = NULL;
    int fired = 0;

    begin("PEER");
    if (env->alloc_page == NULL || !wired(&GUID_XENBUS_STORE_INTERFACE) ||
        !wired(&GUID_XENBUS_EVTCHN_INTERFACE)) {
        skip("PEER (no dom0 backend here)");
        return;
    }
    CHECK(QUERY(GUID_XENBUS_STORE_INTERFACE, 2, store));
    CHECK_STATUS(CALL0(&store, StoreAcquire), XC_STATUS_SUCCESS);
    if (XENBUS_STORE(Read, &store, NULL, "data", "xenchild-peer", &name) != XC_STATUS_SUCCESS ||
        name == NULL) {
        CALL0(&store, StoreRelease);
        skip("PEER (dom0 asked for no round)");
        return;
    }
    int named = peer_dir(name, dir, sizeof(dir));
    XENBUS_STORE(Free, &store, name);
    CHECK(named);
    CHECK_STATUS(XENBUS_STORE(Remove, &store, NULL, "data", "xenchild-peer"), XC_STATUS_SUCCESS);
    volatile unsigned char *page = named ? env->alloc_page(env->context, &pfn) : NULL;
    CHECK(page != NULL);
    if (page == NULL) {
        CALL0(&store, StoreRelease);
        end();
        return;
    }
    for (unsigned i = 0; i < XC_PAGE; i++)
        page[i] = peer_pattern('A', i);
    CHECK(QUERY(GUID_XENBUS_GNTTAB_INTERFACE, 4, g));
    CHECK(QUERY(GUID_XENBUS_EVTCHN_INTERFACE, 9, ev));
    CHECK_STATUS(CALL0(&g, GnttabAcquire), XC_STATUS_SUCCESS);
    CHECK_STATUS(CALL0(&ev, EvtchnAcquire), XC_STATUS_SUCCESS);
    CHECK_STATUS(XENBUS_GNTTAB(CreateCache, &g, "peer", 0, 0, no_lock, no_lock, NULL, &cache),
                 XC_STATUS_SUCCESS);
    if (cache != NULL)
        CHECK_STATUS(XENBUS_GNTTAB(PermitForeignAccess, &g, cache, 0, 0, pfn, 0, &entry),
                     XC_STATUS_SUCCESS);
    /* Not auto-masked: every notification from dom0 runs the callback. */
    PXENBUS_EVTCHN_CHANNEL channel = XENBUS_EVTCHN(
        Open, &ev, XENBUS_EVTCHN_TYPE_UNBOUND, evtchn_callback, &fired, (USHORT)0, (BOOLEAN)0);
    CHECK(channel != NULL);
    /* A channel opens masked, as a frontend's does until it is ready for events. */
    if (channel != NULL)
        (void)XENBUS_EVTCHN(Unmask, &ev, channel, 0, 0);
    int revoked = entry != NULL && channel != NULL &&
                  peer_exchange(&store, &g, cache, entry, &ev, channel, &fired, page, dir);
    /* A round that stopped early still takes its grant back (refused while dom0 maps it). */
    if (entry != NULL && !revoked)
        (void)XENBUS_GNTTAB(RevokeForeignAccess, &g, cache, 0, entry);
    if (channel != NULL)
        XENBUS_EVTCHN(Close, &ev, channel);
    if (cache != NULL)
        XENBUS_GNTTAB(DestroyCache, &g, cache);
    CALL0(&ev, EvtchnRelease);
    CALL0(&g, GnttabRelease);
    CALL0(&store, StoreRelease);
    env->free_page(env->context, (void *)page);
    end();
}

void xc_run(const struct xc_env *run_env, struct xc_result *run_result)
{
    env = run_env;
    host = run_env->host;
    result = run_result;
    result->passed = 0;
    result->failed = 0;
    result->skipped[0] = '\0';
    domid = env->domid;

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
    check_peer();
    /* Last: the host composition does not re-map the shared-info page after a suspend. */
    check_suspend();

    section = "";
    env->print(env->context, "skipped: %s", result->skipped[0] != '\0' ? result->skipped : "none");
    env->print(env->context, "interfaces: %u passed, %u failed", result->passed, result->failed);
}
