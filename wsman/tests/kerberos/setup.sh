#!/usr/bin/env bash
# Test support for wsman/tests/transport_kerberos.rs: installs MIT Kerberos and
# pyspnego, and creates a throw-away realm WSMAN.TEST under $1 (a cache dir).
# Idempotent: a realm that is already there is reused.
#
# Exit codes: 0 ready, 3 "cannot install" (the test skips, reason on stderr),
# anything else is a real failure.
set -euo pipefail
DIR=${1:?usage: setup.sh CACHE_DIR}
REALM=WSMAN.TEST
USER_PW=${WSMAN_KRB_USER_PASSWORD:-Alice-Pa55word}
mkdir -p "$DIR"

need_pkgs=()
command -v kdb5_util >/dev/null 2>&1 || [ -x /usr/sbin/kdb5_util ] || need_pkgs+=(krb5-kdc krb5-admin-server)
command -v kinit >/dev/null 2>&1 || need_pkgs+=(krb5-user)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import gssapi' 2>/dev/null || need_pkgs+=(python3-gssapi python3-venv)
# pyspnego's Kerberos backend also needs the `krb5` module, built from source.
dpkg -s libkrb5-dev python3-dev gcc >/dev/null 2>&1 || need_pkgs+=(libkrb5-dev python3-dev gcc)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "SKIP: apt-get is not available to install ${need_pkgs[*]}" >&2; exit 3
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: installing ${need_pkgs[*]} needs root" >&2; exit 3
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${need_pkgs[@]}" >"$DIR/apt.log" 2>&1; then
    apt-get update >>"$DIR/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${need_pkgs[@]}" >>"$DIR/apt.log" 2>&1 \
      || { echo "SKIP: apt-get install ${need_pkgs[*]} failed (see $DIR/apt.log)" >&2; exit 3; }
  fi
fi

# pyspnego (what pywinrm uses for Kerberos and message encryption), in a venv
# that also sees Debian's python3-gssapi.
if [ ! -x "$DIR/venv/bin/python" ] || ! "$DIR/venv/bin/python" -c 'import spnego, gssapi, krb5' 2>/dev/null; then
  rm -rf "$DIR/venv"
  /usr/bin/python3 -m venv --system-site-packages "$DIR/venv" >"$DIR/venv.log" 2>&1 \
    || { echo "SKIP: cannot create a python venv (see $DIR/venv.log)" >&2; exit 3; }
  "$DIR/venv/bin/pip" install --quiet 'pyspnego[kerberos]>=0.10' >>"$DIR/venv.log" 2>&1 \
    || { echo "SKIP: pip install pyspnego failed (see $DIR/venv.log)" >&2; exit 3; }
fi

# The realm: database, a user and HTTP/localhost with a keytab.
R="$DIR/realm"
if [ ! -f "$R/ready" ]; then
  rm -rf "$R"; mkdir -p "$R"
  cat >"$R/krb5.conf" <<CONF
[libdefaults]
  default_realm = $REALM
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
[realms]
  $REALM = {
    kdc = 127.0.0.1:1
  }
CONF
  cat >"$R/kdc.conf" <<CONF
[realms]
  $REALM = {
    database_name = $R/principal
    key_stash_file = $R/stash
    acl_file = $R/kadm5.acl
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    max_life = 10h
  }
CONF
  : >"$R/kadm5.acl"
  export KRB5_CONFIG="$R/krb5.conf" KRB5_KDC_PROFILE="$R/kdc.conf"
  kdb5_util create -s -r "$REALM" -P "master-$(date +%s%N)" >"$R/setup.log" 2>&1
  kadmin.local -r "$REALM" -q "addprinc +requires_preauth -pw $USER_PW alice" >>"$R/setup.log" 2>&1
  kadmin.local -r "$REALM" -q "addprinc -randkey HTTP/localhost" >>"$R/setup.log" 2>&1
  kadmin.local -r "$REALM" -q "ktadd -k $R/http.keytab HTTP/localhost" >>"$R/setup.log" 2>&1
  touch "$R/ready"
fi
echo "REALM_DIR=$R"
echo "PYTHON=$DIR/venv/bin/python"
