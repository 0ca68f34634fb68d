# A Python virtual environment on /storage: python3 -m venv (copies pip in
# with ensurepip), a program run with /storage/venv/bin/python (a symlink to
# the local python3: the venv's pyvenv.cfg must be found next to it), a
# module of our own in the venv's site-packages, the activate script, and
# pip listing what is installed.
body() {
	"$PY" -m venv "$D/venv"
	echo "venv: status $?"
	ls "$D/venv" | sort
	readlink "$D/venv/bin/python"
	for sp in "$D"/venv/lib/python3*/site-packages; do
		echo 'GREETING = "hello from site-packages"' > "$sp/mymod.py"
	done
	cat > "$D/prog.py" <<'PY'
import os, sys, sysconfig
import mymod
print(mymod.GREETING)
print("in a venv:", sys.prefix != sys.base_prefix)
print("prefix:", sys.prefix)
print("purelib:", sysconfig.get_paths()["purelib"])
with open(os.path.join(os.path.dirname(sys.argv[0]), "out.txt"), "w") as f:
    f.write("written from the venv\n")
PY
	"$D/venv/bin/python" "$D/prog.py"
	echo "prog: status $?"
	cat "$D/out.txt"
	(. "$D/venv/bin/activate" && python -c 'import sys, mymod; print("activated:", sys.prefix)')
	"$D/venv/bin/python" -m pip --version | sed 's/^pip [0-9.]* from /pip from /; s/ (python .*//'
	"$D/venv/bin/python" -m pip list --format=freeze --disable-pip-version-check 2>&1 | sed 's/==.*//'
}
