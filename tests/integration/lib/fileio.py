"""File I/O through Python's os, io, shutil and pathlib, in the directory given
as argv[1].  Prints what it observes (no inode numbers, times or fd numbers),
so the output of a native run and of a forwarded run can be compared."""
import errno
import fcntl
import hashlib
import os
import pathlib
import shutil
import sys
import threading

D = sys.argv[1]


def p(*parts):
    return os.path.join(D, *parts)


def err(what, fn):
    """Run fn, print the errno name it fails with (or that it worked)."""
    try:
        fn()
        print(what, "worked")
    except OSError as e:
        print(what, errno.errorcode.get(e.errno, e.errno))


def main():
    # open / write / read / seek / tell
    with open(p("a.txt"), "w") as f:
        for i in range(1000):
            f.write("line %d\n" % i)
        print("tell after write", f.tell())
    with open(p("a.txt"), "r+") as f:
        print("first", f.readline().strip())
        f.seek(100)
        print("at 100", repr(f.read(20)))
        f.seek(0, os.SEEK_END)
        f.write("tail\n")
        print("size by tell", f.tell())
    with open(p("a.txt"), "rb") as f:
        data = f.read()
        print("sha256", hashlib.sha256(data).hexdigest(), len(data))
    with open(p("a.txt"), "a+") as f:
        f.write("appended\n")
        f.seek(0)
        print("lines", len(f.readlines()))

    # large binary writes and reads, read-modify-write in the middle
    blob = bytes((i * 7 + 3) % 251 for i in range(3 * 1024 * 1024 + 17))
    with open(p("big.bin"), "wb") as f:
        f.write(blob)
    with open(p("big.bin"), "r+b") as f:
        f.seek(1024 * 1024 - 3)
        f.write(b"XYZXYZ")
        f.seek(0)
        back = f.read()
    print("big sha256", hashlib.sha256(back).hexdigest(), len(back))

    # raw fds: os.open/pread/pwrite/lseek/ftruncate/fsync/dup
    fd = os.open(p("raw"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    print("write", os.write(fd, b"0123456789" * 10))
    print("pwrite", os.pwrite(fd, b"abc", 5))
    print("pread", os.pread(fd, 12, 0))
    print("lseek end", os.lseek(fd, 0, os.SEEK_END))
    os.ftruncate(fd, 50)
    os.fsync(fd)
    os.fdatasync(fd)
    print("fstat size", os.fstat(fd).st_size)
    fd2 = os.dup(fd)
    os.lseek(fd, 10, os.SEEK_SET)
    print("dup shares offset", os.lseek(fd2, 0, os.SEEK_CUR))
    print("fd flags rdwr", fcntl.fcntl(fd2, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR)
    print("cloexec of dup", bool(fcntl.fcntl(fd2, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
    os.close(fd2)
    fcntl.flock(fd, fcntl.LOCK_EX)
    fcntl.lockf(fd, fcntl.LOCK_UN)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    err("read after close", lambda: os.read(fd, 1))
    err("fstat after close", lambda: os.fstat(fd))

    # directories: mkdir, listdir, scandir, walk, fwalk, rename, rmdir
    for d in ("t/a/b", "t/c", "t/empty"):
        os.makedirs(p(d), exist_ok=True)
    for name in ("t/x.txt", "t/a/y.txt", "t/a/b/z.txt", "t/c/w.dat"):
        with open(p(name), "w") as f:
            f.write(name * 3)
    print("listdir", sorted(os.listdir(p("t"))))
    print("scandir", sorted((e.name, e.is_dir(), e.is_file()) for e in os.scandir(p("t"))))
    for root, dirs, files in sorted(os.walk(p("t"))):
        print("walk", os.path.relpath(root, D), sorted(dirs), sorted(files))
    seen = []
    for root, dirs, files, rootfd in os.fwalk(p("t")):
        # rootfd is only valid during this step
        seen.append(("fwalk", os.path.relpath(root, D), sorted(dirs), sorted(files),
                     os.stat("x.txt", dir_fd=rootfd).st_size if "x.txt" in files else "-"))
    for item in sorted(seen):
        print(*item)
    os.rename(p("t/x.txt"), p("t/renamed.txt"))
    os.replace(p("t/a/y.txt"), p("t/renamed.txt"))
    print("after rename", sorted(os.listdir(p("t"))), sorted(os.listdir(p("t/a"))))
    err("rmdir non-empty", lambda: os.rmdir(p("t/a")))
    err("rmdir missing", lambda: os.rmdir(p("t/none")))
    os.rmdir(p("t/empty"))
    err("mkdir existing", lambda: os.mkdir(p("t")))
    err("open missing", lambda: open(p("missing")))
    err("open dir for write", lambda: open(p("t"), "w"))
    err("open under a file", lambda: open(p("a.txt", "sub")))
    err("exclusive create", lambda: open(p("a.txt"), "x"))
    err("unlink dir", lambda: os.unlink(p("t")))

    # dir_fd-relative calls
    dfd = os.open(p("t"), os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("new-in-dirfd", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=dfd)
    os.write(fd, b"via dirfd\n")
    os.close(fd)
    print("stat dir_fd", os.stat("new-in-dirfd", dir_fd=dfd).st_size,
          oct(os.stat("new-in-dirfd", dir_fd=dfd).st_mode & 0o777))
    os.mkdir("sub-dirfd", dir_fd=dfd)
    os.rename("new-in-dirfd", "sub-dirfd/moved", src_dir_fd=dfd, dst_dir_fd=dfd)
    print("listdir(fd)", sorted(os.listdir(dfd)))
    os.unlink("sub-dirfd/moved", dir_fd=dfd)
    os.rmdir("sub-dirfd", dir_fd=dfd)
    os.close(dfd)

    # stat sizes and modes, chmod, utime, access, symlink, link, truncate
    for name in ("a.txt", "big.bin", "raw", "t"):
        st = os.stat(p(name))
        print("stat", name, st.st_size if name != "t" else "-", oct(st.st_mode))
    os.chmod(p("raw"), 0o600)
    print("chmod", oct(os.stat(p("raw")).st_mode & 0o777))
    os.utime(p("raw"), (1000000000, 1234567890))
    st = os.stat(p("raw"))
    print("utime", st.st_atime == 1000000000, st.st_mtime == 1234567890)
    print("access", os.access(p("raw"), os.R_OK | os.W_OK), os.access(p("none"), os.F_OK))
    os.symlink("a.txt", p("sym"))
    os.link(p("a.txt"), p("hard"))
    print("readlink", os.readlink(p("sym")), "nlink", os.stat(p("a.txt")).st_nlink)
    print("lstat is link", os.path.islink(p("sym")), os.path.getsize(p("sym")))
    os.truncate(p("hard"), 10)
    print("truncate via link", os.path.getsize(p("a.txt")))
    print("exists/isdir/isfile", os.path.exists(p("t")), os.path.isdir(p("t")), os.path.isfile(p("t")))

    # shutil
    shutil.copytree(p("t"), p("t2"))
    shutil.copy2(p("big.bin"), p("big2.bin"))
    shutil.copyfile(p("a.txt"), p("a2.txt"))
    print("copytree", sorted(os.path.relpath(os.path.join(r, f), p("t2"))
                             for r, _, fs in os.walk(p("t2")) for f in fs))
    print("copy2 same", open(p("big.bin"), "rb").read() == open(p("big2.bin"), "rb").read())
    shutil.move(p("t2"), p("t3"))
    shutil.rmtree(p("t3"))
    print("disk_usage works", shutil.disk_usage(D).total > 0)

    # pathlib
    q = pathlib.Path(D) / "pl"
    q.mkdir()
    (q / "one.txt").write_text("one\n")
    (q / "two.bin").write_bytes(b"\x00\x01\x02")
    print("glob", sorted(x.name for x in q.glob("*")))
    print("rglob", sorted(str(x.relative_to(D)) for x in pathlib.Path(D).rglob("*.txt")))
    print("read_text", (q / "one.txt").read_text().strip(), (q / "two.bin").read_bytes())
    (q / "one.txt").rename(q / "uno.txt")
    print("iterdir", sorted(x.name for x in q.iterdir()))
    print("resolve", str((q / ".." / "pl" / "uno.txt").resolve()))
    (q / "uno.txt").unlink()
    (q / "two.bin").unlink()
    q.rmdir()

    # cwd inside the directory
    old = os.getcwd()
    os.chdir(p("t"))
    print("getcwd", os.getcwd())
    with open("rel.txt", "w") as f:
        f.write("relative\n")
    print("relative read", open(p("t", "rel.txt")).read().strip())
    os.chdir(old)

    # threads doing I/O at the same time on different files and one shared file
    shared = os.open(p("shared"), os.O_RDWR | os.O_CREAT, 0o644)

    def worker(k):
        name = p("thread%d" % k)
        for r in range(20):
            with open(name, "wb") as f:
                f.write(bytes([k]) * (4096 * (r + 1)))
            os.pwrite(shared, bytes([65 + k]) * 512, (k * 20 + r) * 512)
        with open(name, "rb") as f:
            assert f.read() == bytes([k]) * (4096 * 20)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads", hashlib.sha256(os.pread(shared, 80 * 512, 0)).hexdigest())
    os.close(shared)
    print("final listing", sorted(os.listdir(D)))
    print("done")


main()
