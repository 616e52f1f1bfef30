# Sourced by the scripts that build test tools from the Go module proxy: the Go settings they
# build with, and `cached_build NAME KEY BINARY COMMAND...`. Unless
# $CACHE_ROOT/NAME/KEY/bin/BINARY is already there, it runs COMMAND (a function, since it reads
# $out, which is set only then) with $out an empty directory, and moves $out into place. Then it
# prints that bin directory (the last line, which the tests read).
#
# STAGESET_GO_FETCH_ONLY=1 makes a build script only download the Go modules its cold build
# needs (`go build -n` loads every package, which fetches their modules, and compiles
# nothing), so CI can fetch them while another tool compiles: a cold fetch is mostly waiting
# on the network, about 3 minutes for all the tools.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -gcflags=all=-dwarf=false"
# Why the last two: a cold build is CPU-bound on this 2-core machine, and most of it is the
# compiler. No DWARF (the binaries are stripped with -s -w anyway) and a compiler that collects
# garbage a quarter as often: Helm's cold build went from 177 s to 143 s with both.
export GOGC=400
CACHE_ROOT="${STAGESET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stageset}"

cached_build() {
  local name=$1 key=$2 binary=$3
  shift 3
  local bin="$CACHE_ROOT/$name/$key/bin"
  if [[ ! -x "$bin/$binary" && -n ${STAGESET_GO_FETCH_ONLY:-} ]]; then
    out=$(mktemp -d)
    go() { case $1 in build | install) command go "$1" -n "${@:2}" >/dev/null 2>&1 ;; *) command go "$@" ;; esac; }
    "$@"
    unset -f go
    rm -rf "$out"
    echo "fetched the modules of $name" >&2
    return
  fi
  if [[ ! -x "$bin/$binary" ]]; then
    echo "building $name into $bin; a cold build takes minutes" >&2
    out="$bin.tmp.$$"
    rm -rf "$out" && mkdir -p "$out"
    local start=$SECONDS
    "$@"
    rm -rf "$bin" && mv "$out" "$bin"
    echo "built in $((SECONDS - start))s" >&2
  fi
  echo "$bin"
}
