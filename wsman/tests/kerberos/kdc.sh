#!/usr/bin/env bash
# Runs the WSMAN.TEST KDC in the foreground on 127.0.0.1:$2 (TCP and UDP),
# with config files in $3 (a per-run temp dir). $1 is the realm dir from setup.sh.
set -euo pipefail
R=${1:?realm dir}; PORT=${2:?port}; RUN=${3:?run dir}
REALM=WSMAN.TEST
sed "s/127.0.0.1:1/127.0.0.1:$PORT/" "$R/krb5.conf" >"$RUN/krb5.conf"
{ echo "[kdcdefaults]"; echo "  kdc_listen = 127.0.0.1:$PORT"; echo "  kdc_tcp_listen = 127.0.0.1:$PORT"; cat "$R/kdc.conf";
  echo "[logging]"; echo "  kdc = FILE:$RUN/kdc.log"; } >"$RUN/kdc.conf"
export KRB5_CONFIG="$RUN/krb5.conf" KRB5_KDC_PROFILE="$RUN/kdc.conf"
KDC=$(command -v krb5kdc || echo /usr/sbin/krb5kdc)
exec "$KDC" -n -r "$REALM" -P "$RUN/kdc.pid"
