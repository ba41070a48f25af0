#!/bin/sh
# test_deb.sh BUILD_DIR: build the Debian package with CPack into a temp
# directory, inspect it (files, conffiles, maintainer scripts, the systemd
# unit's sandbox) and run the packaged binary from an extracted root:
# `wb version`, then `wb server` with the packaged /etc/wb/wb.conf over HTTPS
# (a self-signed certificate) until it answers /healthz, then SIGTERM.
set -eu
build=$1
tmp=$(mktemp -d /tmp/wb-deb.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test_deb: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack failed"; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
deb="$tmp/out/wb_${version}_amd64.deb"
[ -f "$deb" ] || { ls "$tmp/out"; fail "no wb_${version}_amd64.deb"; }

dpkg-deb -c "$deb" >"$tmp/files"
for f in ./usr/bin/wb ./usr/include/wb.h ./usr/lib/libwb.a ./usr/lib/libwb.so.0 ./usr/lib/pkgconfig/wb.pc \
	./usr/lib/cmake/wb/wbConfig.cmake ./etc/wb/wb.conf ./lib/systemd/system/wb.service \
	./usr/share/wb/web/index.html; do
	grep -q " $f\( \|$\)" "$tmp/files" || fail "package lacks $f"
done
dpkg-deb -f "$deb" Package | grep -qx wb || fail "package name"
# civetweb is compiled in (third_party/civetweb), linked to Debian's OpenSSL 3.
dpkg-deb -f "$deb" Depends | grep -q libssl3 || fail "Depends lacks libssl3"
dpkg-deb -f "$deb" Depends | grep -q libcivetweb && fail "Depends still names libcivetweb"
# Password quality: libpwquality and the dictionary it checks against.
dpkg-deb -f "$deb" Depends | grep -q libpwquality1 || fail "Depends lacks libpwquality1"
dpkg-deb -f "$deb" Depends | grep -q cracklib-runtime || fail "Depends lacks cracklib-runtime"
mkdir "$tmp/ctl"
dpkg-deb -e "$deb" "$tmp/ctl"
grep -qx /etc/wb/wb.conf "$tmp/ctl/conffiles" || fail "wb.conf is not a conffile"
for s in postinst prerm postrm; do
	[ -x "$tmp/ctl/$s" ] || fail "$s missing or not executable"
	sh -n "$tmp/ctl/$s" || fail "$s: syntax"
done
grep -q "useradd --system\|adduser --system" "$tmp/ctl/postinst" || fail "postinst does not create the wb user"
grep -q "chmod 0700 /var/lib/wb" "$tmp/ctl/postinst" || fail "postinst does not create /var/lib/wb 0700"

mkdir "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root"
unit="$tmp/root/lib/systemd/system/wb.service"
for k in "User=wb" "ProtectSystem=strict" "ProtectHome=yes" "NoNewPrivileges=yes" "PrivateTmp=yes" \
	"ReadWritePaths=/var/lib/wb" "ExecStart=/usr/bin/wb server --config /etc/wb/wb.conf" "UMask=0077" \
	"StateDirectoryMode=0700"; do
	grep -qx "$k" "$unit" || fail "wb.service lacks $k"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$unit" 2>&1 | grep -v "^$" || true
fi

wb="$tmp/root/usr/bin/wb"
LD_LIBRARY_PATH="$tmp/root/usr/lib" "$wb" version | grep -qx "wb $version" || fail "wb version"
grep -q "^#tls-cert = " "$tmp/root/etc/wb/wb.conf" || fail "wb.conf does not document tls-cert"
# The packaged config file, with the data directory and port overridden,
# serving HTTPS with a self-signed certificate made here.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1 || fail "openssl req"
# WB_CONFIG_DIR: the first start writes its key there, not to the user's settings file.
WB_CONFIG_DIR="$tmp/config" LD_LIBRARY_PATH="$tmp/root/usr/lib" "$wb" server --config "$tmp/root/etc/wb/wb.conf" --data "$tmp/data" \
	--port 0 --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" 2>"$tmp/server.log" >/dev/null &
pid=$!
i=0
while [ ! -s "$tmp/data/server.url" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { cat "$tmp/server.log"; fail "server did not start"; }
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log"; fail "server exited"; }
	sleep 0.1 # polling the url file against a deadline
done
url=$(cat "$tmp/data/server.url")
case $url in https://*) ;; *) fail "server.url is $url, not https" ;; esac
curl -fsS --cacert "$tmp/cert.pem" "$url/healthz" | grep -q '"ok":true' || fail "/healthz over https"
# The web UI from /usr/share/wb/web, found next to the binary (no web = in wb.conf).
curl -fsS --cacert "$tmp/cert.pem" "$url/" | cmp - "$tmp/root/usr/share/wb/web/index.html" || fail "/ is not the packaged index.html"
kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=""
echo "deb test: ok ($deb)"
