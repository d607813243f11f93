/* The hypercall thunks of upstream's src/xen/amd64/hypercall_thunk.asm (MASM), written in GAS
 * for this build: Microsoft x64 convention in (ord in ecx, arguments in rdx, r8, r9), Xen's
 * hypercall registers out (eax, rdi, rsi, rdx); rdi and rsi are callee-saved in the Microsoft
 * convention, so they are saved around the call. */
    .text

    .globl hypercall2_vmcall
hypercall2_vmcall:
    push %rdi
    push %rsi
    mov %ecx, %eax
    mov %rdx, %rdi
    mov %r8, %rsi
    vmcall
    pop %rsi
    pop %rdi
    ret

    .globl hypercall2_vmmcall
hypercall2_vmmcall:
    push %rdi
    push %rsi
    mov %ecx, %eax
    mov %rdx, %rdi
    mov %r8, %rsi
    vmmcall
    pop %rsi
    pop %rdi
    ret

    .globl hypercall3_vmcall
hypercall3_vmcall:
    push %rdi
    push %rsi
    mov %ecx, %eax
    mov %rdx, %rdi
    mov %r8, %rsi
    mov %r9, %rdx
    vmcall
    pop %rsi
    pop %rdi
    ret

    .globl hypercall3_vmmcall
hypercall3_vmmcall:
    push %rdi
    push %rsi
    mov %ecx, %eax
    mov %rdx, %rdi
    mov %r8, %rsi
    mov %r9, %rdx
    vmmcall
    pop %rsi
    pop %rdi
    ret
