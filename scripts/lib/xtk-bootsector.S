/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * The boot sector of the HVM test disk (scripts/lib/xen-full.bash, make_boot_disk): SeaBIOS
 * loads it at 0:7C00 from the emulated IDE disk and jumps to it in real mode with DL = the
 * drive. It loads, with INT 13h AH=42h through a 32 KiB bounce buffer at 0x10000 and
 * INT 15h AH=87h to copy above 1 MiB:
 *
 *   LBA 1                         the command line (one NUL-terminated sector) to 0x8200;
 *   LBA 2 .. 2+KERNEL_SECTORS     the test kernel's flat image to KERNEL_LOAD;
 *   MODULE_LBA ..                 the module (xen.sys) to MODULE_LOAD;
 *
 * then switches to 32-bit protected mode with flat segments and enters KERNEL_ENTRY with
 * EAX = 0x2BADB002 and EBX = the multiboot v1 information below (command line, one module):
 * the handover the kernel's header asks for.
 *
 * The numbers come from the assembler's --defsym (KERNEL_SECTORS, KERNEL_LOAD, KERNEL_ENTRY,
 * MODULE_LBA, MODULE_SECTORS, MODULE_LOAD, MODULE_BYTES). Progress and failures go to port
 * 0xE9, which Xen prints as the guest's console ("(d1) XTK-BOOT: ...").
 */
        .code16
        .section .text
        .globl  _start
_start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7c00, %sp
        ljmp    $0, $1f
1:      sti
        cld
        mov     %dl, drive

        /* A20 through the fast gate (port 0x92); SeaBIOS has usually enabled it already. */
        in      $0x92, %al
        or      $2, %al
        and     $0xfe, %al
        out     %al, $0x92

        mov     $msg_hello, %si
        call    print

        /* The command line: LBA 1, one sector, straight to 0:8200. */
        movw    $1, dap_count
        movw    $0x8200, dap_offset
        movw    $0, dap_segment
        movl    $1, dap_lba
        call    read

        mov     $2, %eax
        mov     $KERNEL_SECTORS, %ecx
        mov     $KERNEL_LOAD, %edi
        call    load

        mov     $MODULE_LBA, %eax
        mov     $MODULE_SECTORS, %ecx
        mov     $MODULE_LOAD, %edi
        call    load

        cli
        lgdt    gdt_desc
        mov     %cr0, %eax
        or      $1, %eax
        mov     %eax, %cr0
        ljmpl   $0x08, $pm32

/*
 * load: EAX = first LBA, ECX = sectors, EDI = destination (physical, 32-bit). Reads 64
 * sectors at a time into the bounce buffer and copies them up with INT 15h AH=87h.
 */
load:
2:      test    %ecx, %ecx
        jz      3f
        mov     %ecx, %ebx
        cmp     $64, %ebx
        jbe     4f
        mov     $64, %ebx
4:      pushal
        mov     %bx, dap_count
        movw    $0, dap_offset
        movw    $0x1000, dap_segment
        mov     %eax, dap_lba
        call    read
        popal
        pushal
        /* Destination descriptor base: bits 0..23 at +2, bits 24..31 at +7. */
        mov     %edi, %eax
        mov     %ax, gdt87_dst + 2
        shr     $16, %eax
        mov     %al, gdt87_dst + 4
        mov     %ah, gdt87_dst + 7
        mov     %bx, %cx
        shl     $8, %cx                 /* words = sectors * 256 */
        mov     $gdt87, %si
        mov     $0x87, %ah
        int     $0x15
        jc      fail
        popal
        add     %ebx, %eax
        sub     %ebx, %ecx
        shl     $9, %ebx
        add     %ebx, %edi
        jmp     2b
3:      ret

/* read: the DAP as set up; fails the boot on error. */
read:
        mov     $dap, %si
        mov     drive, %dl
        mov     $0x42, %ah
        int     $0x13
        jc      fail
        ret

fail:
        mov     $msg_fail, %si
        call    print
5:      cli
        hlt
        jmp     5b

/* print: the NUL-terminated string at DS:SI to port 0xE9. */
print:
        lodsb
        test    %al, %al
        jz      6f
        out     %al, $0xe9
        jmp     print
6:      ret

        .code32
pm32:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        mov     %ax, %ss
        mov     $0x7c00, %esp
        mov     $0x2badb002, %eax
        mov     $mbi, %ebx
        mov     $KERNEL_ENTRY, %ecx
        jmp     *%ecx

        .p2align 3
gdt:
        .quad   0
        .quad   0x00cf9a000000ffff      /* 0x08: flat 32-bit code */
        .quad   0x00cf92000000ffff      /* 0x10: flat data */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

/* INT 15h AH=87h's table: dummy, GDT, source (the bounce buffer at 0x10000), destination. */
        .p2align 3
gdt87:
        .quad   0, 0
        .word   0xffff, 0x0000
        .byte   0x01, 0x93, 0x00, 0x00
gdt87_dst:
        .word   0xffff, 0x0000
        .byte   0x00, 0x93, 0x00, 0x00
        .quad   0, 0

/* The multiboot information: flags (cmdline | mods), the command line, one module. */
        .p2align 2
mbi:
        .long   0x0000000c, 0, 0, 0, 0x8200, 1, mbi_module
mbi_module:
        .long   MODULE_LOAD, MODULE_LOAD + MODULE_BYTES, 0, 0

dap:
        .byte   0x10, 0
dap_count:
        .word   0
dap_offset:
        .word   0
dap_segment:
        .word   0
dap_lba:
        .quad   0

drive:  .byte   0
msg_hello:
        .asciz  "XTK-BOOT: loading\n"
msg_fail:
        .asciz  "XTK-BOOT: disk error\n"

        .org    510
        .word   0xaa55
