# A Python venv on /storage: bin/python -> python3 -> /usr/bin/python3 are
# symlinks in the export; exec follows them through the service to the
# local interpreter with argv[0] unchanged, so Python finds pyvenv.cfg and
# sys.prefix is the venv.  Also a #! script whose interpreter is the venv's
# python, and a module installed into the venv's site-packages.
body() {
	/usr/bin/python3 -m venv --without-pip "$D/venv" && echo "venv: $?"
	ls "$D/venv/bin" | grep python
	"$D/venv/bin/python" -c 'import sys; print(sys.prefix, sys.base_prefix != sys.prefix)'
	"$D/venv/bin/python3" -c 'import sys; print(sys.executable)'
	site=$("$D/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	echo 'print("hello from the venv")' > "$site/venvmod.py"
	printf '#!%s\nimport sys, venvmod\nprint(sys.argv)\n' "$D/venv/bin/python" > "$D/tool"
	chmod +x "$D/tool"
	"$D/tool" a b
	(cd "$D" && ./venv/bin/python -c 'import sys; print(sys.prefix)')
}
