# git in /storage as a new user would use it: init, add, commit, log,
# status, diff, branch and merge, clone of a local repository (hard links,
# and through file:// with the pack protocol), gc (repack into a pack that
# is then read through mmap), fsck; and a clone from /storage to local.
# Author, committer and dates are fixed, so the hashes are the same.
body() {
	HOME=$T
	GIT_CONFIG_NOSYSTEM=1
	GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=t@example.org
	GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=t@example.org
	GIT_AUTHOR_DATE='2020-01-02T03:04:05Z' GIT_COMMITTER_DATE='2020-01-02T03:04:05Z'
	export HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME \
		GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE
	mkdir "$D/repo" && cd "$D/repo" || return 1
	git init -q -b main . && echo "init ok" || return 1
	seq 1 2000 > numbers
	mkdir sub && echo hello > sub/hello && printf '#!/bin/sh\necho run\n' > run.sh
	chmod +x run.sh
	git add . && echo "add ok" || return 1
	git commit -q -m first && echo "commit ok"
	echo more >> numbers
	git commit -q -am second && echo "commit -a ok"
	git log --format='%H %s'
	git status --short --branch
	echo changed >> sub/hello
	touch untracked
	git status --short
	git diff --stat
	git checkout -q -- sub/hello && rm untracked
	git checkout -q -b topic && echo topic > topic && git add topic &&
		git commit -q -m topic && git checkout -q main &&
		git merge -q --no-edit topic && echo "merge ok"
	git log --oneline --graph
	git clone -q "$D/repo" "$D/clone" && echo "clone (local, hard links) ok"
	git -C "$D/clone" log --format=%s
	git clone -q "file://$D/repo" "$D/clone2" && echo "clone file:// ok"
	git -C "$D/clone2" rev-parse HEAD
	git gc -q && echo "gc ok"
	git count-objects -v | grep -E '^(count|in-pack|packs):'
	git fsck --no-progress && echo "fsck ok"
	git log --format=%s -- numbers
	git show HEAD~1:numbers | tail -n 2
	git clone -q "$D/repo" "$T/local-clone" && echo "clone to local ok"
	git -C "$T/local-clone" log --format=%s | head -n 1
	cd "$D/clone2" && git pull -q && echo "pull ok" && git rev-parse HEAD
}
