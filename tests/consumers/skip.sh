#!/bin/sh
# A test whose tool is missing: say why and report SKIP (exit 77) to meson.
echo "$1: skipped"
exit 77
