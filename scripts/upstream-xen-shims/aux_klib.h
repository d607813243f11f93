/* Shim: the WDK's aux_klib.h and aux_klib.lib, for the two routines xen.sys uses. On Windows
 * Vista and later the library's module query is the kernel's RtlQueryModuleInformation, whose
 * RTL_MODULE_EXTENDED_INFO has AUX_MODULE_EXTENDED_INFO's layout. */
#ifndef _SHIM_AUX_KLIB_H
#define _SHIM_AUX_KLIB_H
#include <ntddk.h>

#define AUX_KLIB_MODULE_PATH_LEN 256

typedef struct _AUX_MODULE_BASIC_INFO {
    PVOID ImageBase;
} AUX_MODULE_BASIC_INFO, *PAUX_MODULE_BASIC_INFO;

typedef struct _AUX_MODULE_EXTENDED_INFO {
    AUX_MODULE_BASIC_INFO BasicInfo;
    ULONG ImageSize;
    USHORT FileNameOffset;
    UCHAR FullPathName[AUX_KLIB_MODULE_PATH_LEN];
} AUX_MODULE_EXTENDED_INFO, *PAUX_MODULE_EXTENDED_INFO;

NTSYSAPI NTSTATUS NTAPI RtlQueryModuleInformation(PULONG InformationLength, ULONG SizePerModule,
                                                  PVOID InformationBuffer);

static __inline NTSTATUS AuxKlibInitialize(VOID) { return STATUS_SUCCESS; }

static __inline NTSTATUS AuxKlibQueryModuleInformation(PULONG BufferSize, ULONG ElementSize,
                                                       PVOID QueryInfo)
{
    return RtlQueryModuleInformation(BufferSize, ElementSize, QueryInfo);
}
#endif
