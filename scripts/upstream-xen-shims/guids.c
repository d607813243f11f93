/* The device class GUIDs filters.c names (GUID_DEVCLASS_SYSTEM, GUID_DEVCLASS_HDC), defined once
 * as the WDK's GUID library does. */
#include <ntddk.h>
#include <initguid.h>
#include <devguid.h>
