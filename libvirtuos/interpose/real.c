/*
 * real.c - resolve glibc's functions behind our wrappers (see real.h).
 */
#include <dlfcn.h>
#include <pthread.h>
#include "real.h"

#define X(ret, name, args) ret (*real_##name) args;
VOS_REAL_FUNCS(X)
#undef X

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	/* The cast through void * is how dlsym results become function
	 * pointers (POSIX guarantees it works). */
#define X(ret, name, args) *(void **)&real_##name = dlsym(RTLD_NEXT, #name);
	VOS_REAL_FUNCS(X)
#undef X
}

void vos_real_init(void)
{
	pthread_once(&real_once, resolve);
}
