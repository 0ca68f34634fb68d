/*
 * gate.S - the dispatcher's own code that must not be intercepted, and the
 * trampoline the rewritten sites reach.
 *
 * Everything between vos_dispatch_gate_start and vos_dispatch_gate_end is
 * Syscall User Dispatch's allowed range: a `syscall` executed here always
 * goes to the kernel, whatever the selector says.  vos_dispatch_bounce lies
 * outside it on purpose (see below).
 */
	.section .text.vos_gate,"ax",@progbits
	.globl	vos_dispatch_gate_start
	.hidden	vos_dispatch_gate_start
vos_dispatch_gate_start:

/* long vos_dispatch_raw(long nr, const long a[6]) */
	.globl	vos_dispatch_raw
	.type	vos_dispatch_raw,@function
vos_dispatch_raw:
	mov	%rdi, %rax
	mov	40(%rsi), %r9
	mov	32(%rsi), %r8
	mov	24(%rsi), %r10
	mov	16(%rsi), %rdx
	mov	(%rsi), %rdi
	mov	8(%rsi), %rsi
	syscall
	ret
	.size	vos_dispatch_raw, .-vos_dispatch_raw

/* The restorer of the dispatcher's own SIGSYS handler: rt_sigreturn from here is never trapped. */
	.globl	vos_dispatch_restorer
	.hidden	vos_dispatch_restorer
vos_dispatch_restorer:
	mov	$15, %eax
	syscall
	ud2

/*
 * long vos_dispatch_clone_raw(long flags, long *block, long ptid, long ctid, long tls)
 *
 * clone(2) with a new stack, run from the SIGSYS handler.  The handler has
 * written a block at the top of the child's stack (block[0]: the program's
 * signal mask, block[1]: the clone flags, block[2..16]: r15 r14 r13 r12 rbp rbx r11
 * r10 r9 r8 rdi rsi rdx rcx rflags, block[17]: the rip to resume at) and passes block as the child's stack pointer.  The
 * parent returns the child's tid to the handler; the child arms dispatch for
 * itself, loads the interrupted registers and resumes the program with
 * %rsp where the program asked for it and %rax = 0.
 */
	.globl	vos_dispatch_clone_raw
	.hidden	vos_dispatch_clone_raw
vos_dispatch_clone_raw:
	mov	%rcx, %r10
	mov	$56, %eax
	syscall
	test	%rax, %rax
	jnz	1f
	mov	(%rsp), %rdi    /* the program's signal mask */
	mov	8(%rsp), %rsi   /* the clone flags */
	call	vos_dispatch_child_start
	add	$16, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	xor	%eax, %eax
	popfq
	ret
1:	ret

/*
 * The trampoline.  A rewritten site `call *%rax` lands in page 0's sled at
 * address nr and reaches a jump here, so on entry (%rsp) is the return
 * address (the site + 2) and %rax the system call number (< 1024).
 *
 * In order, cheapest first:
 * 1. vos_dispatch_nr_class[nr]: NR_BOUNCE (clone, fork, vfork, clone3,
 *    rt_sigreturn: the module runs them from the SIGSYS path) goes to
 *    vos_dispatch_bounce with the stack as it is (the SIGSYS handler pops the
 *    return address); NR_PASS runs the call here, natively; NR_MODULE (the
 *    calls dispatch.c adjusts: exit, rt_sigaction, ...) skips the precheck.
 * 2. Selector ALLOW (the dispatcher's own call through a rewritten site):
 *    natively.
 * 3. The frame: skip the caller's red zone (the call itself already wrote the
 *    8 bytes below the caller's %rsp: see README.md), save the flags and the
 *    six argument registers (a[0..5]).
 * 4. The precheck, if set: nonzero runs the call natively, with only the
 *    general registers saved.
 * 5. Otherwise save the extended state (xsave), call
 *    vos_dispatch_from_tramp(nr, a) and return its result in %rax.
 *
 * Flags: the direction flag is cleared for the C code and set again on the
 * way out if it was set; the arithmetic flags are not preserved (compilers
 * treat a `syscall` as clobbering them; hand-written code that keeps a
 * condition across a `syscall` would see the difference), except when the
 * DF was set (popfq then restores them all).
 */
#define NR_BOUNCE 1     /* dispatch.c's vos_dispatch_nr_class values */
#define NR_PASS 2

/* One body per way of saving the extended state (the macros below). */
	.macro	TRAMP name, save, restore, area
	.globl	\name
	.hidden	\name
\name:
	lea	vos_dispatch_nr_class(%rip), %r11
	movzbl	(%r11,%rax), %ecx       /* rcx is clobbered by syscall: free */
	cmp	$NR_PASS, %ecx
	je	3f
	cmp	$NR_BOUNCE, %ecx
	je	vos_dispatch_bounce_eager
	test	%cl, %cl
	js	6f              /* NR_WATCH (eager mode): mmap, mprotect */
7:	mov	vos_dispatch_selector@gottpoff(%rip), %r11
	cmpb	$0, %fs:(%r11)
	je	5f              /* ALLOW: the dispatcher's own call */
8:	sub	$128, %rsp
	pushfq
	push	%r9
	push	%r8
	push	%r10
	push	%rdx
	push	%rsi
	push	%rdi            /* a[0..5] from here up */
	push	%rbx
	push	%rbp
	mov	%rsp, %rbp      /* a = 16(%rbp), flags at 64(%rbp) */
	mov	%rax, %rbx      /* nr */
	cld
	test	%ecx, %ecx      /* NR_MODULE: the module must see it, no precheck */
	jnz	1f
	mov	vos_dispatch_precheck(%rip), %r11
	test	%r11, %r11
	jz	1f
	and	$-16, %rsp
	mov	%rbx, %rdi
	lea	16(%rbp), %rsi
	call	*%r11
	test	%eax, %eax
	jz	1f
	mov	vos_dispatch_tcount@gottpoff(%rip), %r11
	incq	%fs:8(%r11)     /* tcount.pre */
	mov	%rbp, %rsp
	mov	%rbx, %rax
	pop	%rbp
	pop	%rbx
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%r10
	pop	%r8
	pop	%r9
	syscall
	jmp	2f
1:	mov	%rbp, %rsp
	sub	$\area, %rsp   /* save area (xsave size checked at install) */
	and	$-64, %rsp
	\save
	mov	%rbx, %rdi
	lea	16(%rbp), %rsi
	call	vos_dispatch_from_tramp
	mov	%rax, %rbx
	\restore
	mov	%rbx, %rax
	mov	%rbp, %rsp
	pop	%rbp
	pop	%rbx
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%r10
	pop	%r8
	pop	%r9
2:	testl	$0x400, (%rsp)  /* DF was set: restore all the flags */
	jnz	4f
	lea	136(%rsp), %rsp
	ret
4:	popfq
	lea	128(%rsp), %rsp
	ret
3:	mov	vos_dispatch_tcount@gottpoff(%rip), %r11
	incq	%fs:(%r11)      /* tcount.pass */
5:	syscall
	ret
6:	test	$4, %dl         /* PROT_EXEC in the third argument: to the module, */
	jnz	9f              /* whatever the selector says */
	and	$0x7f, %ecx     /* otherwise as its class says */
	cmp	$NR_PASS, %ecx
	je	3b
	jmp	7b
9:	mov	$3, %ecx        /* NR_MODULE: no precheck */
	jmp	8b
	.endm

/*
 * Saving the extended state around the C code, at (%rsp), 64-byte aligned.  xsave/xsavec save everything the kernel would; on this
 * machine (AMD EPYC, AVX-512) xsavec+xrstor of the state glibc leaves in
 * use costs ~130 ns, spilling the vector registers by hand ~10 ns.  So where
 * XCR0 holds nothing beyond x87/SSE/AVX/AVX-512 (plus PKRU and AMX, which
 * the C code never touches) the trampoline spills by hand what the C code
 * (the handler, glibc) may clobber: the vector registers (zmm0-31 and k0-7,
 * or ymm0-15, or xmm0-15) and MXCSR.  Not the x87 registers: the SysV ABI
 * has them empty at every call, and the code the handler runs does not use
 * them -- the same choice glibc's lazy-binding trampoline makes
 * (_dl_runtime_resolve_xsavec leaves x87 out of its mask).  dispatch.c picks.
 */
	.macro	SAVE_XSAVE insn
	xor	%eax, %eax
	mov	%rax, 512(%rsp) /* xsave/xrstor want a clean header */
	mov	%rax, 520(%rsp)
	mov	%rax, 528(%rsp)
	mov	%rax, 536(%rsp)
	mov	%rax, 544(%rsp)
	mov	%rax, 552(%rsp)
	mov	%rax, 560(%rsp)
	mov	%rax, 568(%rsp)
	mov	$-1, %eax
	mov	$-1, %edx
	\insn	(%rsp)
	.endm
	.macro	SAVE_XSAVE64
	SAVE_XSAVE xsave64
	.endm
	.macro	SAVE_XSAVEC64
	SAVE_XSAVE xsavec64
	.endm
	.macro	RESTORE_XSAVE
	mov	$-1, %eax
	mov	$-1, %edx
	xrstor64 (%rsp)
	.endm

#define R16 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
#define R32 R16,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31

	.macro	SAVE_ZMM
	.irp	i, R32
	vmovdqu64 %zmm\i, \i*64(%rsp)
	.endr
	.irp	i, 0,1,2,3,4,5,6,7
	kmovq	%k\i, 2048+\i*8(%rsp)
	.endr
	stmxcsr	2112(%rsp)
	.endm
	.macro	RESTORE_ZMM
	.irp	i, R32
	vmovdqu64 \i*64(%rsp), %zmm\i
	.endr
	.irp	i, 0,1,2,3,4,5,6,7
	kmovq	2048+\i*8(%rsp), %k\i
	.endr
	ldmxcsr	2112(%rsp)
	.endm
	.macro	SAVE_YMM
	.irp	i, R16
	vmovdqu	%ymm\i, \i*32(%rsp)
	.endr
	stmxcsr	512(%rsp)
	.endm
	.macro	RESTORE_YMM
	.irp	i, R16
	vmovdqu	\i*32(%rsp), %ymm\i
	.endr
	ldmxcsr	512(%rsp)
	.endm
	.macro	SAVE_XMM
	.irp	i, R16
	movdqu	%xmm\i, \i*16(%rsp)
	.endr
	stmxcsr	256(%rsp)
	.endm
	.macro	RESTORE_XMM
	.irp	i, R16
	movdqu	\i*16(%rsp), %xmm\i
	.endr
	ldmxcsr	256(%rsp)
	.endm

/* The stack each body reserves (below the red zone): the xsave area's
 * 4 KiB, or what the hand spills need (a signal handler on a small
 * alternate stack makes system calls too). */
	TRAMP	vos_dispatch_tramp_entry, SAVE_XSAVE64, RESTORE_XSAVE, 4096
	TRAMP	vos_dispatch_tramp_entry_c, SAVE_XSAVEC64, RESTORE_XSAVE, 4096
	TRAMP	vos_dispatch_tramp_entry_zmm, SAVE_ZMM, RESTORE_ZMM, 2176
	TRAMP	vos_dispatch_tramp_entry_ymm, SAVE_YMM, RESTORE_YMM, 576
	TRAMP	vos_dispatch_tramp_entry_xmm, SAVE_XMM, RESTORE_XMM, 320

/*
 * The calls the SIGSYS path runs (NR_BOUNCE) go to vos_dispatch_bounce, whose
 * `syscall` traps because Syscall User Dispatch is on.  In eager mode it is
 * off: turn it on for this thread first (prctl, with the argument registers
 * kept); the SIGSYS handler turns it off again.
 *
 * With the selector ALLOW (the dispatcher's or the handler's own call
 * through a rewritten site: glibc's clone() that libvirtuos uses for a
 * helper, its fork()) the call runs natively here, as the original site
 * would have run it -- in eager mode every glibc site is rewritten, even
 * clone's, which lazy mode never rewrites:
 * - clone with a new stack: the return address is copied onto the child's
 *   stack (the stack pointer passed 8 lower, rsi restored on both sides),
 *   so the child returns to the site too, with the stack it asked for;
 * - clone3: ENOSYS (glibc falls back to clone, as for the program);
 * - vfork: as fork (a vfork child returning through this frame would
 *   overwrite the parent's return address); fork, clone without a stack:
 *   the bounce, natively.
 * rt_sigreturn: below.
 */
	.globl	vos_dispatch_bounce_eager
	.hidden	vos_dispatch_bounce_eager
vos_dispatch_bounce_eager:
	cmp	$15, %eax               /* rt_sigreturn */
	je	2f
	mov	vos_dispatch_selector@gottpoff(%rip), %r11
	cmpb	$0, %fs:(%r11)
	je	4f                      /* ALLOW: natively */
	cmpb	$0, vos_dispatch_eager(%rip)
	je	vos_dispatch_bounce     /* lazy: it traps */
	lea	-128(%rsp), %rsp        /* the caller's red zone */
	push	%rax
	push	%rdi
	push	%rsi
	push	%rdx
	push	%r10
	push	%r8
	push	%r9
	mov	%fs:0, %r8              /* the thread pointer ... */
	add	%r11, %r8               /* ... + the offset: &vos_dispatch_selector */
	lea	vos_dispatch_gate_start(%rip), %rdx
	lea	vos_dispatch_gate_end(%rip), %r10
	sub	%rdx, %r10
	mov	$59, %edi               /* PR_SET_SYSCALL_USER_DISPATCH */
	mov	$1, %esi                /* PR_SYS_DISPATCH_ON */
	mov	$157, %eax              /* prctl */
	syscall
	pop	%r9
	pop	%r8
	pop	%r10
	pop	%rdx
	pop	%rsi
	pop	%rdi
	pop	%rax
	lea	128(%rsp), %rsp
	jmp	vos_dispatch_bounce
4:	cmp	$56, %eax               /* clone */
	je	5f
	cmp	$435, %eax              /* clone3 */
	je	6f
	cmp	$58, %eax               /* vfork */
	jne	vos_dispatch_bounce
	mov	$57, %eax               /* ... as fork */
	jmp	vos_dispatch_bounce
5:	test	%rsi, %rsi
	jz	vos_dispatch_bounce     /* no new stack: fork-like */
	mov	(%rsp), %rcx            /* rcx, r11: clobbered by syscall anyway */
	mov	%rcx, -8(%rsi)
	sub	$8, %rsi
	syscall
	add	$8, %rsi
	ret                             /* parent: its stack; child: the copy on its new one */
6:	mov	$-38, %rax              /* -ENOSYS */
	ret
/* rt_sigreturn runs natively here, once the call's return address is
 * dropped (the signal frame is right above it): in eager mode, and in lazy
 * mode with the selector ALLOW (a signal handler that ran while the
 * dispatcher did; a native bounce would read the frame 8 bytes off).  In
 * lazy mode with BLOCK it traps as before (do_sigreturn, dispatch.c). */
2:	cmpb	$0, vos_dispatch_eager(%rip)
	jne	3f
	mov	vos_dispatch_selector@gottpoff(%rip), %r11
	cmpb	$0, %fs:(%r11)
	jne	vos_dispatch_bounce
3:	lea	8(%rsp), %rsp
	syscall
	ud2

/* Page 0's second sled ends here: numbers 1039..4082, invalid ones, get the
 * kernel's answer (ENOSYS) and return to the site. */
	.globl	vos_dispatch_big_nr
	.hidden	vos_dispatch_big_nr
vos_dispatch_big_nr:
	syscall
	ret

	.globl	vos_dispatch_gate_end
	.hidden	vos_dispatch_gate_end
vos_dispatch_gate_end:

/* Outside the allowed range: this syscall traps (see the trampoline), unless
 * the selector is ALLOW (the handler's own call through a rewritten site):
 * then it runs natively and returns to the site like the `call` expects. */
	.text
	.globl	vos_dispatch_bounce
	.hidden	vos_dispatch_bounce
vos_dispatch_bounce:
	syscall
	.globl	vos_dispatch_bounce_end
	.hidden	vos_dispatch_bounce_end
vos_dispatch_bounce_end:
	ret

	.section .note.GNU-stack,"",@progbits
