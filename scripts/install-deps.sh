#!/usr/bin/env bash
# Installs what building and testing conv1dt needs on Debian 12, and nothing when all is there.
# Runs apt-get as root (directly, or through sudo for a normal user).
#   bash scripts/install-deps.sh           # build + test dependencies
#   bash scripts/install-deps.sh --extra   # also python3-numpy (for scripts that check the CLI against numpy-computed cases)
#   bash scripts/install-deps.sh --vendors # also the other BLAS vendors Debian ships (Netlib's
#                                          # reference BLAS, BLIS, ATLAS, OpenBLAS's OpenMP and serial
#                                          # builds) and python3-venv for the MKL wheel (CI runs the
#                                          # suite on each, swapped in at run time)
#   bash scripts/install-deps.sh --bench   # also oneDNN (the bench's yardstick), jq and gnuplot
#                                          # (bench/roofline.sh's chart)
set -euo pipefail

# gfortran brings libgfortran.a, which a static link against Debian's OpenBLAS needs
# (openblas.pc's Libs.private: -lgfortran); the install test links a static example. json-c,
# libhdf5 and libzip read and write Keras files; libbz2-dev because libzip.pc's static link
# names -lbz2, which libzip-dev does not bring. Open MPI (libopenmpi-dev, and openmpi-bin for
# mpirun) builds conv1dt-mpi and runs its tests.
pkgs=(build-essential cmake pkg-config libopenblas-dev gfortran check libjson-c-dev libhdf5-dev
  libzip-dev libbz2-dev libopenmpi-dev openmpi-bin)
for arg in "$@"; do
  case "$arg" in
  --extra) pkgs+=(python3-numpy) ;;
  --vendors) pkgs+=(libblas3 libblis4-openmp libblis4-pthread libatlas3-base libopenblas0-openmp
    libopenblas0-serial python3-venv) ;;
  --bench) pkgs+=(libdnnl-dev jq gnuplot-nox) ;;
  *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (need: ${missing[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
# Package lists fetched within the hour are fresh enough: a second call (CI's --vendors) does
# not fetch them again.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
  $sudo apt-get update -q
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
