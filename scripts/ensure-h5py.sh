#!/usr/bin/env bash
# Installs Debian's python3-h5py and python3-numpy when missing and this user may install packages:
# the NIR tests load neuroemu's .nir files with NIR's own Python reader (tests/vendor/nir, which
# needs h5py and numpy). Never fails the caller: the tests skip with a message when they are absent.
# Debian's python3 (/usr/bin/python3) is the one apt installs into; a pyenv python3 earlier on PATH is not
/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "ensure-h5py: not root or no apt-get; the NIR Python-reader tests will be skipped" >&2; exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-h5py python3-numpy) >/dev/null 2>&1 \
  || echo "ensure-h5py: apt-get install python3-h5py python3-numpy failed; the NIR Python-reader tests will be skipped" >&2
exit 0
