/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * A C "child driver" for the kprintf thunk tests: it calls StorePrintf, DebugPrintf and
 * EvtchnOpen the way xenvbd/xenvif/xeniface do, through both the System V and the Microsoft x64
 * calling conventions (GCC's ms_abi), with many argument mixes, and checks what the Rust side
 * recorded. It also hands a real C va_list to the Rust System V va_list reader.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MSABI __attribute__((ms_abi))

typedef int32_t (*store_printf_fn)(void *, void *, const char *, const char *, const char *, ...);
typedef void (*debug_printf_fn)(void *, const char *, ...);
typedef void *(*evtchn_open_fn)(void *, int, void *, void *, ...);
typedef int32_t (MSABI *win_store_printf_fn)(void *, void *, const char *, const char *,
                                             const char *, ...);
typedef void (MSABI *win_debug_printf_fn)(void *, const char *, ...);
typedef void *(MSABI *win_evtchn_open_fn)(void *, int, void *, void *, ...);
typedef int32_t (*vformat_fn)(char *, size_t, const char *, va_list);
typedef size_t (*last_fn)(char *, size_t);

struct kp_callbacks {
    store_printf_fn sysv_store_printf;
    debug_printf_fn sysv_debug_printf;
    evtchn_open_fn sysv_evtchn_open;
    win_store_printf_fn win_store_printf;
    win_debug_printf_fn win_debug_printf;
    win_evtchn_open_fn win_evtchn_open;
    vformat_fn vformat;
    last_fn last;
};

#define STATUS_SUCCESS ((int32_t)0)
#define STATUS_INVALID_PARAMETER ((int32_t)0xC000000D)
#define STATUS_INVALID_BUFFER_SIZE ((int32_t)0xC0000206)

static int passed, failed;
static char *report;
static size_t report_len, report_used;

static void fail(const char *abi, const char *what, const char *got, const char *want)
{
    failed++;
    if (report_used < report_len) {
        int n = snprintf(report + report_used, report_len - report_used,
                         "[%s] %s:\n  got  [%s]\n  want [%s]\n", abi, what, got, want);
        if (n > 0)
            report_used += (size_t)n;
        if (report_used >= report_len)
            report_used = report_len - 1;
    }
}

static void check_str(const char *abi, const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        passed++;
    else
        fail(abi, what, got, want);
}

static void check_int(const char *abi, const char *what, long long got, long long want)
{
    char g[32], w[32];

    if (got == want) {
        passed++;
        return;
    }
    snprintf(g, sizeof(g), "%lld", got);
    snprintf(w, sizeof(w), "%lld", want);
    fail(abi, what, g, w);
}

static const struct kp_callbacks *cb;
static int win;

#define ABI (win ? "ms_abi" : "sysv")
#define STORE(...) (win ? cb->win_store_printf(__VA_ARGS__) : cb->sysv_store_printf(__VA_ARGS__))
#define DEBUG(...) do { if (win) cb->win_debug_printf(__VA_ARGS__); \
                        else cb->sysv_debug_printf(__VA_ARGS__); } while (0)
#define OPEN(...) (win ? cb->win_evtchn_open(__VA_ARGS__) : cb->sysv_evtchn_open(__VA_ARGS__))

static char last_buf[4096];

static const char *last(void)
{
    cb->last(last_buf, sizeof(last_buf));
    return last_buf;
}

static void *const IFACE = (void *)(uintptr_t)0xFFFFE00012345670ull;
static void *const TXN = (void *)(uintptr_t)0x0000000000ABC000ull;

/* The record StorePrintf keeps: Interface|Transaction|Prefix|Node|value, %p as MSVC prints. */
static void expect_store(const char *what, int32_t status, const char *prefix, const char *node,
                         const char *value)
{
    char want[2048];

    check_int(ABI, what, status, STATUS_SUCCESS);
    snprintf(want, sizeof(want), "%016llX|%016llX|%s|%s|%s",
             (unsigned long long)(uintptr_t)IFACE, (unsigned long long)(uintptr_t)TXN,
             prefix ? prefix : "(null)", node, value);
    check_str(ABI, what, last(), want);
}

static void store_tests(void)
{
    const char *p = "device/vif/0";
    char want[1024];
    char big[1100];
    int32_t s;

    s = STORE(IFACE, TXN, p, "state", "%u", 4u);
    expect_store("state", s, p, "state", "4");

    s = STORE(IFACE, TXN, NULL, "data/vbd/768", "%s", "sector-size");
    expect_store("NULL prefix", s, NULL, "data/vbd/768", "sector-size");

    /* Every integer width the MSVC length modifiers name; %ld/%lu are 32-bit (LLP64). */
    s = STORE(IFACE, TXN, p, "ints",
              "%hhd %hhu %hd %hu %d %u %ld %lu %lld %llu %I64d %I64u %I32d %Iu %zu %i",
              (signed char)-5, (unsigned char)250, (short)-300, (unsigned short)65000, -70000,
              4000000000u, (int32_t)-2, (uint32_t)3000000000u, -9000000000000000ll,
              18000000000000000000ull, -1ll, 0x8000000000000000ull, (int32_t)-7,
              (size_t)12345678901ull, (size_t)77, 0);
    expect_store("every integer width", s, p, "ints",
                 "-5 250 -300 65000 -70000 4000000000 -2 3000000000 -9000000000000000 "
                 "18000000000000000000 -1 9223372036854775808 -7 12345678901 77 0");

    /* 64-bit slots read as 32-bit conversions: the upper half must be ignored. */
    s = STORE(IFACE, TXN, p, "trunc", "%d|%lu|%hx|%hhx", 0x1234567800000005ll,
              0xffffffff00000007ull, 0x123456789abcull, 0x1ffull);
    expect_store("upper slot bits ignored", s, p, "trunc", "5|7|9abc|ff");

    /* The hex/width formats the children use. */
    s = STORE(IFACE, TXN, p, "hex", "%04x %02x %08x %X %#x %-6x| %.3x %04u %02u %40s|", 0xbu,
              0x16u, 0x1234u, 0xbeefu, 0xffu, 0xau, 0x5u, 31u, 7u, "right");
    snprintf(want, sizeof(want), "000b 16 00001234 BEEF 0xff a     | 005 0031 07 %40s|", "right");
    expect_store("hex and widths", s, p, "hex", want);

    /* Strings, NULL, pointers, characters. */
    s = STORE(IFACE, TXN, p, "str", "%s %s %p %p %.3s %-5s| %5.2s| %c%c %%", "abc",
              (char *)NULL, (void *)(uintptr_t)0xFFFF8000DEADBEEFull, (void *)NULL, "abcdef",
              "ab", "xyz", 'O', 'K');
    expect_store("strings and pointers", s, p, "str",
                 "abc (null) FFFF8000DEADBEEF 0000000000000000 abc ab   |    xy| OK %");

    /* Many arguments: with five fixed arguments all but one variadic argument is on the stack. */
    s = STORE(IFACE, TXN, p, "many",
              "%d %d %d %d %d %d %d %d %d %d %s %d %s %llu %p %d %d %d %d %d %u %c", 1, 2, 3, 4,
              5, 6, 7, 8, 9, 10, "eleven", 12, "thirteen", 14ull, (void *)(uintptr_t)15, 16, 17,
              18, 19, 20, 21u, '!');
    expect_store("22 variadic arguments", s, p, "many",
                 "1 2 3 4 5 6 7 8 9 10 eleven 12 thirteen 14 000000000000000F 16 17 18 19 20 21 !");

    /* '*' width and precision, negative ones included. */
    s = STORE(IFACE, TXN, p, "star", "[%*d] [%-*d] [%.*s] [%*.*u] [%*d] [%.*d]", 6, 42, 6, 42, 2,
              "xenbus", 8, 5, 7u, -4, 1, -1, 9);
    expect_store("star", s, p, "star", "[    42] [42    ] [xe] [   00007] [1   ] [9]");

    /* A glibc-agreeing format: the C library's own output is the expectation. */
    s = STORE(IFACE, TXN, p, "glibc", "%-+8.3d|% 05d|%#o|%#X|%5.1s|%+i|%x", 42, -17, 8u, 0xabcu,
              "hello", 0, 0xfffffffeu);
    snprintf(want, sizeof(want), "%-+8.3d|% 05d|%#o|%#X|%5.1s|%+i|%x", 42, -17, 8u, 0xabcu,
             "hello", 0, 0xfffffffeu);
    expect_store("glibc-agreeing format", s, p, "glibc", want);

    /* Bad formats fail cleanly; nothing is written. */
    check_int(ABI, "unknown conversion", STORE(IFACE, TXN, p, "bad", "%d %y", 1),
              STATUS_INVALID_PARAMETER);
    check_int(ABI, "truncated spec", STORE(IFACE, TXN, p, "bad", "abc %-0", 1),
              STATUS_INVALID_PARAMETER);
    check_int(ABI, "%n refused", STORE(IFACE, TXN, p, "bad", "%n", (int *)NULL),
              STATUS_INVALID_PARAMETER);

    /* StorePrintf's 1023-character limit. */
    memset(big, 'q', sizeof(big));
    big[1023] = '\0';
    s = STORE(IFACE, TXN, p, "big", "%s", big);
    expect_store("1023 characters", s, p, "big", big);
    check_int(ABI, "1100 characters", STORE(IFACE, TXN, p, "big", "%1100s", "x"),
              STATUS_INVALID_BUFFER_SIZE);
}

static void debug_tests(void)
{
    DEBUG(IFACE, "%s: %u %p %I64x", "XENVBD", 7u, (void *)(uintptr_t)0x1000, 0xfeedull);
    check_str(ABI, "debug printf", last(), "XENVBD: 7 0000000000001000 feed");

    /* Two fixed arguments: four variadic ones in registers, the rest on the stack. */
    DEBUG(IFACE, "%d %d %d %d %d %d %d %d %s %llx %p", -1, -2, -3, -4, -5, -6, -7, -8, "s",
          0x123456789abcdef0ull, (void *)(uintptr_t)0xFFFFFFFFFFFFFFFFull);
    check_str(ABI, "debug printf, 11 arguments", last(),
              "-1 -2 -3 -4 -5 -6 -7 -8 s 123456789abcdef0 FFFFFFFFFFFFFFFF");

    DEBUG(IFACE, "no arguments at all");
    check_str(ABI, "debug printf, no arguments", last(), "no arguments at all");

}

static int version8 = 8, version9 = 9;

static void evtchn_tests(void)
{
    void *fn = (void *)(uintptr_t)0x7000;
    void *arg = (void *)(uintptr_t)0x8000;
    void *r;

    /* Default promotions: USHORT, UCHAR and BOOLEAN go as int. */
    r = OPEN(&version9, 1, fn, arg, (uint32_t)5, (unsigned char)0);
    check_int(ABI, "FIXED returns the channel", (long long)(uintptr_t)r, 0x8000);
    check_str(ABI, "FIXED extras", last(), "FIXED port=5 mask=0 fn=0x7000");

    r = OPEN(&version9, 2, fn, arg, (unsigned short)0, (unsigned char)1);
    check_int(ABI, "UNBOUND returns the channel", (long long)(uintptr_t)r, 0x8000);
    check_str(ABI, "UNBOUND extras", last(), "UNBOUND domain=0 mask=1 fn=0x7000");

    r = OPEN(&version9, 3, fn, arg, (unsigned short)7, (uint32_t)33, (unsigned char)1);
    check_int(ABI, "INTER_DOMAIN returns the channel", (long long)(uintptr_t)r, 0x8000);
    check_str(ABI, "INTER_DOMAIN extras", last(), "INTER_DOMAIN domain=7 port=33 mask=1 fn=0x7000");

    r = OPEN(&version9, 4, fn, arg, (uint32_t)1, (unsigned short)0, (unsigned char)3);
    check_int(ABI, "VIRQ v9 returns the channel", (long long)(uintptr_t)r, 0x8000);
    check_str(ABI, "VIRQ v9 extras", last(), "VIRQ index=1 group=0 number=3 fn=0x7000");

    r = OPEN(&version8, 4, fn, arg, (uint32_t)1);
    check_int(ABI, "VIRQ v8 returns the channel", (long long)(uintptr_t)r, 0x8000);
    check_str(ABI, "VIRQ v8 extras", last(), "VIRQ index=1 fn=0x7000");

    r = OPEN(&version9, 0, fn, arg);
    check_int(ABI, "INVALID type fails", (long long)(uintptr_t)r, 0);
}

static int32_t call_vformat(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int32_t n;

    va_start(ap, fmt);
    n = cb->vformat(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

static void vformat_tests(void)
{
    char buf[512];
    int32_t n;

    n = call_vformat(buf, sizeof(buf), "%s=%u", "key", 9u);
    check_int("va_list", "length", n, 5);
    check_str("va_list", "short", buf, "key=9");

    /* Past the six argument registers into the overflow area. */
    n = call_vformat(buf, sizeof(buf), "%d %d %d %d %d %d %d %d %s %p %llu %c", 1, 2, 3, 4, 5,
                     6, 7, 8, "nine", (void *)(uintptr_t)10, 11ull, 'Z');
    check_str("va_list", "overflow area", buf, "1 2 3 4 5 6 7 8 nine 000000000000000A 11 Z");

    /* A double in the middle travels in an XMM register and must not disturb the integers. */
    n = call_vformat(buf, sizeof(buf), "%d %d", 1, 2.5, 3);
    check_str("va_list", "double skipped by the gp walk", buf, "1 3");

    n = call_vformat(buf, sizeof(buf), "%q", 1);
    check_int("va_list", "bad format", n, -1);
}

int kp_run_c_tests(const struct kp_callbacks *callbacks, char *report_buf, size_t len,
                   int *passed_out)
{
    cb = callbacks;
    report = report_buf;
    report_len = len;
    report_used = 0;
    if (len > 0)
        report[0] = '\0';
    passed = failed = 0;

    for (win = 0; win <= 1; win++) {
        store_tests();
        debug_tests();
        evtchn_tests();
    }
    vformat_tests();

    *passed_out = passed;
    return failed;
}
