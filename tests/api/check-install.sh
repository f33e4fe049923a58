#!/usr/bin/env bash
# Install the build into a temporary DESTDIR and build an out-of-tree program
# against it with nothing but pkg-config, as a packager's user would.
#
#   check-install.sh BUILD_ROOT PREFIX LIBDIR INCLUDEDIR VERSION SONAME CONSUMER_C
#
# PREFIX, LIBDIR and INCLUDEDIR are the configured absolute paths (meson passes
# them). MESON, CC, PKG_CONFIG and READELF may name the tools. KEEP_DESTDIR=1 keeps the
# temporary tree for inspection.
set -euo pipefail

if [ "$#" -ne 7 ]; then
    echo "usage: $0 BUILD_ROOT PREFIX LIBDIR INCLUDEDIR VERSION SONAME CONSUMER_C" >&2
    exit 2
fi
build_root=$1 prefix=$2 libdir=$3 includedir=$4 version=$5 soname=$6 consumer_c=$7
meson=${MESON:-meson}
pkg_config=${PKG_CONFIG:-pkg-config}
readelf=${READELF:-readelf}
read -r -a cc_cmd <<<"${CC:-cc}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clv-install.XXXXXX")
cleanup() {
    if [ "${KEEP_DESTDIR:-0}" = 1 ]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
dest=$tmp/dest
fail() { echo "FAIL: $*" >&2; exit 1; }

# meson test has already built everything; --no-rebuild keeps this test from
# running ninja inside a build that meson test is using.
"$meson" install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install --destdir failed"; }
echo "ok: installed into $dest (prefix $prefix)"

# --- layout --------------------------------------------------------------------
inc=$dest$includedir/clv
lib=$dest$libdir
pcfile=$lib/pkgconfig/clv.pc
[ -f "$inc/clv.h" ] || fail "$includedir/clv/clv.h not installed"
[ -f "$inc/version.h" ] || fail "$includedir/clv/version.h (generated) not installed"
# Every quoted #include in an installed header must resolve next to it.
for f in "$inc"/*.h; do
    while read -r h; do
        [ -f "$inc/$h" ] || fail "$(basename "$f") includes \"$h\" but $includedir/clv/$h is not installed"
    done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\(.*\)".*/\1/p' "$f")
done
echo "ok: headers in $includedir/clv: $(cd "$inc" && echo *)"
[ -f "$pcfile" ] || fail "$libdir/pkgconfig/clv.pc not installed"
echo "ok: $libdir/pkgconfig/clv.pc"
[ -L "$lib/$soname" ] || fail "$libdir/$soname symlink missing"
[ -e "$lib/$soname" ] || fail "$libdir/$soname is a dangling symlink"
[ -L "$lib/libclv.so" ] || fail "$libdir/libclv.so (development symlink) missing"
echo "ok: $libdir/$soname -> $(readlink "$lib/$soname")"
# meson drops the build-tree rpath on install; a leftover one would make the
# installed library look in build or dependency directories (Debian policy
# forbids RPATH/RUNPATH in packaged libraries).
rpath=$("$readelf" -d "$lib/$soname" | grep -E '\((RPATH|RUNPATH)\)' || true)
[ -z "$rpath" ] || fail "installed $soname carries an rpath: $rpath"
echo "ok: installed $soname has no RPATH/RUNPATH"

# --- pkg-config ------------------------------------------------------------------
# PKG_CONFIG_PATH finds clv.pc in the destdir (system .pc files such as
# openblas stay visible); the sysroot prefixes the .pc's /usr/local paths with
# the destdir so -I and -L point into it.
export PKG_CONFIG_PATH=$lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
pc_version=$("$pkg_config" --modversion clv) || fail "pkg-config cannot read clv.pc"
[ "$pc_version" = "$version" ] || fail "clv.pc says version $pc_version, project is $version"
flags=$("$pkg_config" --cflags --libs clv) || fail "pkg-config --cflags --libs clv failed"
echo "ok: pkg-config clv $pc_version: $flags"

# --- build and run a consumer ------------------------------------------------------
read -r -a flag_arr <<<"$flags"
"${cc_cmd[@]}" -o "$tmp/consumer" "$consumer_c" "${flag_arr[@]}" ||
    fail "compiling consumer.c with only \$(pkg-config --cflags --libs clv)"
echo "ok: consumer.c compiled with: ${cc_cmd[*]} consumer.c $flags"
# Only the destdir: meson test puts the build tree's lib/ on LD_LIBRARY_PATH.
LD_LIBRARY_PATH=$lib "$tmp/consumer" ||
    fail "consumer exited with status $?"
# It must have run against the installed copy, not the build tree's.
resolved=$(LD_LIBRARY_PATH=$lib ldd "$tmp/consumer" | awk -v s="$soname" '$1 == s { print $3 }')
case $resolved in
    "$dest"/*) echo "ok: consumer ran against $resolved" ;;
    *) fail "consumer resolved $soname to '$resolved', not the destdir copy" ;;
esac
