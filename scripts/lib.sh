# Shared shell helpers for scripts/*: package installation and waiting for a socket.

# Installs Debian packages that are missing (needs root and the package archive).
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages ${missing[*]}: run as root, or install them" >&2
        return 1
    fi
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Waits up to 20 s for a unix socket to appear; fails naming the log otherwise.
wait_socket() {
    local sock=$1 log=$2
    for _ in $(seq 200); do
        [ -S "$sock" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $sock; log follows" >&2
    cat "$log" >&2
    return 1
}

# Prints the Debian archive apt uses here (deb822 or one-line sources), or RAS_DEBIAN_MIRROR.
apt_mirror() {
    if [ -n "${RAS_DEBIAN_MIRROR:-}" ]; then
        echo "$RAS_DEBIAN_MIRROR"
        return
    fi
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk '/^URIs:/ && !/security/ { print $2; exit }' "$f"
        return
    done
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
        /etc/apt/sources.list 2>/dev/null
}

# Cargo flags that build the tpm backend when its C library (Debian's libtss2-dev) is there.
tpm_features() {
    if pkg-config --exists tss2-esys 2>/dev/null; then echo "--features=rasd/tpm"; fi
}

# Waits up to 10 s until 127.0.0.1:PORT and PORT+1 listen (swtpm's TPM and control ports), from
# /proc/net/tcp: probing by connect could self-connect to a port not yet bound and hold it.
wait_listen2() {
    local port=$1 a b
    a=$(printf '0100007F:%04X' "$port")
    b=$(printf '0100007F:%04X' $((port + 1)))
    for _ in $(seq 100); do
        awk -v a="$a" -v b="$b" '$4 == "0A" && ($2 == a || $2 == b) { n++ } END { exit n < 2 }' /proc/net/tcp && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$port and :$((port + 1))" >&2
    return 1
}
