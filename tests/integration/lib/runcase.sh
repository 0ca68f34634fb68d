#!/bin/sh
# runcase.sh CASEFILE FUNCTION D T - run one function of an integration case.
#
# The harness runs this script natively, and under `vosctl local run` for the
# forwarded run: then this shell and everything it starts has libvirtuos.so
# preloaded.  D is the directory the case works in (a native directory, or
# /storage/work); T a local scratch directory (never routed).
CASEFILE=$1
FUNC=$2
D=$3
T=$4
export D T
. "$(dirname "$0")/helpers.sh" || exit 99
. "$CASEFILE" || exit 99
cd "$T" || exit 99
"$FUNC"
