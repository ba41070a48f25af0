#!/bin/sh
# test_install.sh BUILD_DIR SRC_DIR CC [CFLAGS]: install the build into a
# temp prefix, then build a user's program against it with pkg-config
# (shared and static) and with find_package(wb) (consumer/), and run each.
# When the build has the web UI: the installed `wb server`, started without
# --web, serves the installed index.html and its assets.
set -eu
build=$1 src=$2 cc=$3 cflags=${4:-}
tmp=$(mktemp -d /tmp/wb-install.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/wb"
"$prefix/bin/wb" version
test -f "$prefix/include/wb.h"
pcdir=$(dirname "$(find "$prefix" -name wb.pc)")
libdir=$(dirname "$pcdir")
soname=$(objdump -p "$libdir/libwb.so" | awk '/SONAME/ {print $2}')
test "$soname" = libwb.so.0 || { echo "bad SONAME: $soname"; exit 1; }
test -f "$libdir/libwb.a"
test -f "$prefix/include/wb.hpp"
# The Python package finds the libwb installed with it (not in sanitizer
# builds: an ASan libwb needs its runtime preloaded into python3).
if [ -z "$cflags" ] && command -v python3 >/dev/null; then
	got=$(WB_LIBRARY= PYTHONPATH="$prefix/lib/python3/dist-packages" python3 -c \
		'import wb, wb._lib as l; print(l.path, wb.version())')
	test "$got" = "$libdir/libwb.so.0 $(sed -n "s/^Version: //p" "$build/wb.pc")" ||
		{ echo "python package: $got"; exit 1; }
fi

export PKG_CONFIG_PATH=$pcdir
echo "pkg-config: $(pkg-config --cflags --libs wb)"
# shellcheck disable=SC2046,SC2086
$cc $cflags -o "$tmp/pc_shared" "$src/consumer/main.c" $(pkg-config --cflags --libs wb)
LD_LIBRARY_PATH=$libdir "$tmp/pc_shared" "$tmp/runs1"
LD_LIBRARY_PATH=$libdir ldd "$tmp/pc_shared" | grep -q "libwb.so.0 => $libdir/libwb.so.0" ||
	{ echo "pc_shared does not load the installed libwb.so.0"; exit 1; }
# Static: libwb.a and the packages wb.pc lists in Requires.private (their
# shared libraries: `--static` would also ask for libcurl's own static deps).
reqs=$(pkg-config --print-requires-private wb | tr '\n' ' ')
for m in libcurl zlib libcjson; do
	case " $reqs" in *" $m "*) ;; *) echo "Requires.private lacks $m: $reqs"; exit 1 ;; esac
done
# shellcheck disable=SC2046,SC2086
$cc $cflags -o "$tmp/pc_static" "$src/consumer/main.c" $(pkg-config --cflags wb) "$libdir/libwb.a" \
	$(pkg-config --libs $reqs) -pthread
"$tmp/pc_static" "$tmp/runs2"
if ldd "$tmp/pc_static" | grep -q libwb; then echo "pc_static links libwb.so"; exit 1; fi

cmake -S "$src/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/consumer/consumer_shared" "$tmp/runs3"
"$tmp/consumer/consumer_static" "$tmp/runs4"
for d in runs1 runs2 runs3 runs4; do
	ls "$tmp/$d"/run-*/ >/dev/null
done

if [ -f "$build/web/dist/index.html" ]; then
	web=$prefix/share/wb/web
	test -f "$web/index.html" || { echo "no $web/index.html"; exit 1; }
	cmp "$web/index.html" "$build/web/dist/index.html"
	# Moved away from the build tree: the server must find the installed files.
	mv "$prefix" "$tmp/moved"
	prefix=$tmp/moved
	WB_CONFIG_DIR=$tmp/config "$prefix/bin/wb" server --data "$tmp/data" --port 0 2>"$tmp/server.log" >/dev/null &
	pid=$!
	i=0
	while [ ! -s "$tmp/data/server.url" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && { cat "$tmp/server.log"; echo "server did not start"; exit 1; }
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log"; echo "server exited"; exit 1; }
		sleep 0.1 # polling the url file against a deadline
	done
	url=$(cat "$tmp/data/server.url")
	curl -fsS "$url/" >"$tmp/index.html"
	cmp "$tmp/index.html" "$prefix/share/wb/web/index.html" || { echo "/ is not the installed index.html"; exit 1; }
	curl -fsS "$url/team/demo/runs/x" | cmp - "$tmp/index.html" || { echo "app path is not index.html"; exit 1; }
	js=$(sed -n 's/.*src="\(\/assets\/[^"]*\.js\)".*/\1/p' "$tmp/index.html")
	[ -n "$js" ] || { echo "index.html names no script"; exit 1; }
	curl -fsS "$url$js" | cmp - "$prefix/share/wb/web$js" || { echo "$js differs"; exit 1; }
	kill -TERM "$pid"
	wait "$pid" || { echo "server exit status $?"; exit 1; }
	pid=""
	echo "installed server serves the web UI"
fi
echo "install test: ok"
