/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * PVH entry, long-mode switch, the AP entry and the interrupt stubs of the test kernel.
 * Included with global_asm!(.., options(att_syntax)).
 */

/* XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit physical entry point Xen uses for a PVH guest. */
        .section .note.Xen, "a"
        .p2align 2
        .long 4
        .long 4
        .long 18
        .asciz "Xen"
        .p2align 2
        .long pvh_start32
        .p2align 2

/*
 * Multiboot v1 header with the a.out kludge (flags bit 16): the load and entry addresses come
 * from the header, so a multiboot loader never parses our 64-bit ELF. An HVM guest's boot sector
 * (scripts/lib/xtk-bootsector.S) loads the flat image and enters mb_start32 the multiboot way;
 * Xen's PVH loader ignores these bytes. It must lie in the first 8 KiB of the file, 4-aligned:
 * the linker script puts this section right after the Xen note.
 */
        .section .text.multiboot, "a"
        .p2align 3
        .globl mb_header
mb_header:
        .long   0x1badb002                      /* magic */
        .long   0x00010000                      /* flags: the address fields are valid */
        .long   -(0x1badb002 + 0x00010000)      /* checksum */
        .long   mb_header                       /* header_addr */
        .long   pvh_image_start                 /* load_addr */
        .long   pvh_load_end                    /* load_end_addr */
        .long   pvh_bss_end                     /* bss_end_addr */
        .long   mb_start32                      /* entry_addr */

/*
 * Entered in 32-bit protected mode, paging off, flat CS/DS, EBX = hvm_start_info (physical).
 * No stack yet.
 */
        .section .text.pvh_start, "ax"
        .code32
        .globl pvh_start32
pvh_start32:
        cli
        cld
        xor     %ebp, %ebp
        jmp     start32_common

/*
 * The multiboot entry: EAX = 0x2badb002, EBX = the multiboot information (physical), flat
 * 32-bit segments, paging off, interrupts off. EBP carries the magic to Rust, which turns the
 * multiboot information into a start info (src/boot.rs).
 */
        .globl mb_start32
mb_start32:
        cli
        cld
        mov     %eax, %ebp

start32_common:
        mov     %ebx, %esi

        /* Zero .bss (Xen zeroes it too; do not depend on that). */
        mov     $pvh_bss_start, %edi
        mov     $pvh_bss_end, %ecx
        sub     %edi, %ecx
        xor     %eax, %eax
        rep stosb

        /* PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories; 2048 x 2 MiB = 4 GiB identity. */
        mov     $pvh_pdpt, %eax
        or      $0x3, %eax
        mov     %eax, pvh_pml4

        mov     $pvh_pd, %eax
        or      $0x3, %eax
        xor     %ecx, %ecx
1:      mov     %eax, pvh_pdpt(,%ecx,8)
        add     $0x1000, %eax
        inc     %ecx
        cmp     $4, %ecx
        jb      1b

        mov     $0x83, %eax
        xor     %ecx, %ecx
2:      mov     %eax, pvh_pd(,%ecx,8)
        add     $0x200000, %eax
        inc     %ecx
        cmp     $2048, %ecx
        jb      2b

        lgdt    pvh_gdt_desc

        /* CR4: PAE | OSFXSR | OSXMMEXCPT. */
        mov     %cr4, %eax
        or      $0x620, %eax
        mov     %eax, %cr4

        mov     $pvh_pml4, %eax
        mov     %eax, %cr3

        /* EFER.LME */
        mov     $0xc0000080, %ecx
        rdmsr
        or      $0x100, %eax
        wrmsr

        /* CR0: PG | NE | MP | PE, EM and TS clear. */
        mov     %cr0, %eax
        and     $0xfffffff3, %eax
        or      $0x80000023, %eax
        mov     %eax, %cr0

        ljmp    $0x08, $pvh_start64

        .code64
pvh_start64:
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs
        mov     $pvh_bsp_stack_top, %rsp
        mov     %esi, %edi
        mov     %ebp, %esi
        xor     %ebp, %ebp
        call    pvh_bsp_main
3:      hlt
        jmp     3b

/*
 * Secondary vCPUs start here in 64-bit mode (VCPUOP_initialise, VCPU_HVM_MODE_64B) with our
 * CR0/CR3/CR4/EFER, RSP and RDI (the vCPU id) set, and flat segments without selectors.
 */
        .globl pvh_ap_start64
pvh_ap_start64:
        lgdt    pvh_gdt_desc
        pushq   $0x08
        lea     4f(%rip), %rax
        pushq   %rax
        lretq
4:      mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs
        xor     %ebp, %ebp
        call    pvh_ap_main
5:      hlt
        jmp     5b

/*
 * Interrupt stubs: 256 of them, 16 bytes apart from pvh_isr_base. Each pushes a zero error code
 * where the CPU pushes none, then the vector, and joins the common path, which saves the
 * integer and SSE state and calls pvh_interrupt(frame).
 */
        .p2align 4
        .globl pvh_isr_base
pvh_isr_base:
        .set    vec, 0
        .rept   256
        .p2align 4
        .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        .else
        pushq   $0
        .endif
        pushq   $vec
        jmp     pvh_isr_common
        .set    vec, vec + 1
        .endr

pvh_isr_common:
        push    %rax
        push    %rcx
        push    %rdx
        push    %rbx
        push    %rbp
        push    %rsi
        push    %rdi
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        mov     %rsp, %rdi
        mov     %rsp, %rbx
        sub     $512, %rsp
        and     $-64, %rsp
        fxsave64 (%rsp)
        cld
        call    pvh_interrupt
        fxrstor64 (%rsp)
        mov     %rbx, %rsp
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rdi
        pop     %rsi
        pop     %rbp
        pop     %rbx
        pop     %rdx
        pop     %rcx
        pop     %rax
        add     $16, %rsp
        iretq

/* GDT: null, 64-bit code (0x08), data (0x10), one 16-byte TSS slot per CPU (0x18, 0x28). */
        .section .data.pvh_gdt, "aw"
        .p2align 4
        .globl pvh_gdt
pvh_gdt:
        .quad   0
        .quad   0x00af9b000000ffff
        .quad   0x00cf93000000ffff
        .quad   0, 0
        .quad   0, 0
pvh_gdt_end:
        .p2align 3
        .globl pvh_gdt_desc
pvh_gdt_desc:
        .word   pvh_gdt_end - pvh_gdt - 1
        .quad   pvh_gdt

        .section .bss.pvh_boot, "aw", @nobits
        .p2align 12
        .globl pvh_pml4
pvh_pml4:
        .skip   4096
pvh_pdpt:
        .skip   4096
pvh_pd:
        .skip   4 * 4096
        .p2align 4
        .globl pvh_bsp_stack
pvh_bsp_stack:
        .skip   65536
        .globl pvh_bsp_stack_top
pvh_bsp_stack_top:
