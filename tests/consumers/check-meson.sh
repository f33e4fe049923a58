#!/usr/bin/env bash
# Build and run the meson project tests/consumers/meson, whose meson.build
# asks for dependency('clv', version: '>= 0.1', fallback: ['clv', 'clv_dep']):
#
#   check-meson.sh subproject SOURCE_ROOT PROJECT_DIR VERSION
#       subprojects/clv is a symlink to this source tree and
#       --wrap-mode=forcefallback makes meson build libclv as a subproject
#       (library only: no tests, examples, bench or fuzz targets);
#   check-meson.sh installed BUILD_ROOT PREFIX LIBDIR PROJECT_DIR VERSION
#       the build installed into a temporary DESTDIR, found through clv.pc
#       (--wrap-mode=nofallback: pkg-config or nothing).
#
# MESON and NINJA name the tools.
set -euo pipefail

mode=${1:-}
case $mode in
    subproject) [ "$#" -eq 4 ] || { echo "usage: $0 subproject SOURCE_ROOT PROJECT_DIR VERSION" >&2; exit 2; }
                source_root=$2 project=$3 version=$4 ;;
    installed) [ "$#" -eq 6 ] || { echo "usage: $0 installed BUILD_ROOT PREFIX LIBDIR PROJECT_DIR VERSION" >&2; exit 2; }
               build_root=$2 prefix=$3 libdir=$4 project=$5 version=$6 ;;
    *) echo "usage: $0 subproject|installed ..." >&2; exit 2 ;;
esac
meson=${MESON:-meson}
ninja=${NINJA:-ninja}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clv-meson.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# meson test puts the build tree's lib/ on LD_LIBRARY_PATH; the consumer
# must find libclv by its own means.
unset LD_LIBRARY_PATH

mkdir "$tmp/src"
cp "$project/meson.build" "$project/app.c" "$tmp/src/"

if [ "$mode" = subproject ]; then
    mkdir "$tmp/src/subprojects"
    ln -s "$source_root" "$tmp/src/subprojects/clv"
    # forcefallback: the subproject even where an installed clv.pc exists.
    # debug (-O0) keeps the library's build short; the app only needs to link.
    "$meson" setup --wrap-mode=forcefallback \
        --buildtype=debug "$tmp/build" "$tmp/src" >"$tmp/setup.log" 2>&1 ||
        { cat "$tmp/setup.log" >&2; fail "meson setup --wrap-mode=forcefallback"; }
    grep -q "^Executing subproject clv" "$tmp/setup.log" &&
        grep -q "^Dependency clv found: YES $version (overridden)" "$tmp/setup.log" ||
        { cat "$tmp/setup.log" >&2; fail "dependency('clv') did not come from the subproject"; }
    echo "ok: dependency('clv') from subprojects/clv ($version)"
    # The subproject defines the library and nothing a consumer did not ask for.
    extra=$("$meson" introspect --targets "$tmp/build" |
        python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin) if t["subproject"] == "clv" and t["build_by_default"] and t["name"] != "clv"))')
    [ -z "$extra" ] || fail "the clv subproject builds more than the library: $extra"
    echo "ok: the subproject's only target is the library"
else
    dest=$tmp/dest
    "$meson" install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "meson install --destdir failed"; }
    # clv.pc from the staged prefix; the sysroot maps its paths into DESTDIR.
    PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
        "$meson" setup --wrap-mode=nofallback "$tmp/build" "$tmp/src" >"$tmp/setup.log" 2>&1 ||
        { cat "$tmp/setup.log" >&2; fail "meson setup against the installed clv.pc"; }
    grep -q "Run-time dependency clv found: YES $version" "$tmp/setup.log" ||
        { cat "$tmp/setup.log" >&2; fail "dependency('clv') was not found through pkg-config"; }
    echo "ok: dependency('clv') found through $libdir/pkgconfig/clv.pc ($version)"
    export LD_LIBRARY_PATH=$dest$libdir
fi

"$ninja" -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "ninja"; }
out=$("$tmp/build/app") || fail "app exited with status $?"
echo "  app: $out"
[ "$out" = "libclv $version (headers $version): 2 customers, 3 purchase days" ] ||
    fail "unexpected output from app"
lib=$(ldd "$tmp/build/app" | awk '$1 ~ /^libclv\.so/ { print $3 }')
case $lib in
    "$tmp"/*) echo "ok: app ran against $lib" ;;
    *) fail "app resolved libclv to '$lib', not the one just built or staged" ;;
esac
