#!/bin/bash
# A real S3-compatible server for the tests of the S3 attachment store (tests/attachments/
# test_s3_store.py): Ceph's RADOS Gateway from Debian's packages (radosgw ceph-mon ceph-osd
# ceph-common, installed by scripts/test.sh), on the smallest one-node Ceph cluster it accepts:
# one mon, one osd keeping its data in memory (memstore), no mgr, plain processes (no systemd).
# Starts in about 2 s, about 110 MB of RAM; everything is thrown away on stop.
# usage: s3_server.sh start|stop|status     env: D (state dir), RGW_PORT, MON_PORT,
#        S3_ACCESS_KEY, S3_SECRET_KEY (the S3 user created at start)
set -euo pipefail
D=${D:-/tmp/shopchat-s3}
MON_PORT=${MON_PORT:-46789}      # msgr v1; v2 on MON_PORT+1
RGW_PORT=${RGW_PORT:-47480}
CONF=$D/ceph.conf
ceph() { command ceph -c "$CONF" --connect-timeout 20 "$@"; }

start() {
  [ -e "$D" ] && { echo "$D exists; run stop first" >&2; exit 1; }
  mkdir -p "$D"/{mon.a,osd.0,rgw,log,run}
  local fsid; fsid=$(uuidgen)
  cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$((MON_PORT+1)),v1:127.0.0.1:$MON_PORT]
auth cluster required = none
auth service required = none
auth client required = none
keyring = $D/keyring
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
admin socket = $D/run/\$name.asok
run dir = $D/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1        # default 30%: HEALTH_WARN on a fuller disk
mon data avail crit = 1        # default 5%: the mon shuts itself down
mon max pg per osd = 1000
ms bind ipv6 = false
paxos propose interval = 0.1   # default 1 s per map change; rgw makes ~20 at first start
ms mon client mode = crc    # default for daemons is 'secure', which auth=none cannot do (-13)
[mon.a]
mon data = $D/mon.a
[osd.0]
osd data = $D/osd.0
osd objectstore = memstore
memstore device bytes = 536870912
osd journal size = 100
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $D/rgw
rgw dns name = localhost
rgw thread pool size = 16      # default 512 threads
EOF
  # auth is off, but mon --mkfs still wants a keyring
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$((MON_PORT+1)),v1:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$D/monmap" --keyring "$D/keyring"
  ceph-mon -c "$CONF" -i a
  local uuid id; uuid=$(uuidgen)
  id=$(ceph osd new "$uuid")
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" >"$D/log/mkfs.log" 2>&1
  ceph-osd -c "$CONF" -i "$id"
  for i in $(seq 300); do ceph osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.2; done
  radosgw -c "$CONF" -n client.rgw
  for i in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 0.2; done
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/" || true)
  [ "$code" = 200 ] || { echo "radosgw does not answer (HTTP $code); logs in $D/log" >&2; exit 1; }
  radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
    --access-key="${S3_ACCESS_KEY:-testaccess}" --secret-key="${S3_SECRET_KEY:-testsecret}" >/dev/null
  echo "S3 endpoint http://127.0.0.1:$RGW_PORT  key ${S3_ACCESS_KEY:-testaccess}/${S3_SECRET_KEY:-testsecret}"
}

stop() {   # SIGTERM one by one, ~2 s each: rgw hangs if the osd goes first, the osd reports to the mon
  term client.rgw
  term osd.0
  term mon.a
  rm -rf "$D"
}

term() {   # SIGTERM the named daemons, wait up to 15 s, then SIGKILL
  local pids=() names=() n p i t
  for n in "$@"; do
    [ -f "$D/run/$n.pid" ] || continue
    p=$(cat "$D/run/$n.pid"); kill "$p" 2>/dev/null && { pids+=("$p"); names+=("$n"); }
  done
  for i in "${!pids[@]}"; do
    p=${pids[$i]}
    for t in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then echo "${names[$i]} ($p) did not stop in 15 s, SIGKILL"; kill -9 "$p"
    else echo "${names[$i]} stopped"; fi
  done
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) ceph -s ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
