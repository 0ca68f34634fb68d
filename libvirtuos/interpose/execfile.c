/*
 * execfile.c - exec of a program stored behind a service.
 *
 * The kernel cannot open a routed path, so before an exec the library
 * works out what the kernel is to run instead (a "plan"), doing for a
 * routed file what the kernel's exec does for a local one:
 *
 *   - a symlink is followed through the service (READLINKAT) like the
 *     kernel follows it: an absolute target is a path of this process
 *     (it may be local: a Python venv's bin/python3 -> /usr/bin/python3),
 *     a relative one is taken from the link's directory; at most 40 links
 *     (ELOOP), none with AT_SYMLINK_NOFOLLOW (ELOOP).  A local target is
 *     run with argv unchanged (argv[0] is how Python finds pyvenv.cfg);
 *   - the kernel's checks: a directory or anything else that is not a
 *     regular file is EACCES, no execute permission (FACCESSAT X_OK with
 *     AT_EACCESS, as the kernel checks exec) is EACCES, a missing file
 *     ENOENT, an unknown format ENOEXEC (glibc's execvp then runs it with
 *     /bin/sh, as natively: its execve system calls reach the dispatcher);
 *   - an ELF binary is copied into a sealed memfd (close-on-exec) and
 *     that is run: execveat(memfd, "", AT_EMPTY_PATH), or
 *     "/proc/self/fd/N" for posix_spawn.  argv is the caller's.  The new
 *     image sees /proc/self/exe as "/memfd:NAME (deleted)" and AT_EXECFN
 *     as "/dev/fd/N"; set-user-ID bits are not honoured;
 *   - a "#!" script: its first line is parsed as the kernel does (256
 *     bytes, one optional argument, leading and trailing blanks dropped),
 *     and the interpreter is run as [interpreter, arg, script, argv[1]...]
 *     (script: the path as given, so the interpreter opens it through the
 *     library), the interpreter being resolved the same way (local, or
 *     routed again; at most 5 levels, ELOOP).
 *
 * A local path is left to the kernel unchanged (a local script whose
 * interpreter is routed fails with ENOENT, as the kernel says).  Reading a
 * routed program needs read permission (the service opens it to read it;
 * the kernel needs only execute permission).
 *
 * Memory for a plan comes from mmap, not malloc: the dispatcher may call
 * this in a vfork child.  Only raw system calls, real_* and rpc.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif
#include "interpose_internal.h"
#include "channel/memfd.h"
#include "channel/vos_sys.h"
#include "common/vos_opdef.h"

#define LINKS_MAX    40         /* the kernel's MAXSYMLINKS */
#define SCRIPT_DEPTH 5          /* the kernel's limit of interpreter levels */
#define BINPRM_BUF   256        /* bytes of a file the kernel looks at */

/* The plan's own memory (one mapping). */
struct plan_mem {
	size_t size;
	char path[PATH_MAX];                    /* the local path to run */
	char full[PATH_MAX];                    /* scratch: a routed path, process view */
	char target[PATH_MAX];                  /* scratch: a symlink's target */
	char script[SCRIPT_DEPTH][PATH_MAX];    /* each level's script path */
	char line[SCRIPT_DEPTH][BINPRM_BUF + 1];/* each level's "#!" line */
	char *argv[];                           /* the argv of a script's interpreter */
};

static size_t argv_count(char *const argv[])
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

/* The routed path p as a path of this process ("/storage/a/b"). */
static int routed_full_path(const struct vos_path *p, char *out, size_t size)
{
	char rel[PATH_MAX];
	size_t n;

	if (p->dirfd == VOS_FD_ROOT)
		return vos_join_prefix(p->svc, p->path, out, size);
	if (vos_remote_fdpath(p->client, p->dirfd, rel, sizeof(rel)) < 0 ||
	    vos_join_prefix(p->svc, rel, out, size) < 0)
		return -1;
	if (!p->path)
		return 0;
	n = strlen(out);
	if (n + 1 + strlen(p->path) + 1 > size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '/';
	strcpy(out + n + 1, p->path);
	return 0;
}

static int remote_lstat(const struct vos_path *p, struct stat *st)
{
	return (int)vos_ret(vos_path_rpc(p, VOS_OP_FSTATAT, AT_SYMLINK_NOFOLLOW, 0, 0, st,
					 sizeof(*st), 1));
}

/*
 * p is a symlink: route its target (absolute: a path of this process;
 * relative: from the link's directory) into p.  mem->target holds the
 * path.  1 routed, 0 local, -1 with errno.
 */
static int follow_link(struct vos_path *p, struct plan_mem *mem)
{
	char *dir_end;
	int64_t n;
	size_t dlen;

	if (routed_full_path(p, mem->full, sizeof(mem->full)) < 0)
		return -1;
	n = vos_path_rpc(p, VOS_OP_READLINKAT, PATH_MAX - 1, 0, 0, mem->target, PATH_MAX - 1, 0);
	if (n < 0)
		return (int)vos_ret(n);
	mem->target[n] = '\0';
	if (n == 0 || strlen(mem->target) != (size_t)n) {
		errno = n == 0 ? ENOENT : EIO;
		return -1;
	}
	if (mem->target[0] != '/') {
		dir_end = strrchr(mem->full, '/');
		dlen = dir_end ? (size_t)(dir_end - mem->full) : 0;
		if (dlen + 1 + (size_t)n + 1 > sizeof(mem->full)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		mem->full[dlen] = '/';
		memcpy(mem->full + dlen + 1, mem->target, (size_t)n + 1);
		memcpy(mem->target, mem->full, dlen + 1 + (size_t)n + 1);
	}
	return vos_path_resolve(AT_FDCWD, mem->target, 0, p);
}

/* May we run it?  The kernel's answers for what is not a runnable file. */
static int check_runnable(const struct vos_path *p, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		errno = EACCES;
		return -1;
	}
	return (int)vos_ret(vos_path_rpc(p, VOS_OP_FACCESSAT, X_OK, AT_EACCESS, 0, NULL, 0, 0));
}

/* The whole remote file (size bytes as fstat said) in a sealed memfd. */
static int copy_to_memfd(struct vos_client *c, int rfd, off_t size, const char *name)
{
	const unsigned seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	long mfd = syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err = 0;

	if (mfd < 0)
		return -1;
	if (size > 0) {
		long w;

		err = -vos_memfd_truncate((int)mfd, size);     /* not RLIMIT_FSIZE's */
		if (err)
			goto fail;
		w = vos_sys_mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)mfd, 0);
		if (w < 0) {
			err = (int)-w;
			goto fail;
		}
		if (vos_remote_pread_full(c, rfd, (void *)w, (size_t)size, 0) < 0)
			err = errno;
		vos_sys_munmap((void *)w, (size_t)size);
		if (err)
			goto fail;
	}
	if (vos_sys_fcntl((int)mfd, F_ADD_SEALS, seals) < 0) {
		err = errno;
		goto fail;
	}
	return (int)mfd;
fail:
	vos_sys_close((int)mfd);
	errno = err;
	return -1;
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The kernel's parse of a "#!" line (fs/binfmt_script.c): buf holds the
 * file's first BINPRM_BUF bytes, zero padded, plus a NUL.  Sets *name and
 * *arg (NULL if none) inside buf.  0, or -1 with ENOEXEC.
 */
int vos_exec_parse_shebang(char *buf, char **name, char **arg)
{
	char *end = memchr(buf, '\n', BINPRM_BUF), *p, *sep;

	if (!end) {
		/* No newline: fine only if the interpreter's name is whole,
		 * i.e. followed by a blank or NUL within the buffer. */
		p = buf + 2;
		while (p < buf + BINPRM_BUF - 1 && blank(*p))
			p++;
		if (p >= buf + BINPRM_BUF - 1)
			goto noexec;
		while (p < buf + BINPRM_BUF - 1 && !blank(*p) && *p)
			p++;
		if (p >= buf + BINPRM_BUF - 1)
			goto noexec;
		end = buf + BINPRM_BUF - 1;
	}
	while (end > buf + 2 && blank(end[-1]))
		end--;
	*end = '\0';
	p = buf + 2;
	while (p < end && blank(*p))
		p++;
	if (p >= end || !*p)
		goto noexec;
	*name = p;
	*arg = NULL;
	sep = p;
	while (sep < end && *sep && !blank(*sep))
		sep++;
	if (sep < end && *sep) {
		*sep++ = '\0';
		while (sep < end && blank(*sep))
			sep++;
		if (sep < end && *sep)
			*arg = sep;
	}
	return 0;
noexec:
	errno = ENOEXEC;
	return -1;
}

static void plan_local(struct vos_exec_plan *pl, struct plan_mem *mem, const struct vos_path *p,
		       int flags, char *const argv[])
{
	pl->dirfd = p->dirfd;
	pl->path = p->path;
	if (p->path && p->path != pl->path_given) {
		/* p->buf is the caller's stack: keep our own copy */
		snprintf(mem->path, sizeof(mem->path), "%s", p->path);
		pl->path = mem->path;
	}
	pl->flags = flags;
	pl->argv = argv;
	pl->spawn_path = pl->path;
}

int vos_exec_plan(int dirfd, const char *path, char *const argv[], int flags,
		  struct vos_exec_plan *pl)
{
	struct plan_mem *mem;
	struct vos_path p;
	char *const *cur_argv = argv;
	const char *cur = path;
	int cur_dirfd = dirfd, cur_flags = flags, err = 0;
	size_t argc = argv_count(argv), size, stride;
	long m;

	pl->dirfd = dirfd;
	pl->path = path;
	pl->path_given = path;
	pl->argv = argv;
	pl->flags = flags;
	pl->spawn_path = path;
	pl->memfd = -1;
	pl->mem = NULL;
	if (!path) {
		errno = EFAULT;
		return -1;
	}
	/* a level's argv: at most 2 + argc - 1 + 3 per level, and NULL */
	stride = argc + 3 * SCRIPT_DEPTH + 2;
	size = sizeof(*mem) + 2 * stride * sizeof(char *);
	m = vos_sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0) {
		errno = (int)-m;
		return -1;
	}
#ifdef __SANITIZE_ADDRESS__
	/* Fresh memory from a raw mmap: ASan's shadow of the range may still
	 * hold a dead stack's poison (a spawn child that exec'd from a handler
	 * frame on a stack since unmapped). */
	ASAN_UNPOISON_MEMORY_REGION((void *)m, size);
#endif
	mem = (struct plan_mem *)m;
	mem->size = size;
	pl->mem = mem;

	for (int depth = 0;; depth++) {
		int r = vos_path_resolve(cur_dirfd, cur, cur_flags & AT_EMPTY_PATH, &p);
		int links = 0, rfd;
		char hdr[BINPRM_BUF + 1], *name, *arg;
		struct stat st;

		if (r < 0)
			goto fail;
		if (r == 1 && !p.path) {
			/* A remote fd itself (fexecve): its file, by path, which
			 * the service can open for reading whatever the fd is. */
			if (routed_full_path(&p, mem->target, sizeof(mem->target)) < 0 ||
			    (r = vos_path_resolve(AT_FDCWD, mem->target, 0, &p)) < 0)
				goto fail;
		}
		for (;;) {
			if (r == 0) {
				/* after a link: an absolute path of this process */
				plan_local(pl, mem, &p, links ? 0 : cur_flags, cur_argv);
				return 0;
			}
			if (remote_lstat(&p, &st) < 0) {
				if (errno != VOS_ELINKOUT)
					goto fail;
				/* A directory on the way is a link out of the
				 * export: go on where it leads (route.c). */
				if (routed_full_path(&p, mem->full, sizeof(mem->full)) < 0)
					goto fail;
				r = vos_path_linkout(AT_FDCWD, mem->full, 0, &links, mem->target);
				if (r == 0)
					strcpy(mem->target, mem->full);
				if (r < 0 || (r = vos_path_resolve(AT_FDCWD, mem->target, 0, &p)) < 0)
					goto fail;
				continue;
			}
			if (!S_ISLNK(st.st_mode))
				break;
			if ((cur_flags & AT_SYMLINK_NOFOLLOW) || ++links > LINKS_MAX) {
				errno = ELOOP;
				goto fail;
			}
			r = follow_link(&p, mem);
			if (r < 0)
				goto fail;
		}
		if (check_runnable(&p, &st) < 0)
			goto fail;
		rfd = vos_remote_openat(&p, O_RDONLY | O_CLOEXEC, 0);
		if (rfd < 0)
			goto fail;
		memset(hdr, 0, sizeof(hdr));
		if (vos_remote_pread_full(p.client, rfd, hdr, BINPRM_BUF, 0) < 0) {
			err = errno;
		} else if (memcmp(hdr, "\177ELF", 4) == 0) {
			const char *base = strrchr(p.path, '/');

			pl->memfd = copy_to_memfd(p.client, rfd, st.st_size,
						  base && base[1] ? base + 1 : "libvirtuos-exec");
			if (pl->memfd < 0)
				err = errno;
		} else if (hdr[0] != '#' || hdr[1] != '!') {
			err = ENOEXEC;
		}
		vos_remote_close(rfd);
		if (err) {
			errno = err;
			goto fail;
		}
		if (pl->memfd >= 0) {
			pl->dirfd = pl->memfd;
			pl->path = "";
			pl->flags = AT_EMPTY_PATH;
			pl->argv = cur_argv;
			snprintf(pl->fd_path, sizeof(pl->fd_path), "/proc/self/fd/%d", pl->memfd);
			pl->spawn_path = pl->fd_path;
			return 0;
		}

		/* A script: run its interpreter. */
		if (depth >= SCRIPT_DEPTH) {
			errno = ELOOP;
			goto fail;
		}
		memcpy(mem->line[depth], hdr, sizeof(hdr));
		if (vos_exec_parse_shebang(mem->line[depth], &name, &arg) < 0)
			goto fail;
		/* The script's path as the kernel passes it: as given, or
		 * through the directory fd (a path the library routes). */
		if (cur_dirfd == AT_FDCWD || (cur[0] == '/' && !(cur_flags & AT_EMPTY_PATH))) {
			snprintf(mem->script[depth], PATH_MAX, "%s", cur);
		} else if (vos_path_resolve(cur_dirfd, cur, cur_flags & AT_EMPTY_PATH, &p) != 1 ||
			   routed_full_path(&p, mem->script[depth], PATH_MAX) < 0) {
			goto fail;
		}
		{
			/* Two arrays, used in turn: each level reads the last one. */
			char **nargv = mem->argv + (size_t)(depth % 2) * stride;
			size_t k = 0, n = argv_count(cur_argv);

			nargv[k++] = name;
			if (arg)
				nargv[k++] = arg;
			nargv[k++] = mem->script[depth];
			for (size_t i = 1; i < n; i++)
				nargv[k++] = cur_argv[i];
			nargv[k] = NULL;
			cur_argv = nargv;
		}
		cur = name;
		cur_dirfd = AT_FDCWD;
		cur_flags = 0;
	}
fail:
	err = errno;
	vos_exec_plan_free(pl);
	errno = err;
	return -1;
}

void vos_exec_plan_free(struct vos_exec_plan *pl)
{
	if (pl->memfd >= 0)
		vos_sys_close(pl->memfd);
	pl->memfd = -1;
	if (pl->mem)
		vos_sys_munmap(pl->mem, ((struct plan_mem *)pl->mem)->size);
	pl->mem = NULL;
}

/* ---- PATH search: posix_spawnp with routed entries (glibc's execvpe searches
 * through execve system calls, which the dispatcher catches) ---------------- */

/* PATH as glibc's execvpe reads it (CS_PATH when unset). */
static const char *search_path(void)
{
	const char *path = getenv("PATH");

	return path ? path : "/bin:/usr/bin";
}

/* dir (len bytes) + "/" + file in buf, as glibc builds it ("" is the
 * cwd: then no slash).  0, or -1 if it does not fit (skip it). */
static int join_candidate(char *buf, size_t size, const char *dir, size_t len, const char *file)
{
	size_t flen = strlen(file);

	if (len + 1 + flen + 1 > size)
		return -1;
	memcpy(buf, dir, len);
	buf[len] = '/';
	memcpy(buf + len + (len > 0), file, flen + 1);
	return 0;
}

int vos_spawnp_plan(const char *file, char *const argv[], struct vos_exec_plan *pl)
{
	char buf[PATH_MAX + NAME_MAX + 2];
	const char *p, *end;

	if (!file || !*file)
		return 0;
	if (strchr(file, '/'))
		return vos_exec_plan(AT_FDCWD, file, argv, 0, pl) < 0 ? -1 : 1;
	for (p = search_path();; p = end + 1) {
		struct vos_path vp;
		int r;

		end = strchrnul(p, ':');
		if (join_candidate(buf, sizeof(buf), p, (size_t)(end - p), file) == 0) {
			r = vos_path_resolve(AT_FDCWD, buf, 0, &vp);
			/* The first local candidate that exists: glibc finds it too. */
			if (r == 0 && real_access(vp.path, F_OK) == 0)
				return 0;
			if (r == 1 && vos_exec_plan(AT_FDCWD, buf, argv, 0, pl) == 0)
				return 1;
		}
		if (!*end)
			break;
	}
	return 0;       /* nothing routed found: glibc's answer */
}
