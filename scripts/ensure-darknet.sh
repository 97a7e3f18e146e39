#!/usr/bin/env bash
# Installs the Debian packages some tests compare against or render with, when missing and this
# user may install packages: darknet (the reference implementation of the darknet ANN path) and
# librsvg2-bin (rsvg-convert: the tests render the SVG pictures). Never fails the caller: tests
# skip what is absent, with a message.
missing=()
[ -f /usr/lib/darknet/libdarknet.so ] || missing+=(darknet)
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "ensure-darknet: not root or no apt-get; tests needing ${missing[*]} will be skipped" >&2; exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
  || echo "ensure-darknet: apt-get install ${missing[*]} failed; tests needing them will be skipped" >&2
exit 0
