#!/bin/sh
# Refresh the vendored civetweb from Debian's source package (not part of
# the build or of CI; run by hand, as root, when moving to a new release).
# Adds a deb-src line for bookworm once (idempotent), fetches the source
# without applying Debian's patches, copies the files listed in README.md
# and prints the upstream tarball's sha256 for the README.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=/etc/apt/sources.list.d/wb-debian-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
	cat >"$src" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -qq
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get source --download-only civetweb >/dev/null)
orig=$(ls "$tmp"/civetweb_*.orig.tar.*)
tar -xf "$orig" -C "$tmp"
up=$(ls -d "$tmp"/civetweb-*/)
for f in src/civetweb.c src/md5.inl src/response.inl src/handle_form.inl include/civetweb.h LICENSE.md; do
	cp "$up/$f" "$here/$f"
done
echo "copied from $(basename "$orig")"
sha256sum "$orig"
