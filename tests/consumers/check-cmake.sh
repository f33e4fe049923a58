#!/usr/bin/env bash
# Install the build into a temporary DESTDIR, then configure, build and run
# the CMake project tests/consumers/cmake against it: find_package(clv 0.1
# REQUIRED) and target_link_libraries(app PRIVATE clv::clv), with nothing but
# CMAKE_PREFIX_PATH pointing at the staged prefix. The prefix libclv was
# configured for is not where the files are, so this also proves that
# clvConfig.cmake is relocatable. Then the version file: a compatible request
# is accepted, a newer minor or another major refused.
#
#   check-cmake.sh BUILD_ROOT PREFIX LIBDIR PROJECT_DIR VERSION SONAME
#
# MESON, CMAKE and CXX name the tools; CMAKE="" means cmake is missing (skip).
set -euo pipefail

if [ "$#" -ne 6 ]; then
    echo "usage: $0 BUILD_ROOT PREFIX LIBDIR PROJECT_DIR VERSION SONAME" >&2
    exit 2
fi
build_root=$1 prefix=$2 libdir=$3 project=$4 version=$5 soname=$6
meson=${MESON:-meson}
cmake=${CMAKE-cmake}
if [ -z "$cmake" ]; then
    echo "cmake not found (Debian: apt-get install cmake): skipped"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clv-cmake.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
fail() { echo "FAIL: $*" >&2; exit 1; }

# --no-rebuild: meson test has built everything and is using the build tree.
"$meson" install -C "$build_root" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install --destdir failed"; }
cfgdir=$dest$libdir/cmake/clv
for f in clvConfig.cmake clvConfigVersion.cmake; do
    [ -f "$cfgdir/$f" ] || fail "$libdir/cmake/clv/$f not installed"
done
echo "ok: $libdir/cmake/clv/{clvConfig,clvConfigVersion}.cmake installed"

# --- the project of docs/consumers.md ------------------------------------------
"$cmake" -S "$project" -B "$tmp/build" -G Ninja -DCMAKE_PREFIX_PATH="$dest$prefix" \
    ${CXX:+-DCMAKE_CXX_COMPILER="$CXX"} >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; fail "cmake configure with CMAKE_PREFIX_PATH=$dest$prefix"; }
found=$(sed -n 's/^clv_DIR:PATH=//p' "$tmp/build/CMakeCache.txt")
[ "$found" = "$cfgdir" ] || fail "find_package(clv) used '$found', not $cfgdir"
echo "ok: find_package(clv 0.1 REQUIRED) found $found"
"$cmake" --build "$tmp/build" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "cmake --build"; }
echo "ok: app built against clv::clv"

# Only the staged copy on the path: meson test puts the build tree's on it.
out=$(LD_LIBRARY_PATH=$dest$libdir "$tmp/build/app") || fail "app exited with status $?"
echo "$out" | sed 's/^/  app: /'
grep -q "^libclv $version (headers $version): predictions -\{0,1\}[0-9]" <<<"$out" ||
    fail "app did not print two predictions from libclv $version"
grep -q "^clv::error CLV_EINVAL: .*input_size" <<<"$out" ||
    fail "app did not get a clv::error naming input_size"
resolved=$(LD_LIBRARY_PATH=$dest$libdir ldd "$tmp/build/app" | awk -v s="$soname" '$1 == s { print $3 }')
case $resolved in
    "$dest"/*) echo "ok: app ran against $resolved" ;;
    *) fail "app resolved $soname to '$resolved', not the staged copy" ;;
esac

# --- version requests --------------------------------------------------------------
mkdir "$tmp/want"
# No language, so no compiler checks: clv_DIR names the config directly
# (without a compiler CMake does not search multiarch lib/<triplet>/cmake).
cat >"$tmp/want/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(want NONE)
find_package(clv ${WANT} REQUIRED)
message(STATUS "clv_VERSION=${clv_VERSION}")
CMAKE
want() {
    rm -rf "$tmp/want/build"
    "$cmake" -S "$tmp/want" -B "$tmp/want/build" -Dclv_DIR="$cfgdir" -DWANT="$1" \
        >"$tmp/want.log" 2>&1
}
major=${version%%.*} rest=${version#*.}
minor=${rest%%.*}
want "$major.$minor" && grep -q "clv_VERSION=$version" "$tmp/want.log" ||
    { cat "$tmp/want.log" >&2; fail "find_package(clv $major.$minor) refused libclv $version"; }
! want "$major.$((minor + 1))" || fail "find_package(clv $major.$((minor + 1))) accepted libclv $version"
grep -q "version: $version" "$tmp/want.log" || { cat "$tmp/want.log" >&2; fail "no version in the refusal"; }
! want "$((major + 1)).0" || fail "find_package(clv $((major + 1)).0) accepted libclv $version"
echo "ok: find_package(clv $major.$minor) accepted; $major.$((minor + 1)) and $((major + 1)).0 refused"
