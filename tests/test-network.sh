#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration: networking through isoctl → D-Bus → isod → real bridges, veths, taps, nftables and
# dnsmasq, asserting on what workloads and peers see. isod runs inside a network namespace this
# test makes ("h", the host side, entered with nsenter so that its mounts stay the host's), with an
# uplink veth to a second namespace ("x", the outside: a router with listeners and a resolver). No
# packet leaves these namespaces; the host's own network is never touched.
. "$(dirname "$0")/lib.sh"
require_root
require_vm_assets
command -v nft >/dev/null || skip_all "no nft (nftables) for inspection"
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || skip_all "no dnsmasq (dnsmasq-base)"
ensure_image || skip_all "cannot build the busybox image"

NH=isodt-h-$$
NX=isodt-x-$$
BB=$(command -v busybox)
inh() { nsenter --net=/run/netns/$NH -- "$@"; }
inx() { nsenter --net=/run/netns/$NX -- "$@"; }
net_cleanup() {
        [ -n "${XPIDS:-}" ] && kill $XPIDS 2>/dev/null
        ip netns pids $NH 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns pids $NX 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del $NH 2>/dev/null
        ip netns del $NX 2>/dev/null
        ip netns del isodt-held-$$ 2>/dev/null
}
trap 'net_cleanup; cleanup' EXIT

ip netns add $NH && ip netns add $NX || skip_all "cannot create network namespaces"
ip -n $NH link set lo up
ip -n $NX link set lo up
ip -n $NH link add up0 type veth peer name ext0 netns $NX
ip -n $NH addr add 198.51.100.1/24 dev up0
ip -n $NX addr add 198.51.100.2/24 dev ext0
ip -n $NH link set up0 up
ip -n $NX link set ext0 up
ip -n $NH route add default via 198.51.100.2
ip -n $NH addr add 10.77.1.1/24 dev up0 # a private subnet the host side uses

# The outside: a web server that tells who asked, a UDP sink, a resolver for "outside.test".
mkdir -p "$T/xwww/cgi-bin" "$T/hostwww"
echo outside-ok >"$T/xwww/index.html"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' >"$T/xwww/cgi-bin/who"
chmod +x "$T/xwww/cgi-bin/who"
inx $BB httpd -f -p 198.51.100.2:80 -h "$T/xwww" &
XPIDS="$!"
inx dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
        --listen-address=198.51.100.2 --address=/outside.test/198.51.100.2 --pid-file= --log-facility=- \
        2>>"$T/xdns.log" &
XPIDS="$XPIDS $!"
echo "nameserver 198.51.100.2" >"$T/upstream.conf"
# A service on the host side's loopback that workloads must not reach (the localhost guard).
echo host-secret >"$T/hostwww/index.html"
inh $BB httpd -f -p 127.0.0.1:7777 -h "$T/hostwww" &
XPIDS="$XPIDS $!"

start_bus || skip_all "no dbus-daemon"
# isod in the "h" namespace (nsenter: the network namespace only, the mounts stay the host's).
start_isod_h() {
        mkdir -p "$T/state" "$T/cache"
        nsenter --net=/run/netns/$NH -- "$top_builddir/isod" --state-dir="$T/state" --image-dir="$IMAGE_DIR" \
                --vm-dir="$VM_DIR" --cache-dir="$T/cache" --monitor="$top_builddir/isod-monitor" \
                --policy="$T/policy.json" --network-dir="$T/networks" --dns-upstream="$T/upstream.conf" \
                --debug "$@" >>"$T/isod.log" 2>&1 &
        ISOD_PID=$!
        wait_until 5 isod_alive
}
check "isod starts inside the test's network namespace" start_isod_h
sleep 0.3

not_running() { ! state_is "$1" running; }
ip_of() { isoctl show --json "$1" | sed -n 's/.*"IPAddress": "\([0-9.]*\)".*/\1/p'; }
mac_of() { isoctl show --json "$1" | sed -n 's/.*"MACAddress": "\([0-9a-f:]*\)".*/\1/p'; }
# hget URL: busybox wget from the "h" side (bounded by timeout: busybox 1.35's wget -T crashes).
hget() { inh $BB timeout 3 wget -q -O - "$1" 2>/dev/null; }
xget() { inx $BB timeout 3 wget -q -O - "$1" 2>/dev/null; }
WWW='mkdir -p /w/cgi-bin && echo "$0" > /w/index.html &&
     printf "#!/bin/sh\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n\" \"\$REMOTE_ADDR\"\n" > /w/cgi-bin/who &&
     chmod +x /w/cgi-bin/who && exec httpd -f -p 80 -h /w'

# ---------------------------------------------------------------- the default network, made on first use
diag "$(date +%T) the default network, made on first use"
isoctl launch -d --name web --network nat -p 127.0.0.1:8080:80 -p 8081:80 -p 8053:53/udp -- \
        /bin/sh -c "$WWW" hello-web >/dev/null
is "launch -d with --network nat and three forwards" "$?" 0
wait_until 10 state_is web running
wait_until 5 sh -c "nsenter --net=/run/netns/$NH -- $BB timeout 1 wget -q -O /dev/null http://127.0.0.1:8080/"
out=$(isoctl network list)
like "the default network isod0 exists now" "$out" '^isod0 '
sub=$(isoctl network show isod0 --json | sed -n 's/.*"Subnet": "\([0-9./]*\)".*/\1/p')
gw=$(isoctl network show isod0 --json | sed -n 's/.*"Gateway": "\([0-9.]*\)".*/\1/p')
like "its subnet is a private /24 (auto)" "$sub" '^10\.[0-9]+\.[0-9]+\.0/24$'
wip=$(ip_of web)
like "web has an address in it" "$wip" "^${gw%.*}\.[0-9]+$"
is "its MAC is derived from the address" "$(mac_of web)" "$(printf '02:00:%02x:%02x:%02x:%02x' ${wip//./ })"
check "the bridge isod0 exists in isod's namespace with the gateway" sh -c "ip -n $NH -4 addr show isod0 | grep -q 'inet $gw/24'"
check "... and not in the host's" sh -c "! ip link show isod0 >/dev/null 2>&1"

# ---------------------------------------------------------------- port forwards
diag "$(date +%T) port forwards"
is "127.0.0.1:8080 on the host side reaches web (localhost forward)" "$(hget http://127.0.0.1:8080/)" hello-web
is "the host's address 198.51.100.1:8081 reaches web from the host side" "$(hget http://198.51.100.1:8081/)" hello-web
is "the outside reaches web through 198.51.100.1:8081 (DNAT)" "$(xget http://198.51.100.1:8081/)" hello-web
like "... and web sees the outside's address" "$(xget http://198.51.100.1:8081/cgi-bin/who)" '(^|:)198\.51\.100\.2\]?$'
is "the localhost forward is on 127.0.0.1 only: not from the outside" "$(xget http://198.51.100.1:8080/)" ""

# ---------------------------------------------------------------- container ↔ container, names, egress
diag "$(date +%T) container ↔ container, names, egress"
out=$(isoctl launch --network nat -- /bin/sh -c "
        timeout 3 wget -q -O - http://web/; timeout 3 wget -q -O - http://web.isod/
        timeout 3 wget -q -O - http://$wip/
        timeout 3 wget -q -O - http://198.51.100.2/; timeout 3 wget -q -O - http://198.51.100.2/cgi-bin/who
        timeout 3 wget -q -O - http://outside.test/
        timeout 3 wget -q -O - http://198.51.100.1:8081/ && echo hairpin-ok
        cat /etc/resolv.conf; ip -4 addr show eth0; ip route" 2>&1)
like "a second container reaches web by name (web)" "$(echo "$out" | sed -n 1p)" '^hello-web$'
like "... and by NAME.isod" "$(echo "$out" | sed -n 2p)" '^hello-web$'
like "... and by address" "$(echo "$out" | sed -n 3p)" '^hello-web$'
like "egress: the outside's web server answers" "$(echo "$out" | sed -n 4p)" '^outside-ok$'
like "egress is masqueraded: the outside sees the host side's uplink address" "$(echo "$out" | sed -n 5p)" '^198\.51\.100\.1$'
like "the network's name server forwards other names upstream" "$(echo "$out" | sed -n 6p)" '^outside-ok$'
like "a workload reaches another's forward on the host address (hairpin)" "$out" '^hairpin-ok$'
like "resolv.conf points at the gateway" "$out" "^nameserver $gw\$"
unlike "... never at 127.0.0.53" "$out" 'nameserver 127\.'
like "eth0 has its /24" "$out" "inet ${gw%.*}\.[0-9]+/24"
like "the default route goes via the gateway" "$out" "^default via $gw"

out=$(isoctl exec web -- timeout 3 wget -q -O - http://198.51.100.1:8081/ 2>&1)
is "web reaches its own forward (self-hairpin on the bridge port)" "$out" hello-web

# UDP forward: the outside sends datagrams to 198.51.100.1:8054, a workload listening on 53 gets one
# (python3 from the host's root as the workload's root: the busybox image's nc has no UDP).
isoctl launch --name usink --rootfs / --network nat -p 8054:53/udp -- python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
print(s.recv(100).decode().strip(), flush=True)' >"$T/udp.out" 2>&1 &
upid=$!
wait_until 10 state_is usink running
for i in $(seq 1 20); do
        inx bash -c 'echo udp-hello > /dev/udp/198.51.100.1/8054' 2>/dev/null
        [ -s "$T/udp.out" ] && break
        sleep 0.2
done
wait $upid
is "a UDP forward delivers to the workload" "$(cat "$T/udp.out")" udp-hello
isoctl rm usink >/dev/null 2>&1

# ---------------------------------------------------------------- the firewall and its guard
diag "$(date +%T) the firewall and its guard"
tbl=$(inh nft list table inet isod 2>&1)
like "isod's table inet isod exists" "$tbl" 'table inet isod'
like "... with web's forward" "$tbl" "8081 : $wip \. 80"
check "table bridge isod exists (anti-spoofing)" inh nft list table bridge isod
out=$(isoctl launch --network nat -- sh -c "timeout 2 wget -q -O - http://$gw:7777/; :" 2>&1)
unlike "a workload does not reach a host service on 127.0.0.1 through the gateway" "$out" host-secret

# nft flush ruleset: isod notices and restores its tables.
inh nft flush ruleset
wait_until 3 sh -c "nsenter --net=/run/netns/$NH -- nft list table inet isod >/dev/null 2>&1"
check "after 'nft flush ruleset' the table is back" inh nft list table inet isod
wait_until 3 sh -c "[ \"\$(nsenter --net=/run/netns/$NH -- $BB timeout 1 wget -q -O - http://127.0.0.1:8080/)\" = hello-web ]"
is "... and the forward works again" "$(hget http://127.0.0.1:8080/)" hello-web

# Another table whose forward chain drops (Docker's FORWARD DROP, ufw): the networks' Warnings name
# it and say what to do, and isod logs it once.
inh nft -f - <<'NFT'
table ip filter {
        chain DOCKER-USER { }
        chain FORWARD { type filter hook forward priority 0; policy drop; jump DOCKER-USER; }
}
NFT
wait_until 3 sh -c "\"$ISOCTL\" network show isod0 2>&1 | grep -q DOCKER-USER"
out=$(isoctl network show isod0 2>&1)
like "a foreign forward chain with policy drop is a warning in 'network show'" "$out" "Docker table 'ip filter' chain 'FORWARD' drops"
like "... which says what to do" "$out" 'iptables -I DOCKER-USER -i isod0 -j ACCEPT'
like "... and isod logged it" "$(grep -c "Docker table 'ip filter' chain 'FORWARD'" "$T/isod.log")" '^1$'
out=$(isoctl launch --network nat -- sh -c "timeout 2 wget -q -O - http://198.51.100.2/cgi-bin/who; :" 2>&1)
unlike "... and it is right: meanwhile egress is dropped" "$out" '198\.51\.100'
inh nft delete table ip filter
wait_until 3 sh -c "! \"$ISOCTL\" network show isod0 2>&1 | grep -q DOCKER-USER"
unlike "once that table is gone, so is the warning" "$(isoctl network show isod0 2>&1)" 'DOCKER-USER'
like "... and the log says so" "$(cat "$T/isod.log")" 'No longer: Docker'

# ---------------------------------------------------------------- a VM on the same bridge
diag "$(date +%T) a VM on the same bridge"
isoctl launch -d --isolation=vm --name vmweb --network nat -p 8090:80 -- /bin/sh -c "$WWW" hello-vm >/dev/null
is "a VM with --network nat launches" "$?" 0
wait_until 30 state_is vmweb running
vip=$(ip_of vmweb)
wait_until 30 sh -c "[ \"\$(nsenter --net=/run/netns/$NH -- $BB timeout 1 wget -q -O - http://127.0.0.1:8090/)\" = hello-vm ]"
is "the VM's forward 127.0.0.1:8090 reaches its httpd" "$(hget http://127.0.0.1:8090/)" hello-vm
is "a container reaches the VM by name" "$(isoctl launch --network nat -- sh -c "timeout 3 wget -q -O - http://vmweb.isod/; :" 2>&1)" hello-vm
out=$(isoctl launch --isolation=vm --network nat -- /bin/sh -c "
        timeout 3 wget -q -O - http://web.isod/; timeout 3 wget -q -O - http://web/
        timeout 3 wget -q -O - http://198.51.100.2/cgi-bin/who; cat /etc/resolv.conf
        ip -4 addr show eth0 | grep inet" 2>&1)
like "a VM reaches the container by NAME.isod" "$(echo "$out" | sed -n 1p)" '^hello-web$'
like "... and by NAME" "$(echo "$out" | sed -n 2p)" '^hello-web$'
like "the VM's egress is masqueraded" "$(echo "$out" | sed -n 3p)" '^198\.51\.100\.1$'
like "the VM's resolv.conf points at the gateway" "$out" "nameserver $gw"
st=$(isoctl stats vmweb 2>&1)
like "isoctl stats shows the VM's network counters" "$st" 'rx'
st=$(isoctl stats web 2>&1)
like "isoctl stats shows the container's network counters" "$st" 'rx'

# Spoofing from a VM (root in its own kernel): another address, another MAC.
out=$(isoctl launch --isolation=vm --network nat -- /bin/sh -c "
        ping -c 1 -W 2 $gw >/dev/null && echo own-ok
        ip addr flush dev eth0; ip addr add ${gw%.*}.250/24 dev eth0; ip route add default via $gw
        ping -c 1 -W 2 $gw >/dev/null && echo spoof-ip-passed || echo spoof-ip-dropped
        timeout 2 wget -q -O - http://$wip/ && echo spoof-ip-reached-web" 2>&1)
like "an honest VM reaches the gateway" "$out" '^own-ok$'
like "a VM that takes another address is cut off" "$out" '^spoof-ip-dropped$'
unlike "... and does not reach another workload" "$out" 'spoof-ip-reached-web'
out=$(isoctl launch --isolation=vm --network nat -- /bin/sh -c "
        ip link set eth0 down; ip link set eth0 address 02:66:66:66:66:66; ip link set eth0 up
        ping -c 1 -W 2 $gw >/dev/null && echo spoof-mac-passed || echo spoof-mac-dropped" 2>&1)
like "a VM with another MAC is cut off" "$out" '^spoof-mac-dropped$'

# ---------------------------------------------------------------- isolated networks
diag "$(date +%T) isolated networks"
out=$(isoctl network create iso1 --subnet 10.211.5.0/24 --isolated 2>&1)
is "network create --isolated" "$?" 0
isoctl launch -d --name isoa --network iso1 -- /bin/sh -c "$WWW" hello-isoa >/dev/null
wait_until 10 state_is isoa running
sleep 0.2
out=$(isoctl launch --network iso1 -- /bin/sh -c "
        ping -c 1 -W 2 10.211.5.1 >/dev/null && echo gw-ok
        timeout 2 wget -q -O - http://$(ip_of isoa)/ || echo peer-blocked
        timeout 3 wget -q -O - http://198.51.100.2/" 2>&1)
like "on an isolated network a workload reaches the gateway" "$out" '^gw-ok$'
like "... but not another workload" "$out" '^peer-blocked$'
like "... and still the outside" "$out" '^outside-ok$'
is "workloads on different networks do not reach each other" \
        "$(isoctl launch --network iso1 -- sh -c "timeout 2 wget -q -O - http://$wip/; :" 2>&1 | grep -c hello-web)" 0
out=$(isoctl network rm iso1 2>&1)
check "a network in use cannot be removed" [ $? -ne 0 ]
like "... and the error names its users" "$out" 'isoa'
isoctl kill isoa >/dev/null 2>&1
wait_until 10 not_running isoa
isoctl rm isoa >/dev/null
check "once its workload is removed, the network can be" isoctl network rm iso1
check "... and its bridge is gone" sh -c "! ip -n $NH link show iso1 >/dev/null 2>&1"

# ---------------------------------------------------------------- bad input, each a clear error
diag "$(date +%T) bad input, each a clear error"
bad() { # bad DESCRIPTION PATTERN ARGS...: the command fails and says PATTERN
        local desc=$1 pat=$2 out
        shift 2
        out=$("$@" 2>&1)
        if [ $? -ne 0 ] && printf '%s\n' "$out" | grep -Eqi -- "$pat"; then ok "$desc"; else
                not_ok "$desc"
                diag "$out"
        fi
}
bad "port 0 is refused" 'port' isoctl launch --network nat -p 0:80 -- true
bad "port 70000 is refused" 'port' isoctl launch --network nat -p 70000:80 -- true
bad "the same host port twice in one spec" 'again|twice|duplicate' isoctl launch --network nat -p 9000:80 -p 9000:81 -- true
bad "a host port another workload publishes (named)" "web" isoctl launch --network nat -p 8081:80 -- true
inh python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 19191)); s.listen(); time.sleep(120)' &
XPIDS="$XPIDS $!"
port_bound() { inh ss -Hltn 'sport = :19191' | grep -q .; }
wait_until 10 port_bound || diag "the host process did not bind 19191 in 10 s"
bad "a port a host process has bound" 'in use|host process' isoctl launch --network nat -p 127.0.0.1:19191:80 -- true
bad "a fixed IP outside the subnet" 'not a usable address|subnet' isoctl launch --network nat --ip 10.254.254.9 -- true
bad "a fixed IP that is taken" 'taken' isoctl launch --network nat --ip "$wip" -- true
bad "a duplicate MAC" 'MAC.*taken' isoctl launch --network nat --mac "$(mac_of web)" -- true
bad "a multicast MAC" 'multicast' isoctl launch --network nat --mac 01:00:5e:00:00:01 -- true
bad "a subnet overlapping the host's" 'overlaps' isoctl network create lan2 --subnet 10.77.0.0/16
bad "a public subnet" 'private' isoctl network create lan2 --subnet 198.51.100.0/24
bad "a subnet overlapping another network" 'overlaps' isoctl network create lan3 --subnet "$sub"
bad "a hostile network name ../x" 'invalid network name' isoctl network create ../x
bad "a 16-character network name" 'invalid network name' isoctl network create abcdefghijklmnop
bad "a launch on a network that does not exist" 'does not exist|no network' isoctl launch --network nosuchnet -- true
bad "network mode host for a VM" 'host.*container' isoctl launch --isolation=vm --network host -- true
bad "ports with mode none" 'nat' isoctl launch --network none -p 9999:80 -- true
bad "removing a network that does not exist" 'no network' isoctl network rm nosuchnet
bad "removing isod0 while in use" 'in use' isoctl network rm isod0
# An exhausted subnet: a /29 has 5 addresses besides the gateway.
isoctl network create tiny --subnet 10.211.9.0/29 >/dev/null
for i in 1 2 3 4 5; do isoctl launch -d --name tiny$i --network tiny -- sleep 600 >/dev/null; done
bad "an exhausted subnet: the sixth workload" 'no free address.*LimitExceeded' isoctl launch --network tiny -- true
is "... and the five keep their addresses" "$(for i in 1 2 3 4 5; do ip_of tiny$i; done | sort -u | wc -l)" 5
isoctl rm -f tiny1 tiny2 tiny3 tiny4 tiny5 >/dev/null
isoctl network rm tiny >/dev/null
check "isod is still running after the bad input" isod_alive
is "web is still reachable after the bad input" "$(hget http://127.0.0.1:8080/)" hello-web

# ---------------------------------------------------------------- host mode
diag "$(date +%T) host mode"
out=$(isoctl launch --network host -- /bin/sh -c 'ip -4 addr show up0 | grep -c 198.51.100.1' 2>&1)
is "network mode host: the container sees the host side's uplink" "$out" 1

# ---------------------------------------------------------------- a host end left behind
# The kernel removes a container's host end with its network namespace; here someone else keeps
# that namespace alive (ip netns attach), so isod must delete the host end itself after rm.
diag "$(date +%T) a host end left behind"
hosts_ends() { ip -n $NH -o link | grep -Eo ' vi[0-9a-f]{8}' | sort; }
before=$(hosts_ends)
isoctl launch -d --name held --network nat -- sleep 600 >/dev/null
wait_until 10 state_is held running
hend=$(comm -13 <(echo "$before") <(hosts_ends) | tr -d ' ')
lpid=$(isoctl show --json held | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')
ip netns attach isodt-held-$$ "$lpid"
isoctl rm -f held >/dev/null
sleep 0.2
check "a held namespace keeps the host end ($hend) past rm" sh -c "ip -n $NH link show $hend >/dev/null"
wait_until 5 sh -c "! ip -n $NH link show $hend >/dev/null 2>&1"
check "... until isod deletes it, a moment later" sh -c "! ip -n $NH link show $hend >/dev/null 2>&1"
ip netns del isodt-held-$$

# ---------------------------------------------------------------- 200 launches leave nothing behind
diag "$(date +%T) 200 launches, 4 clients, each with a forward"
snap() {
        hosts_ends
        isoctl network show isod0 --json | tr -d ' \n' | sed -n 's/.*"Workloads":\[\([^]]*\)\].*/\1/p'
        (inh nft list table inet isod; inh nft list table bridge isod) 2>&1 | sort
}
before=$(snap)
bpids=
for c in 1 2 3 4; do
        (for i in $(seq 1 50); do
                isoctl launch --network nat -p 127.0.0.1:$((19300 + c)):80 -- true >/dev/null 2>&1 || echo "failed: $c.$i"
        done) >"$T/burst-$c.log" &
        bpids="$bpids $!"
done
wait $bpids
is "200 launches, 4 clients reusing their ports: none failed" "$(cat "$T"/burst-*.log)" ""
wait_until 5 sh -c "[ \"\$(ip -n $NH -o link | grep -Ec ' vi[0-9a-f]{8}')\" = $(echo "$before" | grep -c '^ vi') ]"
after=$(snap)
is "... and left no host end, no lease, no element behind" "$after" "$before"
[ "$after" = "$before" ] || diag "$(diff <(echo "$before") <(echo "$after") | head -20)"

# ---------------------------------------------------------------- MTU
diag "$(date +%T) MTU"
isoctl network create mtu1 --subnet 10.211.7.0/24 --mtu 1400 >/dev/null
is "network create --mtu 1400: the bridge has it" "$(ip -n $NH -o link show mtu1 | grep -o 'mtu [0-9]*')" "mtu 1400"
is "... a container's eth0" "$(isoctl launch --network mtu1 -- cat /sys/class/net/eth0/mtu 2>&1)" 1400
isoctl launch -d --name mtuc --network mtu1 -- sleep 600 >/dev/null
wait_until 10 state_is mtuc running
is "... its host end" "$(ip -n $NH -o link | grep 'master mtu1' | grep -o 'mtu [0-9]*' | sort -u)" "mtu 1400"
isoctl rm -f mtuc >/dev/null
is "... a VM's eth0" "$(isoctl launch --isolation=vm --network mtu1 -- cat /sys/class/net/eth0/mtu 2>&1)" 1400
ip -n $NH link set up0 mtu 1400
isoctl network create mtu2 --subnet 10.211.8.0/24 >/dev/null
like "without --mtu a network takes its uplink's (1400)" "$(isoctl network show mtu2 --json | tr -d ' \n')" '"Mtu":1400'
is "... and so does a container on it" "$(isoctl launch --network mtu2 -- cat /sys/class/net/eth0/mtu 2>&1)" 1400
ip -n $NH link set up0 mtu 1500
isoctl network rm mtu1 >/dev/null
isoctl network rm mtu2 >/dev/null

# ---------------------------------------------------------------- kill -9 of isod
diag "$(date +%T) kill -9 of isod"
stop_isod -KILL
is "with isod killed, the localhost forward still works" "$(hget http://127.0.0.1:8080/)" hello-web
is "... and the outside still reaches web" "$(xget http://198.51.100.1:8081/)" hello-web
tbl1=$( (inh nft list table inet isod; inh nft list table bridge isod) 2>&1 | sort | md5sum)
# While isod is down: a port on isod0 named like a host end that no workload has, and one that is
# not isod's name at all.
ip -n $NH link add vi0000dead type veth peer name xdead0
ip -n $NH link add notours0 type veth peer name xdead1
ip -n $NH link set vi0000dead master isod0
ip -n $NH link set notours0 master isod0
check "isod restarts" start_isod_h
sleep 0.5
check "a host end on the bridge that no workload has is deleted at start" sh -c "! ip -n $NH link show vi0000dead >/dev/null 2>&1"
check "... but not a port isod did not name" sh -c "ip -n $NH link show notours0 >/dev/null"
check "... nor the running workload's" sh -c "ip -n $NH -o link | grep -q ' vi[0-9a-f]\{8\}@'"
ip -n $NH link del notours0
is "the re-adopted workload keeps its address" "$(ip_of web)" "$wip"
is "the tables after the restart are the same as before" "$( (inh nft list table inet isod; inh nft list table bridge isod) 2>&1 | sort | md5sum)" "$tbl1"
is "the forward works after the restart" "$(hget http://127.0.0.1:8080/)" hello-web
is "names still resolve after the restart" "$(isoctl launch --network nat -- sh -c "timeout 3 wget -q -O - http://web/; :" 2>&1)" hello-web
bad "the restarted isod still holds web's ports" 'web' isoctl launch --network nat -p 8081:80 -- true

# ---------------------------------------------------------------- kill -9 of a monitor, then rm
diag "$(date +%T) kill -9 of a monitor, then rm"
mon=$(isoctl show --json web | sed -n 's/.*"MonitorPID": \([0-9]*\).*/\1/p')
kill -KILL "$mon"
wait_until 10 not_running web
isoctl rm web >/dev/null 2>&1
isoctl kill vmweb >/dev/null 2>&1
wait_until 20 not_running vmweb
isoctl rm vmweb >/dev/null 2>&1
sleep 0.5
is "after rm, no lease is left on isod0" "$(isoctl network show isod0 --json | tr -d ' \n' | sed -n 's/.*"Workloads":\[\([^]]*\)\].*/\1/p')" ""
check "... no forward in the table" sh -c "! nsenter --net=/run/netns/$NH -- nft list table inet isod | grep -q ' : $wip'"
check "... no host-side link of web or vmweb" sh -c "! ip -n $NH -o link | grep -Eq ' (vi|ti)[0-9a-f]{8}'"
is "... and the forward refuses connections" "$(hget http://127.0.0.1:8080/)" ""
check "isoctl network rm isod0 once unused" isoctl network rm isod0
check "... and its name server is gone" sh -c "! pgrep -f 'hostsdi[r]=$T/state/networks/isod0/' >/dev/null"

stop_isod
net_cleanup
done_testing
