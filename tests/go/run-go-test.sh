#!/usr/bin/env bash
# Run the Go binding's tests (bindings/go) as a user of an installed libclv
# would build them: cgo finds libclv with `#cgo pkg-config: clv`.
#
#   run-go-test.sh BUILD_ROOT WORK_DIR MODULE_DIR LIBDIR
#
# The build is installed (meson install --no-rebuild) into WORK_DIR/destdir;
# PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR point pkg-config at its clv.pc
# and LD_LIBRARY_PATH at its libclv.so. Go's caches live in WORK_DIR, so only
# the first run on a fresh machine compiles runtime/cgo. No network: the
# module uses the standard library only (GOPROXY=off). GO, MESON name the
# tools; GO_RACE=1 adds a -race run of the concurrency tests.
set -euo pipefail

if [ "$#" -ne 4 ]; then
    echo "usage: $0 BUILD_ROOT WORK_DIR MODULE_DIR LIBDIR" >&2
    exit 2
fi
build_root=$1 work=$2 module=$3 libdir=$4
go=${GO:-go}
meson=${MESON:-meson}
command -v "$go" >/dev/null 2>&1 || { echo "go not found (Debian package golang-go): skipped"; exit 77; }

mkdir -p "$work"
dest=$work/destdir
rm -rf "$dest"
"$meson" install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; echo "FAIL: meson install --destdir failed" >&2; exit 1; }

export PKG_CONFIG_PATH=$dest$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
export LD_LIBRARY_PATH=$dest$libdir
export GOCACHE=$work/gocache GOPATH=$work/gopath GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
export GO111MODULE=on CGO_ENABLED=1 GOTELEMETRY=off
unset GOROOT_FINAL
echo "go: $("$go" version); pkg-config clv: $(pkg-config --cflags --libs clv)"

cd "$module"
start=$(date +%s)
"$go" vet ./...
status=0
"$go" test -count=1 -v ./... >"$work/go-test.log" 2>&1 || status=$?
grep -E '^(--- |PASS|FAIL|ok|panic|\s+\S+_test.go)' "$work/go-test.log" || true
echo "go test: exit $status in $(( $(date +%s) - start )) s"
[ "$status" -eq 0 ] || { echo "FAIL: go test (full log: $work/go-test.log)" >&2; tail -40 "$work/go-test.log" >&2; exit 1; }
if [ "${GO_RACE:-0}" = 1 ]; then
    "$go" test -count=1 -race -run Concurrent ./...
fi
