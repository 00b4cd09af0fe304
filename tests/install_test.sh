#!/usr/bin/env bash
# Installs a built conv1dt tree into a temporary prefix and uses it the way a user would:
# the examples/ project through find_package (shared and static), through pkg-config with the
# examples/Makefile (shared and static), and the installed CLI — with no LD_LIBRARY_PATH
# anywhere, from the prefix and from a moved copy of it (installs are relocatable). Also checks
# the shared library's SONAME and that it exports exactly the functions declared in the
# installed header.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR [CMAKE]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR [CMAKE]" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
CMAKE=${3:-cmake}

# Whatever the caller's environment holds, nothing here may find the library through it.
unset LD_LIBRARY_PATH
TMP=$(mktemp -d "${TMPDIR:-/tmp}/conv1dt-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PREFIX=$TMP/prefix

step() { printf '\n== %s\n' "$*"; }
run() {
  printf '$ %s\n' "$*"
  "$@"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Output is captured before grepping: with pipefail, `cmd | grep -q` can fail on SIGPIPE.
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
no_build_rpath() {
  local paths
  paths=$(readelf -d "$1" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')
  if [[ -n $paths && $paths == *"$BUILD"* ]]; then
    fail "installed ${1#"$PREFIX"/} keeps an RPATH into the build tree: $paths"
  fi
}
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }

# The build's compiler and sanitizer flags, so the examples can link the installed libraries.
CC_USED=$(cache_value CMAKE_C_COMPILER)
CC_USED=${CC_USED:-cc}
EXTRA_FLAGS=""
if [[ $(cache_value CONV1DT_SANITIZE) =~ ^(ON|1|TRUE|YES)$ ]]; then
  EXTRA_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi

VERSION=$(sed -n 's/^#define CONV1DT_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
  "$SRC/include/conv1dt.h" | paste -sd.)
# Before 1.0 the SONAME carries MAJOR.MINOR (a minor release may change the ABI), MAJOR after.
if [[ ${VERSION%%.*} == 0 ]]; then SOVERSION=${VERSION%.*}; else SOVERSION=${VERSION%%.*}; fi
# The library a program loads, as the dynamic loader resolves it: "libconv1dt.so.X => PATH".
loaded_from() { ldd "$1" | sed -n "s/^[[:space:]]*libconv1dt\.so\.$SOVERSION => \([^ ]*\) .*/\1/p"; }
loads_from_dir() { # PROGRAM DIR: the program's libconv1dt resolves into DIR
  local got
  got=$(loaded_from "$1")
  [[ -n $got && $(realpath "$(dirname "$got")") == "$(realpath "$2")" ]] ||
    fail "${1##*/} loads libconv1dt.so.$SOVERSION from '${got:-nowhere}', not from $2"
  echo "ok  ${1##*/} loads $got"
}

# ---------------------------------------------------------------------------------------------
step "install $BUILD into $PREFIX (version $VERSION)"
run "$CMAKE" --install "$BUILD" --prefix "$PREFIX"

PC_FILE=$(find "$PREFIX" -path '*/pkgconfig/conv1dt.pc' | head -n 1)
[[ -n $PC_FILE ]] || fail "no conv1dt.pc installed under $PREFIX"
PC_DIR=$(dirname "$PC_FILE")
LIBDIR=$(dirname "$PC_DIR") # lib or lib/<multiarch>
echo "libdir: ${LIBDIR#"$PREFIX"/}"

step "installed files"
for f in include/conv1dt.h \
  "${LIBDIR#"$PREFIX"/}"/{libconv1dt.so,libconv1dt.so.$SOVERSION,libconv1dt.so.$VERSION,libconv1dt.a} \
  "${LIBDIR#"$PREFIX"/}"/cmake/conv1dt/{conv1dtConfig.cmake,conv1dtConfigVersion.cmake,conv1dtTargets.cmake,conv1dt_blas.cmake}; do
  [[ -e $PREFIX/$f ]] || fail "missing $f"
  echo "ok  $f"
done
compgen -G "$LIBDIR/cmake/conv1dt/conv1dtTargets-*.cmake" >/dev/null ||
  fail "missing conv1dtTargets-<config>.cmake"
cmp -s "$PREFIX/include/conv1dt.h" "$SRC/include/conv1dt.h" ||
  fail "installed conv1dt.h differs from include/conv1dt.h"

SO=$LIBDIR/libconv1dt.so.$VERSION
step "SONAME and dynamic symbols of ${SO#"$PREFIX"/}"
dyn=$(readelf -d "$SO")
grep -E 'SONAME|NEEDED|RPATH|RUNPATH' <<<"$dyn" || true
grep -qF "Library soname: [libconv1dt.so.$SOVERSION]" <<<"$dyn" ||
  fail "SONAME is not libconv1dt.so.$SOVERSION"
no_build_rpath "$SO"
# Exported = declared: every defined dynamic symbol is a CONV1DT_API function of the header and
# every such function is exported.
dynsyms=$(nm -D --defined-only "$SO")
exported=$(awk 'NF >= 2 {print $NF}' <<<"$dynsyms" | sort -u)
declared=$(sed -n 's/^CONV1DT_API[^(]*[ *]\(conv1dt_[A-Za-z0-9_]*\)(.*/\1/p' \
  "$PREFIX/include/conv1dt.h" | sort -u)
echo "$(wc -l <<<"$exported") exported, $(wc -l <<<"$declared") declared"
stray=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
[[ -z $stray ]] || fail "exported but not public API: $(tr "\n" " " <<<"$stray")"
[[ -z $missing ]] || fail "declared in conv1dt.h but not exported: $(tr "\n" " " <<<"$missing")"
# The static archive cannot hide symbols; its global names must at least stay in conv1dt_*.
archive_syms=$(nm -g --defined-only "$LIBDIR/libconv1dt.a")
polluting=$(awk 'NF == 3 && $3 !~ /^conv1dt_/ {print $3}' <<<"$archive_syms" | sort -u)
[[ -z $polluting ]] || fail "libconv1dt.a defines global symbols outside conv1dt_*: $(tr "\n" " " <<<"$polluting")"
echo "ok  exports match the header; archive globals all conv1dt_*"

# ---------------------------------------------------------------------------------------------
step "CMake consumer: find_package(conv1dt) in examples/"
run "$CMAKE" -S "$SRC/examples" -B "$TMP/build-cmake" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC_USED" \
  -DCMAKE_C_FLAGS="$EXTRA_FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$EXTRA_FLAGS" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
found_dir=$(sed -n 's/^conv1dt_DIR:PATH=//p' "$TMP/build-cmake/CMakeCache.txt")
[[ -n $found_dir && $(realpath "$found_dir") == "$(realpath "$LIBDIR/cmake/conv1dt")" ]] ||
  fail "find_package found conv1dt in '$found_dir', not in $LIBDIR/cmake/conv1dt"
run "$CMAKE" --build "$TMP/build-cmake"

step "run basic (shared; CMake's build RPATH to the imported library)"
loads_from_dir "$TMP/build-cmake/basic" "$LIBDIR"
run "$TMP/build-cmake/basic"

step "run basic_static (no libconv1dt.so needed)"
[[ $(needs "$TMP/build-cmake/basic_static") != *libconv1dt* ]] ||
  fail "basic_static depends on the shared libconv1dt"
run "$TMP/build-cmake/basic_static"

step "run stream_wav: 8 samples of a 16-bit mono WAV in, 32 float32 samples out"
# The header (RIFF size 52, fmt: PCM, 1 channel, 8000 Hz, 16 bits; 16 data bytes), then samples.
printf 'RIFF\x34\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00' >"$TMP/in.wav"
printf '\x80\x3e\x00\x00\x02\x00\x10\x00data\x10\x00\x00\x00' >>"$TMP/in.wav"
printf '\x00\x40\x00\x20\x00\x00\x00\xe0\x00\xc0\x00\xe0\x00\x00\x00\x20' >>"$TMP/in.wav"
"$TMP/build-cmake/stream_wav" 3 <"$TMP/in.wav" >"$TMP/out.f32" || fail "stream_wav exited with $?"
bytes=$(wc -c <"$TMP/out.f32")
[[ $bytes -eq 128 ]] || fail "stream_wav wrote $bytes bytes, not 32 float32 samples (128 bytes)"
echo "ok  stream_wav upsampled 8 samples to 32"

# ---------------------------------------------------------------------------------------------
step "pkg-config consumer: make -C examples (PKG_CONFIG_PATH=$PC_DIR)"
export PKG_CONFIG_PATH=$PC_DIR
run pkg-config --modversion conv1dt
[[ $(pkg-config --modversion conv1dt) == "$VERSION" ]] || fail "pkg-config version is not $VERSION"
pc_inc=$(pkg-config --variable=includedir conv1dt)
pc_lib=$(pkg-config --variable=libdir conv1dt)
echo "includedir=$pc_inc libdir=$pc_lib"
[[ -f $pc_inc/conv1dt.h && $(realpath "$pc_inc") == "$(realpath "$PREFIX/include")" ]] ||
  fail "conv1dt.pc points includedir at '$pc_inc', not at the installed $PREFIX/include"
[[ $(realpath "$pc_lib") == "$(realpath "$LIBDIR")" ]] ||
  fail "conv1dt.pc points libdir at '$pc_lib', not at the installed $LIBDIR"
mkdir -p "$TMP/build-make"
run make -C "$SRC/examples" O="$TMP/build-make" CC="$CC_USED" \
  CFLAGS="-O2 -Wall -Wextra -Werror $EXTRA_FLAGS" LDFLAGS="$EXTRA_FLAGS -Wl,-rpath,$pc_lib"
[[ ! -e $SRC/examples/basic && ! -e $SRC/examples/basic_static ]] ||
  fail "make wrote programs into the source tree"

step "run make-built basic (shared, -Wl,-rpath from pkg-config's libdir) and basic_static"
loads_from_dir "$TMP/build-make/basic" "$LIBDIR"
run "$TMP/build-make/basic"
grep -qx "libconv1dt.so.$SOVERSION" <<<"$(needs "$TMP/build-make/basic")" ||
  fail "make-built basic is not linked to libconv1dt.so.$SOVERSION"
[[ $(needs "$TMP/build-make/basic_static") != *libconv1dt* ]] ||
  fail "make-built basic_static depends on the shared libconv1dt"
run "$TMP/build-make/basic_static"

# ---------------------------------------------------------------------------------------------
step "installed CLI: bin/conv1dt from the prefix, then from a moved copy of it"
# The demo computes the Keras docs' example: (4, 21, 32).
cli_works() { # CLI LIBDIR
  local out
  loads_from_dir "$1" "$2"
  out=$("$1" --version) || fail "${1#"$TMP"/} --version exited with $?"
  echo "$out"
  grep -qF "$VERSION" <<<"$out" || fail "conv1dt --version does not print $VERSION"
  out=$("$1") || fail "${1#"$TMP"/} (the demo) exited with $?"
  grep -qE '\(4, 21, 32\)' <<<"$out" || fail "the demo did not print the shape (4, 21, 32): $out"
  echo "ok  the demo printed (4, 21, 32)"
}
# conv1dt-mpi, where this build has it: installed beside conv1dt, the same RUNPATH (its
# --version runs as an MPI singleton, without mpirun).
mpi_works() { # CLI LIBDIR
  local out
  loads_from_dir "$1" "$2"
  out=$("$1" --version) || fail "${1#"$TMP"/} --version exited with $?"
  grep -qF "conv1dt-mpi $VERSION" <<<"$out" || fail "conv1dt-mpi --version does not print $VERSION"
  echo "ok  $out"
}
if [[ -e $BUILD/tools/conv1dt-mpi && ! -e $PREFIX/bin/conv1dt-mpi ]]; then
  fail "conv1dt-mpi is part of this build but bin/conv1dt-mpi was not installed"
fi
if [[ -e $PREFIX/bin/conv1dt ]]; then
  no_build_rpath "$PREFIX/bin/conv1dt"
  cli_works "$PREFIX/bin/conv1dt" "$LIBDIR"
  if [[ -e $PREFIX/bin/conv1dt-mpi ]]; then
    no_build_rpath "$PREFIX/bin/conv1dt-mpi"
    mpi_works "$PREFIX/bin/conv1dt-mpi" "$LIBDIR"
  fi
  MOVED=$TMP/moved/elsewhere
  mkdir -p "$(dirname "$MOVED")"
  run mv "$PREFIX" "$MOVED"
  cli_works "$MOVED/bin/conv1dt" "$MOVED/${LIBDIR#"$PREFIX"/}"
  if [[ -e $MOVED/bin/conv1dt-mpi ]]; then
    mpi_works "$MOVED/bin/conv1dt-mpi" "$MOVED/${LIBDIR#"$PREFIX"/}"
  fi
  run mv "$MOVED" "$PREFIX"
elif [[ -d $BUILD/tools ]]; then
  fail "the CLI is part of this build ($BUILD/tools) but bin/conv1dt was not installed"
else
  echo "SKIP: this build has no CLI (CONV1DT_BUILD_TOOLS=OFF or tools/ not present)"
fi

step "PASS: install package usable from CMake and pkg-config"
