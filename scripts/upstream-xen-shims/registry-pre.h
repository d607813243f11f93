/* Pre-included into src/common/registry.c only, after pre.h. registry.h declares
 * RegistryOpenSubKey, RegistryDeleteSubKey and RegistryDeleteValue with a HANDLE key, and
 * registry.c defines them with a PHANDLE one: MSVC warns (C4028), gcc refuses. Both are one
 * pointer in the same register, so the callers' HANDLE reaches the definition unchanged:
 * move the header's three declarations aside for this file. */
#define RegistryOpenSubKey __ShimHeaderRegistryOpenSubKey
#define RegistryDeleteSubKey __ShimHeaderRegistryDeleteSubKey
#define RegistryDeleteValue __ShimHeaderRegistryDeleteValue
#include "registry.h"
#undef RegistryOpenSubKey
#undef RegistryDeleteSubKey
#undef RegistryDeleteValue
/* ...and declare them as registry.c defines them (it calls the first before its definition). */
NTSTATUS RegistryOpenSubKey(PHANDLE Key, PSTR Name, ACCESS_MASK DesiredAccess, PHANDLE SubKey);
NTSTATUS RegistryDeleteSubKey(PHANDLE Key, PSTR Name);
NTSTATUS RegistryDeleteValue(PHANDLE Key, PSTR Name);
