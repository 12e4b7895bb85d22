#!/bin/bash
# Runs inside a Debian 12 tree booted with systemd as PID 1 (tests/tests/boot.rs), as a
# oneshot unit, against the units scripts/install put there. Writes PASS or the failing step
# to /ras-boot-result, then powers the machine off.
set -uo pipefail
exec >/ras-boot-log 2>&1
nonce=00112233445566778899aabbccddeeff
fail() {
    echo "FAIL: $*" | tee /ras-boot-result
    systemctl status --no-pager 'ras*' || true
    journalctl --no-pager -o short-monotonic -u 'ras*' || true
    systemctl poweroff
    exit 1
}
step() { echo "== $*"; }
as_tester() { setpriv --reuid tester --regid tester --init-groups "$@"; }
group_of_socket() { stat -c %G /run/ras/rasd.sock; }

step "a member of group ras"
useradd --no-create-home --shell /usr/sbin/nologin --groups ras tester || fail "useradd tester"
[ "$(group_of_socket)" = ras ] || fail "before first use, rasd.sock is group $(group_of_socket), not ras"

step "two calls; the first activates rasd"
as_tester rasctl evidence --nonce $nonce --out /dev/null || fail "first call by a member of ras"
as_tester rasctl evidence --nonce $nonce --out /dev/null || fail "second call by a member of ras"
[ "$(group_of_socket)" = ras ] || fail "after rasd started, rasd.sock is group $(group_of_socket), not ras"

step "restart rasd, call again"
systemctl restart rasd.service || fail "systemctl restart rasd.service"
[ "$(group_of_socket)" = ras ] || fail "after a restart, rasd.sock is group $(group_of_socket)"
as_tester rasctl evidence --nonce $nonce --out /dev/null || fail "call after restart"

step "stop rasd; the socket activates it again"
systemctl stop rasd.service || fail "systemctl stop rasd.service"
[ "$(group_of_socket)" = ras ] || fail "after a stop, rasd.sock is group $(group_of_socket)"
as_tester rasctl evidence --nonce $nonce --out /dev/null || fail "call after stop"

step "remote attestation through the socket-activated bridge"
rasctl trust-anchor >/tmp/root.pem || fail "rasctl trust-anchor"
rasctl attest --connect tcp:127.0.0.1:7000 --trust /tmp/root.pem --allow-sim || fail "rasctl attest through ras-bridge"
systemctl is-active --quiet ras-bridge.service || fail "ras-bridge.service is not active after the attest"
[ "$(stat -c %U "/proc/$(systemctl show -P MainPID ras-bridge.service)")" = ras-bridge ] \
    || fail "ras-bridge does not run as user ras-bridge"

step "operators read the journal and systemctl status"
as_tester rasctl status >/tmp/refused 2>&1 && fail "a non-admin's rasctl status was not refused"
grep -q -- "--admin-group" /tmp/refused || fail "the refusal names no rule: $(cat /tmp/refused)"
journalctl -u rasd.service -p notice --no-pager -o cat | grep -q "called io.ras.Admin.GetStatus: org.varlink.service.PermissionDenied" \
    || fail "no readable refusal in journalctl -u rasd: $(journalctl -u rasd.service --no-pager -o cat | tail -5)"
for _ in $(seq 50); do
    case $(systemctl show -P StatusText rasd.service) in serving:*) break ;; esac
    sleep 0.2
done
case $(systemctl show -P StatusText rasd.service) in
serving:*) ;;
*) fail "systemctl status rasd shows no STATUS=: '$(systemctl show -P StatusText rasd.service)'" ;;
esac

step "ras-verifier under its unit: a dynamic user, the admin token as a credential, a state directory"
if [ -x /usr/sbin/ras-verifier ]; then
    rasctl trust-anchor >/etc/ras/verifier-trust.pem || fail "rasctl trust-anchor for the verifier"
    (umask 077 && echo boot-test-admin-token >/etc/ras/verifier-admin-token)
    systemctl start ras-verifier.service || fail "systemctl start ras-verifier.service"
    # Type=exec: started is not listening yet, so poll /healthz (bash's /dev/tcp; the tree has
    # no HTTP client).
    reply=
    for _ in $(seq 100); do
        reply=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8443 \
            && printf "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' 2>/dev/null)
        case $reply in "HTTP/1."?" 200"*) break ;; esac
        sleep 0.1
    done
    case $reply in "HTTP/1."?" 200"*) ;; *) fail "ras-verifier does not answer /healthz: '$reply'" ;; esac
    uid=$(stat -c %u "/proc/$(systemctl show -P MainPID ras-verifier.service)")
    # systemd's dynamic users are 61184-65519 (the tree has no nss-systemd to name them).
    [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "ras-verifier runs as uid $uid, not a dynamic user"
    [ "$(stat -c %u /var/lib/private/ras-verifier)" = "$uid" ] || fail "the state directory is not the verifier's"
    echo "ras-verifier answers /healthz as dynamic uid $uid"
else
    echo "ras-verifier is not built: its unit is installed but not started"
fi

step "no ras unit failed"
failed=$(systemctl list-units --failed --plain --no-legend 'ras*' | awk '{print $1}')
[ -z "$failed" ] || fail "failed units: $failed"
echo PASS >/ras-boot-result
systemctl poweroff
