#!/usr/bin/env bash
# Installs Debian's darknet (the reference implementation some tests compare against) when it is
# missing and this user may install packages. Never fails the caller: tests skip what is absent.
if [ -f /usr/lib/darknet/libdarknet.so ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "ensure-darknet: not root or no apt-get; darknet comparisons will be skipped" >&2; exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq darknet) >/dev/null 2>&1 \
  || echo "ensure-darknet: apt-get install darknet failed; darknet comparisons will be skipped" >&2
exit 0
