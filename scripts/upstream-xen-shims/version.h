/* Shim: upstream's build generates version.h from include/version.tmpl; the values of this
 * package (9.1.0, build 0). */
#define VENDOR_NAME_STR      "Xen Project"
#define PRODUCT_NAME_STR     "Xen"
#define VENDOR_PREFIX_STR    "XP"
#define VENDOR_DEVICE_ID_STR ""
#define COPYRIGHT_STR        "Copyright (c) Xen Project"

#define MAJOR_VERSION_STR    "9"
#define MINOR_VERSION_STR    "1"
#define MICRO_VERSION_STR    "0"
#define BUILD_NUMBER_STR     "0"

#define YEAR_STR             "2026"
#define MONTH_STR            "01"
#define DAY_STR              "01"

#define MAJOR_VERSION        9
#define MINOR_VERSION        1
#define MICRO_VERSION        0
#define BUILD_NUMBER         0

#define YEAR                 2026
#define MONTH                1
#define DAY                  1
