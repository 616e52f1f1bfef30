# Sourced by the scripts that build test tools from the Go module proxy: the Go settings they
# build with, and `cached_build NAME KEY BINARY COMMAND...`. Unless
# $CACHE_ROOT/NAME/KEY-STAMP/bin/BINARY is already there (STAMP: a hash of the Go release, the
# settings below and COMMAND's text, so its flags and tags), it runs COMMAND (a function, since
# it reads $out, which is set only then) with $out an empty directory, and moves $out into
# place once COMMAND succeeded and BINARY is in it. Then it prints that bin directory (the last
# line, which the tests read). Callers often run it inside $(...), where bash ignores `set -e`:
# so COMMAND must return its failure (chain with &&), and cached_build checks every step itself.
#
# STAGESET_GO_FETCH_ONLY=1 makes a build script only download the Go modules its cold build
# needs (`go build -n` loads every package, which fetches their modules, and compiles
# nothing), so CI can fetch them while another tool compiles: a cold fetch is mostly waiting
# on the network, about 3 minutes for all the tools. Best effort: a failed fetch is logged
# ("fetching the modules of NAME failed") and the script goes on; the build fetches them later.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -gcflags=all=-dwarf=false"
# Why no DWARF and GOGC=400: a cold build is CPU-bound on this 2-core machine, and most of it
# is the compiler. No DWARF (the binaries are stripped with -s -w anyway) and a compiler that
# collects garbage a quarter as often: Helm's cold build went from 177 s to 143 s with both.
# GOGC changes no output, so it is not in the key.
export GOGC=400
CACHE_ROOT="${STAGESET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stageset}"
go_settings="$(go version) $GOTOOLCHAIN $CGO_ENABLED $GOFLAGS"

cached_build() {
  local name=$1 key=$2 binary=$3
  shift 3
  declare -F "$1" >/dev/null || { echo "cached_build $name: $1 is not a function" >&2; return 1; }
  local stamp
  stamp=$({ echo "$go_settings"; declare -f "$1"; } | sha256sum | cut -c1-8)
  local bin="$CACHE_ROOT/$name/$key-$stamp/bin"
  if [[ -x "$bin/$binary" ]]; then
    echo "$bin"
  elif [[ -n ${STAGESET_GO_FETCH_ONLY:-} ]]; then
    fetch_modules "$name" "$@" || true
  else
    echo "building $name into $bin; a cold build takes minutes" >&2
    out="$bin.tmp.$$"
    rm -rf "$out" && mkdir -p "$out" || return
    local start=$SECONDS
    "$@" && [[ -x "$out/$binary" ]] || { echo "building $name failed" >&2; rm -rf "$out"; return 1; }
    # Another process may have finished the same build meanwhile: keep theirs, which a caller
    # may be running (mv -T onto a directory that is not empty fails). A damaged entry (no
    # binary in it) is replaced.
    if ! mv -T "$out" "$bin" 2>/dev/null; then
      if [[ -x "$bin/$binary" ]]; then
        rm -rf "$out"
      else
        rm -rf "$bin" && mv -T "$out" "$bin" || { echo "could not move $name into $bin" >&2; rm -rf "$out"; return 1; }
      fi
    fi
    echo "built in $((SECONDS - start))s" >&2
    echo "$bin"
  fi
}

# Runs a build function with `go build` and `go install` given -n: modules are fetched, nothing
# is compiled. go's stderr (the -n listing, and its error if any) goes to a scratch log, whose
# tail is shown when go fails.
fetch_modules() {
  local name=$1 rc=0
  shift
  out=$(mktemp -d) || return
  go() { case $1 in build | install) command go "$1" -n "${@:2}" >/dev/null 2>"$out/go.log" || { tail -5 "$out/go.log" >&2; return 1; } ;; *) command go "$@" ;; esac; }
  "$@" || rc=$?
  unset -f go
  rm -rf "$out"
  if ((rc)); then echo "fetching the modules of $name failed" >&2; else echo "fetched the modules of $name" >&2; fi
  return "$rc"
}
