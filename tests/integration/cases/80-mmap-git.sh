# git on /storage: git reads its index, objects and packs with
# mmap(MAP_PRIVATE), which libvirtuos serves with a private copy
# (libvirtuos/interpose/mmap.c).  init, add, commit, log, status, a
# second commit, gc (packs and reads the pack back), fsck, a local clone.
body() {
	export HOME="$T" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b \
		GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b \
		GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
	cd "$D" || return
	git init -q -b main repo && cd repo || return
	seq 1 2000 > numbers
	printf 'hello\n' > hello
	mkdir sub && printf 'x\n' > sub/x
	git add . && git commit -qm first && echo "commit: $?"
	git log --oneline
	git status --short
	echo more >> hello
	git status --short
	git commit -qam second && echo "commit: $?"
	git gc -q && echo "gc: $?"
	ls .git/objects/pack | sed 's/pack-[0-9a-f]*/pack-X/' | sort
	git fsck --no-progress && echo "fsck: $?"
	git log --stat --format='%H %s' | cat
	git show HEAD:hello
	cd "$D" && git clone -q repo clone && echo "clone: $?"
	git -C clone log --oneline | cat
	cat clone/hello
}
