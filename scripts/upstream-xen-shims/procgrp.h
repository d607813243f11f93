/* Shim: the WDK's procgrp.h (processor-group compatibility library, for Windows before 7).
 * NT_PROCESSOR_GROUPS builds on Windows 7 and later call the kernel's routines directly;
 * the library's initialisation is a no-op there. */
#ifndef _SHIM_PROCGRP_H
#define _SHIM_PROCGRP_H
#define WdmlibProcgrpInitialize() ((void)0)
#endif
