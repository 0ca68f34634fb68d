# perl with File::Find (chdir into each directory, lstat, opendir) walking
# a tree on /storage: find and finddepth, no_chdir, follow, sizes, pruning;
# and a perl script that writes, renames and reads files there.
body() {
	mkdir -p "$D/tree/a/b/c" "$D/tree/d" "$D/tree/skip/inner"
	seq 1 300 > "$D/tree/a/numbers"
	echo x > "$D/tree/a/b/c/deep"
	echo y > "$D/tree/d/y"
	echo z > "$D/tree/skip/inner/z"
	mkdir "$D/outside" && echo o > "$D/outside/o"
	# a symlink out of the tree: a followed walk meets nothing twice, so
	# its output does not depend on the order of directory entries
	ln -s ../../outside "$D/tree/a/out"
	cd "$D" || return 1
	perl -MFile::Find -e '
		my @f;
		find(sub { push @f, "$File::Find::name " . (-l $_ ? "l" : -d _ ? "d" : "f " . -s _) }, "tree");
		print "find: $_\n" for sort @f;
		@f = ();
		finddepth({ wanted => sub { push @f, $File::Find::name }, no_chdir => 1 }, "'"$D"'/tree");
		print "finddepth: ", scalar(@f), " entries, last ", substr($f[-1], length("'"$D"'")), "\n";
		@f = ();
		find({ wanted => sub { push @f, $File::Find::name if -f $_ }, follow => 1 }, "tree");
		print "follow: $_\n" for sort @f;
		@f = ();
		find(sub { if ($_ eq "skip") { $File::Find::prune = 1; return } push @f, $_ }, "tree");
		print "pruned: ", join(" ", sort @f), "\n";
	'
	echo "perl: status $?"
	perl -e '
		open(my $o, ">", "tree/new.txt") or die "open: $!";
		print $o "line $_\n" for 1 .. 5;
		close($o) or die;
		rename("tree/new.txt", "tree/d/moved.txt") or die "rename: $!";
		open(my $i, "<", "tree/d/moved.txt") or die "open: $!";
		my @l = <$i>;
		print "read back ", scalar(@l), " lines, last $l[-1]";
		opendir(my $dh, "tree/d") or die;
		print "tree/d: ", join(" ", sort grep { !/^\./ } readdir($dh)), "\n";
		print "size ", -s "tree/d/moved.txt", "\n";
	'
	echo "perl io: status $?"
}
