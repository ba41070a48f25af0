#!/bin/sh
# test_pip.sh PYTHON3 SRC_DIR LIBWB: `pip install integrations/python` into a
# fresh virtual environment, offline, with Debian's setuptools (the venv
# sees the system site-packages; --no-build-isolation --no-index: nothing is
# downloaded). The installed package, outside the source tree, finds libwb
# through $WB_LIBRARY as its README says and records an offline run; pip
# uninstalls it cleanly.
set -eu
py=$1 src=$2 lib=$3
tmp=$(mktemp -d /tmp/wb-pip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv --system-site-packages "$tmp/venv"
# a copy: building in the source tree would leave build/ and *.egg-info there
cp -r "$src/integrations/python" "$tmp/pkg"
rm -rf "$tmp/pkg/tests" "$tmp/pkg/examples"
"$tmp/venv/bin/pip" install --quiet --no-build-isolation --no-index "$tmp/pkg"
"$tmp/venv/bin/pip" show wb >"$tmp/show"
grep -qx 'Version: 0.1.0' "$tmp/show" || { cat "$tmp/show"; exit 1; }
cd "$tmp"
out=$(WB_LIBRARY=$lib WB_DIR=$tmp/runs WB_MODE=offline WB_CONFIG_DIR=$tmp/config WB_DISABLE_GIT=1 \
	"$tmp/venv/bin/python" -c '
import os, wb
assert wb.__file__.startswith("'"$tmp"'/venv/"), wb.__file__  # the installed copy, not the source tree
run = wb.init(project="pip", config={"lr": 0.1})
run.log({"loss": 0.5})
run.finish()
print(run.id)
')
ls "$tmp/runs/run-$out/" >/dev/null || { echo "no run log for $out"; exit 1; }
"$tmp/venv/bin/pip" uninstall --quiet --yes wb
if "$tmp/venv/bin/python" -c 'import wb' 2>/dev/null; then echo "wb still importable after uninstall"; exit 1; fi
echo "ok: pip installed wb, ran $out offline, uninstalled"
