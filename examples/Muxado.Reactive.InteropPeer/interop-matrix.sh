#!/usr/bin/env bash
# Interop matrix between our C# interop peer and the Go reference peer (muxado-go v2).
#
#   interop-matrix.sh [-n N] [-d OUR_DLL] [-g GO_BIN] [-p "32 64"] [-t TIMEOUT_S] [-o ONLY] [-l LOGDIR] [-x FLAGS] [-R]
#
#   -n N        runs per combination (default 3)
#   -d OUR_DLL  our built peer (default: this folder's bin/Release/net10.0/Muxado.Reactive.InteropPeer.dll;
#               build it with dotnet build -c Release examples/Muxado.Reactive.InteropPeer)
#   -g GO_BIN   the Go peer built from the shared interop kit's gopeer (default $MUXPEER_GO, else ./muxpeer)
#   -p LIST     the --parallel values (default "32 64")
#   -t SECONDS  time limit of one dial run (default 120)
#   -o LIST     only these matrices, comma-separated from go-ours,ours-go,ours-ours,go-go (default all)
#   -l LOGDIR   where every run's output goes (default ${TMPDIR:-/tmp}/muxado-interop-logs)
#   -x FLAGS    extra flags for our peer, both modes (for example --syn-with-data)
#   -R          swap the session roles: the listening side runs --role client, the dialer --role server
#
# Matrices (server + client): a) go-ours  b) ours-go  c) ours-ours  d) go-go (sanity).
# Servers take --role server and clients --role client (swapped with -R), both on 127.0.0.1 with a port the server picks.
# One combination at a time, one run at a time. Every server is killed when its run ends (also on failure / ^C).
#
# A run passes when the dial side exits 0 and prints "7 passed, 0 failed". A failing run's verdict names
# the FAIL lines and both sides' "session ended" lines. Per-run logs: LOGDIR/<matrix>-p<P>-r<i>.{server,client}.log
#
# Our peer's --syn-with-data (-x) sets MuxSessionOptions.OpenWithEmptySyn=false: SYNs go with the first write, as Go's do.
set -uo pipefail

N=3
OUR_DLL="$(cd "$(dirname "$0")" && pwd)/bin/Release/net10.0/Muxado.Reactive.InteropPeer.dll"
GO_BIN="${MUXPEER_GO:-./muxpeer}"
PARALLELS="32 64"
TMO=120
ONLY="go-ours,ours-go,ours-ours,go-go"
LOGDIR="${TMPDIR:-/tmp}/muxado-interop-logs"
XFLAGS=""
SROLE=server
CROLE=client

while getopts "n:d:g:p:t:o:l:x:Rh" opt; do
    case "$opt" in
        n) N="$OPTARG" ;;
        d) OUR_DLL="$OPTARG" ;;
        g) GO_BIN="$OPTARG" ;;
        p) PARALLELS="$OPTARG" ;;
        t) TMO="$OPTARG" ;;
        o) ONLY="$OPTARG" ;;
        l) LOGDIR="$OPTARG" ;;
        x) XFLAGS="$OPTARG" ;;
        R) SROLE=client; CROLE=server ;;
        h|*) sed -n '2,26p' "$0"; exit 2 ;;
    esac
done

[ -f "$OUR_DLL" ] || { echo "run.sh: our peer not found: $OUR_DLL" >&2; exit 2; }
[ -x "$GO_BIN" ] || { echo "run.sh: Go peer not found: $GO_BIN" >&2; exit 2; }
mkdir -p "$LOGDIR"

SERVER_PID=""
kill_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
}
trap 'kill_server' EXIT
trap 'kill_server; exit 130' INT TERM

# serve_cmd IMPL -> the command line of a server on a free port
serve_cmd() {
    case "$1" in
        ours) echo "dotnet $OUR_DLL serve --addr 127.0.0.1:0 --role $SROLE $XFLAGS" ;;
        go)   echo "$GO_BIN -mode serve -addr 127.0.0.1:0 -role $SROLE" ;;
    esac
}
# dial_cmd IMPL PORT PARALLEL
dial_cmd() {
    case "$1" in
        ours) echo "dotnet $OUR_DLL dial --addr 127.0.0.1:$2 --role $CROLE --parallel $3 $XFLAGS" ;;
        go)   echo "$GO_BIN -mode dial -addr 127.0.0.1:$2 -role $CROLE -parallel $3" ;;
    esac
}

# run_one SERVER_IMPL CLIENT_IMPL PARALLEL TAG -> 0 pass, 1 fail; prints a one-line verdict
run_one() {
    local s="$1" c="$2" p="$3" tag="$4"
    local slog="$LOGDIR/$tag.server.log" clog="$LOGDIR/$tag.client.log"
    local scmd; scmd="$(serve_cmd "$s")"
    : >"$slog"; : >"$clog"
    echo "# $scmd" >>"$slog"
    # setsid is not used so that SERVER_PID is the server itself (exec), killable by its id.
    bash -c "exec $scmd" >>"$slog" 2>&1 &
    SERVER_PID=$!
    local port="" i
    for i in $(seq 1 300); do
        port="$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$slog" | head -1)"
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "FAIL $tag: server did not print 'listening' (see $slog)"
        kill_server
        return 1
    fi
    local ccmd; ccmd="$(dial_cmd "$c" "$port" "$p")"
    echo "# $ccmd" >>"$clog"
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout -k 5 "$TMO" bash -c "exec $ccmd" >>"$clog" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    # Give the server a moment to print how its session ended, then stop it.
    sleep 0.5
    kill_server
    echo "# client exit $rc after $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s" >>"$clog"

    local summary fails
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$clog" | tail -1)"
    fails="$(grep -E '^FAIL ' "$clog" | cut -c1-200 | paste -sd'|' -)"
    if [ "$rc" -eq 0 ] && [ "$summary" = "7 passed, 0 failed" ]; then
        echo "pass $tag ($summary)"
        return 0
    fi
    local why="exit $rc"
    [ "$rc" -eq 124 ] && why="timeout ${TMO}s"
    local cend send
    cend="$(grep -E '^session ended' "$clog" | tail -1)"
    send="$(grep -E '^session ended' "$slog" | paste -sd'|' -)"
    echo "FAIL $tag: $why; ${summary:-no summary}; ${fails:-no FAIL lines}; client: ${cend:-no session-ended line}; server: ${send:-no session-ended line}"
    return 1
}

declare -a SUMMARY
for combo in go-ours ours-go ours-ours go-go; do
    case ",$ONLY," in *",$combo,"*) ;; *) continue ;; esac
    s="${combo%-*}"; c="${combo#*-}"
    for p in $PARALLELS; do
        pass=0; fail=0
        for r in $(seq 1 "$N"); do
            tag="$combo-p$p-r$r"
            if run_one "$s" "$c" "$p" "$tag"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
        done
        SUMMARY+=("$(printf '%-10s server=%-4s client=%-4s parallel=%-3s pass=%d fail=%d' "$combo" "$s" "$c" "$p" "$pass" "$fail")")
    done
done

echo
echo "== summary (N=$N, logs in $LOGDIR)"
printf '%s\n' "${SUMMARY[@]}"
