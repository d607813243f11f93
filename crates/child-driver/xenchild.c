/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * xenchild.sys: a test-only WDM function driver for a xenbus.sys child PDO (never shipped:
 * scripts/build-child-driver puts it in target/package-test, not target/package). It is what
 * an existing C child driver (xenvif, xenvbd, xeniface) is to xenbus.sys, minus the device:
 *
 * - DriverEntry registers AddDevice, Unload and the dispatch routines (PnP, power, and every
 *   other major function passed down);
 * - AddDevice creates the FDO (IoCreateDevice) and attaches it to the PDO's stack
 *   (IoAttachDeviceToDeviceStack);
 * - IRP_MN_START_DEVICE is forwarded down and waited for; once the PDO has started, the checks
 *   of checks.c run (the same ones as the host test, without its host-only powers), each
 *   interface queried with an IRP_MN_QUERY_INTERFACE IRP sent down the stack the way xenvif's
 *   FdoQueryInterface does (IoBuildSynchronousFsdRequest, a KEVENT, the IRP's status
 *   STATUS_NOT_SUPPORTED); each result is printed with DbgPrintEx as
 *   "xenchild: PASS <name> <what>" or "xenchild: FAIL <name>: <detail>", then
 *   "xenchild: interfaces: N passed, M failed". Then the driver holds STORE (acquired), as a
 *   child does while started;
 * - STOP, SURPRISE_REMOVAL and REMOVE release STORE; REMOVE then passes the IRP down, detaches
 *   and deletes the FDO;
 * - power: the driver owns its stack's power policy. A system set-power to a sleeping state
 *   requests D3 down its stack first (PoRequestPowerIrp), S0 requests D0 after the system IRP
 *   came back; D3 gives STORE back, D0 re-acquires it, so a sleeping child holds no interface
 *   (what lets xenbus.sys enter hibernation); query-power is succeeded before it goes down.
 *
 * The start never fails because a check did: the result is in the log. Side effects of the
 * checks on the machine: nodes under our xenstore home's data/, a reboot request for
 * "xenvif" through UNPLUG, text on the PV console.
 *
 * Only documented WDM routines. Imports, all from ntoskrnl.exe (none from HAL.dll; the audit of
 * scripts/build-child-driver checks this list against the linked image):
 *   DbgPrintEx IoAttachDeviceToDeviceStack IoBuildSynchronousFsdRequest IoCreateDevice
 *   IoDeleteDevice IoDetachDevice IofCallDriver IofCompleteRequest KeClearEvent
 *   KeDelayExecutionThread KeFlushQueuedDpcs KeInitializeEvent KeQueryActiveProcessorCountEx
 *   KeReadStateEvent KeSetEvent KeWaitForSingleObject MmGetSystemRoutineAddress PoCallDriver
 *   PoRequestPowerIrp RtlInitUnicodeString _vsnprintf memcpy memset strcmp strlen
 * (and, looked up at run time for the dom0 peer round and the DMA section:
 * MmAllocateContiguousMemory MmFreeContiguousMemory MmGetPhysicalAddress MmMapIoSpace
 * MmUnmapIoSpace; for the DMA section's MDL: IoAllocateMdl MmBuildMdlForNonPagedPool IoFreeMdl;
 * KeRaiseIrql, KeLowerIrql and KeGetCurrentIrql are inline cr8 accesses on x64)
 * (IoCallDriver and IoCompleteRequest are the WDK's macros for IofCallDriver and
 * IofCompleteRequest; IoGetCurrentIrpStackLocation, IoSkipCurrentIrpStackLocation,
 * IoCopyCurrentIrpStackLocationToNext and IoSetCompletionRoutine are inline.)
 */

#include <wdm.h>
#include <stdarg.h>

#include "store_interface.h"
#include "checks.h"

#define XC_PREFIX "xenchild: "

/* Exported by ntoskrnl.exe (the C runtime's, declared by <stdio.h> in user mode). */
int __cdecl _vsnprintf(char *Buffer, size_t Count, const char *Format, va_list Arguments);

typedef struct _XC_FDO {
    PDEVICE_OBJECT Self;
    PDEVICE_OBJECT Pdo;
    PDEVICE_OBJECT Lower;
    /* STORE, held (acquired) from a successful start until stop or removal, and given back
       while the device sleeps (D3). */
    BOOLEAN HoldingStore;
    /* Whether STORE was held when the device went to sleep (re-acquired at D0). */
    BOOLEAN StoreBeforeSleep;
    /* The device power state this driver, the stack's power policy owner, put it in. */
    DEVICE_POWER_STATE DevicePower;
    struct _XENBUS_STORE_INTERFACE_V2 Store;
    struct xc_result Result;
} XC_FDO, *PXC_FDO;

/* The checks' events, and one run of the checks at a time (checks.c keeps its state in
   statics): a synchronization event, signalled when free. */
static KEVENT XcEvents[XC_EVENTS];
static KEVENT XcRunLock;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_ADD_DEVICE XcAddDevice;
static DRIVER_UNLOAD XcUnload;
static DRIVER_DISPATCH XcDispatchPnp;
static DRIVER_DISPATCH XcDispatchPower;
static DRIVER_DISPATCH XcDispatchOther;
static IO_COMPLETION_ROUTINE XcSignal;

static void XcVLog(const char *Format, va_list Arguments)
{
    char line[512];
    int length;

    /* _vsnprintf does not terminate a line it truncates. */
    length = _vsnprintf(line, sizeof(line) - 1, Format, Arguments);
    line[sizeof(line) - 1] = '\0';
    if (length < 0)
        line[sizeof(line) - 2] = '~';
    (void)DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, XC_PREFIX "%s\n", line);
}

static void XcLog(const char *Format, ...) __attribute__((format(ms_printf, 1, 2)));

static void XcLog(const char *Format, ...)
{
    va_list arguments;

    va_start(arguments, Format);
    XcVLog(Format, arguments);
    va_end(arguments);
}

/* ---- the seam of checks.h ------------------------------------------------------------- */

static NTSTATUS XcQueryInterface(void *Context, const GUID *Guid, USHORT Version, USHORT Size,
                                 PVOID Buffer)
{
    PXC_FDO Fdo = Context;
    KEVENT Event;
    IO_STATUS_BLOCK StatusBlock;
    PIRP Irp;
    PIO_STACK_LOCATION StackLocation;
    NTSTATUS status;

    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    RtlZeroMemory(&StatusBlock, sizeof(StatusBlock));

    Irp = IoBuildSynchronousFsdRequest(IRP_MJ_PNP, Fdo->Lower, NULL, 0, NULL, &Event,
                                       &StatusBlock);
    if (Irp == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    StackLocation = IoGetNextIrpStackLocation(Irp);
    StackLocation->MinorFunction = IRP_MN_QUERY_INTERFACE;
    StackLocation->Parameters.QueryInterface.InterfaceType = Guid;
    StackLocation->Parameters.QueryInterface.Size = Size;
    StackLocation->Parameters.QueryInterface.Version = Version;
    StackLocation->Parameters.QueryInterface.Interface = (PINTERFACE)Buffer;
    StackLocation->Parameters.QueryInterface.InterfaceSpecificData = NULL;

    /* A PnP IRP starts as "not handled". */
    Irp->IoStatus.Status = STATUS_NOT_SUPPORTED;

    status = IoCallDriver(Fdo->Lower, Irp);
    if (status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        status = StatusBlock.Status;
    }
    return status;
}

static void XcPrint(void *Context, const char *Format, ...)
{
    va_list arguments;

    (void)Context;
    va_start(arguments, Format);
    XcVLog(Format, arguments);
    va_end(arguments);
}

static void XcSleepMs(void *Context, ULONG Milliseconds)
{
    LARGE_INTEGER Interval;

    (void)Context;
    Interval.QuadPart = -(LONGLONG)Milliseconds * 10000; /* relative, 100 ns units */
    (void)KeDelayExecutionThread(KernelMode, FALSE, &Interval);
}

static void XcFlushDpcs(void *Context)
{
    (void)Context;
    KeFlushQueuedDpcs();
}

static PKEVENT XcEvent(void *Context, unsigned Index)
{
    (void)Context;
    return Index < XC_EVENTS ? &XcEvents[Index] : NULL;
}

static void XcEventReset(void *Context, PKEVENT Event)
{
    (void)Context;
    KeClearEvent(Event);
}

static int XcEventIsSet(void *Context, PKEVENT Event)
{
    (void)Context;
    return KeReadStateEvent(Event) != 0;
}

/* ---- memory for the dom0 peer round ---------------------------------------------------- */

/* The Mm routines the peer round needs, looked up when it runs (MmGetSystemRoutineAddress), so
   the image loads where they are missing (Wine) and only that round is skipped there. */
typedef PVOID (*XC_ALLOCATE_CONTIGUOUS)(SIZE_T, PHYSICAL_ADDRESS);
typedef VOID (*XC_FREE_CONTIGUOUS)(PVOID);
typedef PHYSICAL_ADDRESS (*XC_GET_PHYSICAL)(PVOID);
typedef PVOID (*XC_MAP_IO)(PHYSICAL_ADDRESS, SIZE_T, MEMORY_CACHING_TYPE);
typedef VOID (*XC_UNMAP_IO)(PVOID, SIZE_T);

static struct {
    XC_ALLOCATE_CONTIGUOUS Allocate;
    XC_FREE_CONTIGUOUS Free;
    XC_GET_PHYSICAL Physical;
    XC_MAP_IO Map;
    XC_UNMAP_IO Unmap;
} XcMm;

static PVOID XcRoutine(PCWSTR Name)
{
    UNICODE_STRING String;

    RtlInitUnicodeString(&String, Name);
    return MmGetSystemRoutineAddress(&String);
}

/* Whether every routine of XcMm is there. */
static BOOLEAN XcMmFound(void)
{
    XcMm.Allocate = (XC_ALLOCATE_CONTIGUOUS)XcRoutine(L"MmAllocateContiguousMemory");
    XcMm.Free = (XC_FREE_CONTIGUOUS)XcRoutine(L"MmFreeContiguousMemory");
    XcMm.Physical = (XC_GET_PHYSICAL)XcRoutine(L"MmGetPhysicalAddress");
    XcMm.Map = (XC_MAP_IO)XcRoutine(L"MmMapIoSpace");
    XcMm.Unmap = (XC_UNMAP_IO)XcRoutine(L"MmUnmapIoSpace");
    return XcMm.Allocate != NULL && XcMm.Free != NULL && XcMm.Physical != NULL &&
           XcMm.Map != NULL && XcMm.Unmap != NULL;
}

static void *XcAllocPage(void *Context, PFN_NUMBER *Pfn)
{
    PHYSICAL_ADDRESS Highest = { .QuadPart = -1 };
    PUCHAR Page;

    (void)Context;
    Page = XcMm.Allocate(PAGE_SIZE, Highest);
    if (Page == NULL)
        return NULL;
    RtlZeroMemory(Page, PAGE_SIZE);
    *Pfn = (PFN_NUMBER)(XcMm.Physical(Page).QuadPart >> PAGE_SHIFT);
    return Page;
}

static void XcFreePage(void *Context, void *Page)
{
    (void)Context;
    XcMm.Free(Page);
}

static void *XcMapPhysical(void *Context, PHYSICAL_ADDRESS Address)
{
    (void)Context;
    return XcMm.Map(Address, PAGE_SIZE, MmCached);
}

static void XcUnmapPhysical(void *Context, void *Address)
{
    (void)Context;
    XcMm.Unmap(Address, PAGE_SIZE);
}

/* ---- the DMA section's powers ----------------------------------------------------------- */

/* The MDL routines, looked up when the checks run (as XcMm, so the image loads where they are
   missing or stubs). */
typedef PMDL (*XC_ALLOCATE_MDL)(PVOID, ULONG, BOOLEAN, BOOLEAN, PIRP);
typedef VOID (*XC_BUILD_MDL)(PMDL);
typedef VOID (*XC_FREE_MDL)(PMDL);

static struct {
    XC_ALLOCATE_MDL Allocate;
    XC_BUILD_MDL Build;
    XC_FREE_MDL Free;
} XcMdl;

/* Whether every routine of XcMdl is there. */
static BOOLEAN XcMdlFound(void)
{
    XcMdl.Allocate = (XC_ALLOCATE_MDL)XcRoutine(L"IoAllocateMdl");
    XcMdl.Build = (XC_BUILD_MDL)XcRoutine(L"MmBuildMdlForNonPagedPool");
    XcMdl.Free = (XC_FREE_MDL)XcRoutine(L"IoFreeMdl");
    return XcMdl.Allocate != NULL && XcMdl.Build != NULL && XcMdl.Free != NULL;
}

static void *XcSetCurrentIrp(void *Context, void *Irp)
{
    PXC_FDO Fdo = Context;
    PIRP Previous = Fdo->Self->CurrentIrp;

    Fdo->Self->CurrentIrp = Irp;
    return Previous;
}

static unsigned char XcRaiseToDispatch(void *Context)
{
    KIRQL Irql;

    (void)Context;
    KeRaiseIrql(DISPATCH_LEVEL, &Irql);
    return Irql;
}

static void XcLowerIrql(void *Context, unsigned char Irql)
{
    (void)Context;
    KeLowerIrql(Irql);
}

static unsigned char XcIrql(void *Context)
{
    (void)Context;
    return KeGetCurrentIrql();
}

static PHYSICAL_ADDRESS XcPhysicalAddress(void *Context, void *Va)
{
    (void)Context;
    return XcMm.Physical(Va);
}

static void *XcAllocContiguous(void *Context, ULONG Bytes)
{
    PHYSICAL_ADDRESS Highest = { .QuadPart = -1 };

    (void)Context;
    return XcMm.Allocate(Bytes, Highest);
}

static void XcFreeContiguous(void *Context, void *Va)
{
    (void)Context;
    XcMm.Free(Va);
}

static void *XcBuildMdl(void *Context, void *Va, ULONG Length)
{
    PMDL Mdl;

    (void)Context;
    Mdl = XcMdl.Allocate(Va, Length, FALSE, FALSE, NULL);
    if (Mdl != NULL)
        XcMdl.Build(Mdl);
    return Mdl;
}

static void XcFreeMdl(void *Context, void *Mdl)
{
    (void)Context;
    XcMdl.Free(Mdl);
}

/* ---- start and stop ------------------------------------------------------------------- */

/* Runs the checks, then holds STORE. PASSIVE_LEVEL, the PDO started. */
static void XcStart(PXC_FDO Fdo)
{
    struct xc_env env;
    NTSTATUS status;

    (void)KeWaitForSingleObject(&XcRunLock, Executive, KernelMode, FALSE, NULL);
    for (unsigned i = 0; i < XC_EVENTS; i++)
        KeInitializeEvent(&XcEvents[i], NotificationEvent, FALSE);
    RtlZeroMemory(&env, sizeof(env));
    env.context = Fdo;
    env.query_interface = XcQueryInterface;
    env.print = XcPrint;
    env.sleep_ms = XcSleepMs;
    env.flush_dpcs = XcFlushDpcs;
    env.event = XcEvent;
    env.event_reset = XcEventReset;
    env.event_is_set = XcEventIsSet;
    env.processors = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    env.domid = -1;
    env.verbose = 1;
    env.host = NULL;
    if (XcMmFound()) {
        env.alloc_page = XcAllocPage;
        env.free_page = XcFreePage;
        env.map_physical = XcMapPhysical;
        env.unmap_physical = XcUnmapPhysical;
        if (XcMdlFound()) {
            env.device = Fdo->Self;
            env.set_current_irp = XcSetCurrentIrp;
            env.raise_to_dispatch = XcRaiseToDispatch;
            env.lower_irql = XcLowerIrql;
            env.irql = XcIrql;
            env.physical_address = XcPhysicalAddress;
            env.alloc_contiguous = XcAllocContiguous;
            env.free_contiguous = XcFreeContiguous;
            env.build_mdl = XcBuildMdl;
            env.free_mdl = XcFreeMdl;
        }
    }
    XcLog("checks start (PDO %p, %u processors)", (void *)Fdo->Pdo, (unsigned)env.processors);
    xc_run(&env, &Fdo->Result);
    (void)KeSetEvent(&XcRunLock, IO_NO_INCREMENT, FALSE);

    RtlZeroMemory(&Fdo->Store, sizeof(Fdo->Store));
    status = XcQueryInterface(Fdo, &GUID_XENBUS_STORE_INTERFACE, 2, sizeof(Fdo->Store),
                              &Fdo->Store);
    if (NT_SUCCESS(status))
        status = Fdo->Store.StoreAcquire((PINTERFACE)&Fdo->Store);
    if (NT_SUCCESS(status)) {
        Fdo->HoldingStore = TRUE;
        XcLog("holding STORE");
    } else {
        XcLog("STORE not held: %08x", (unsigned)status);
    }
}

/* Releases what the device holds. */
static void XcStop(PXC_FDO Fdo)
{
    if (Fdo->HoldingStore) {
        Fdo->Store.StoreRelease((PINTERFACE)&Fdo->Store);
        Fdo->HoldingStore = FALSE;
        XcLog("released STORE");
    }
}

/* ---- IRPs ----------------------------------------------------------------------------- */

static NTSTATUS XcSignal(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    (void)KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    /* The IRP is ours again: XcForwardAndWait completes it. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends the IRP down and waits until the lower drivers completed it; returns its status. */
static NTSTATUS XcForwardAndWait(PXC_FDO Fdo, PIRP Irp)
{
    KEVENT Event;
    NTSTATUS status;

    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, XcSignal, &Event, TRUE, TRUE, TRUE);
    status = IoCallDriver(Fdo->Lower, Irp);
    if (status == STATUS_PENDING) {
        (void)KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
    }
    return status;
}

static NTSTATUS XcPassDown(PXC_FDO Fdo, PIRP Irp)
{
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(Fdo->Lower, Irp);
}

static NTSTATUS XcDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PXC_FDO Fdo = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION StackLocation = IoGetCurrentIrpStackLocation(Irp);
    PDEVICE_OBJECT Lower;
    NTSTATUS status;

    switch (StackLocation->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = XcForwardAndWait(Fdo, Irp);
        if (NT_SUCCESS(status))
            XcStart(Fdo);
        else
            XcLog("the PDO did not start: %08x", (unsigned)status);
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return XcPassDown(Fdo, Irp);

    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        XcStop(Fdo);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        return XcPassDown(Fdo, Irp);

    case IRP_MN_REMOVE_DEVICE:
        XcStop(Fdo);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        Lower = Fdo->Lower;
        status = XcPassDown(Fdo, Irp);
        IoDetachDevice(Lower);
        IoDeleteDevice(DeviceObject); /* Fdo is gone from here on */
        XcLog("removed");
        return status;

    default:
        return XcPassDown(Fdo, Irp);
    }
}

/* ---- power (Windows Vista and later: no PoStartNextPowerIrp, PoCallDriver passes down) --- */

struct xc_power_request {
    KEVENT Done;
    NTSTATUS Status;
};

static VOID XcPowerDone(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction, POWER_STATE PowerState,
                        PVOID Context, PIO_STATUS_BLOCK IoStatus)
{
    struct xc_power_request *Request = Context;

    (void)DeviceObject;
    (void)MinorFunction;
    (void)PowerState;
    Request->Status = IoStatus->Status;
    (void)KeSetEvent(&Request->Done, IO_NO_INCREMENT, FALSE);
}

/* As the stack's power policy owner: asks the power manager for a device power IRP to `State`
   down our own stack and waits until it completed. PASSIVE_LEVEL. */
static NTSTATUS XcRequestDevicePower(PXC_FDO Fdo, DEVICE_POWER_STATE State)
{
    struct xc_power_request Request;
    POWER_STATE Power;
    NTSTATUS status;

    KeInitializeEvent(&Request.Done, NotificationEvent, FALSE);
    Request.Status = STATUS_UNSUCCESSFUL;
    Power.DeviceState = State;
    status = PoRequestPowerIrp(Fdo->Pdo, IRP_MN_SET_POWER, Power, XcPowerDone, &Request, NULL);
    if (!NT_SUCCESS(status)) {
        XcLog("PoRequestPowerIrp(D%u) failed: %08x", (unsigned)State - 1, (unsigned)status);
        return status;
    }
    (void)KeWaitForSingleObject(&Request.Done, Executive, KernelMode, FALSE, NULL);
    return Request.Status;
}

/* A device power IRP: going to sleep gives STORE back first (a child holds no interface in D3,
   which is what lets the machine hibernate); waking re-acquires it once the PDO is in D0. */
static NTSTATUS XcSetDevicePower(PXC_FDO Fdo, PIRP Irp, DEVICE_POWER_STATE State)
{
    NTSTATUS status;

    if (State == PowerDeviceD0 && Fdo->DevicePower != PowerDeviceD0) {
        status = XcForwardAndWait(Fdo, Irp);
        if (NT_SUCCESS(status)) {
            Fdo->DevicePower = PowerDeviceD0;
            XcLog("D0");
            if (Fdo->StoreBeforeSleep) {
                status = Fdo->Store.StoreAcquire((PINTERFACE)&Fdo->Store);
                Fdo->HoldingStore = NT_SUCCESS(status);
                XcLog(Fdo->HoldingStore ? "holding STORE again" : "STORE not held again: %08x",
                      (unsigned)status);
                status = STATUS_SUCCESS;
            }
        }
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    if (State != PowerDeviceD0 && Fdo->DevicePower == PowerDeviceD0) {
        Fdo->StoreBeforeSleep = Fdo->HoldingStore;
        XcStop(Fdo);
        Fdo->DevicePower = State;
        XcLog("D%u", (unsigned)State - 1);
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(Fdo->Lower, Irp);
}

/* A system power IRP: this driver owns its stack's power policy, so it asks for the device
   power state that goes with it (D3 in every sleeping state, D0 in S0; nothing at shutdown),
   the device IRP before the system IRP goes down when sleeping, after it came back when
   waking. */
static NTSTATUS XcSetSystemPower(PXC_FDO Fdo, PIRP Irp, SYSTEM_POWER_STATE State)
{
    NTSTATUS status;

    if (State == PowerSystemWorking) {
        status = XcForwardAndWait(Fdo, Irp);
        if (NT_SUCCESS(status) && Fdo->DevicePower != PowerDeviceD0)
            (void)XcRequestDevicePower(Fdo, PowerDeviceD0);
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    if (State > PowerSystemWorking && State < PowerSystemShutdown &&
        Fdo->DevicePower == PowerDeviceD0)
        (void)XcRequestDevicePower(Fdo, PowerDeviceD3);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(Fdo->Lower, Irp);
}

static NTSTATUS XcDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PXC_FDO Fdo = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION StackLocation = IoGetCurrentIrpStackLocation(Irp);

    switch (StackLocation->MinorFunction) {
    case IRP_MN_SET_POWER:
        if (StackLocation->Parameters.Power.Type == DevicePowerState)
            return XcSetDevicePower(Fdo, Irp, StackLocation->Parameters.Power.State.DeviceState);
        if (StackLocation->Parameters.Power.Type == SystemPowerState)
            return XcSetSystemPower(Fdo, Irp, StackLocation->Parameters.Power.State.SystemState);
        break;
    case IRP_MN_QUERY_POWER:
        /* Nothing here vetoes a sleep: say so, as a function driver does, before the PDO
           answers. */
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(Fdo->Lower, Irp);
}

static NTSTATUS XcDispatchOther(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return XcPassDown(DeviceObject->DeviceExtension, Irp);
}

/* ---- driver --------------------------------------------------------------------------- */

static NTSTATUS XcAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo)
{
    PDEVICE_OBJECT Self = NULL;
    PXC_FDO Fdo;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(XC_FDO), NULL, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &Self);
    if (!NT_SUCCESS(status)) {
        XcLog("AddDevice: IoCreateDevice failed: %08x", (unsigned)status);
        return status;
    }
    Fdo = Self->DeviceExtension;
    RtlZeroMemory(Fdo, sizeof(*Fdo));
    Fdo->Self = Self;
    Fdo->Pdo = Pdo;
    Fdo->DevicePower = PowerDeviceD0;
    Fdo->Lower = IoAttachDeviceToDeviceStack(Self, Pdo);
    if (Fdo->Lower == NULL) {
        XcLog("AddDevice: IoAttachDeviceToDeviceStack failed");
        IoDeleteDevice(Self);
        return STATUS_NO_SUCH_DEVICE;
    }
    Self->Flags |= DO_POWER_PAGABLE;
    Self->Flags &= ~DO_DEVICE_INITIALIZING;
    XcLog("AddDevice: FDO %p on PDO %p", (void *)Self, (void *)Pdo);
    return STATUS_SUCCESS;
}

static VOID XcUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    XcLog("Unload");
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    KeInitializeEvent(&XcRunLock, SynchronizationEvent, TRUE);
    for (unsigned i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = XcDispatchOther;
    DriverObject->MajorFunction[IRP_MJ_PNP] = XcDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = XcDispatchPower;
    DriverObject->DriverExtension->AddDevice = XcAddDevice;
    DriverObject->DriverUnload = XcUnload;
    XcLog("DriverEntry: AddDevice, Unload, PnP and power dispatch registered");
    return STATUS_SUCCESS;
}
