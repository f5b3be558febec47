"""Drives a WinRM server with pywinrm, a client we did not write.

Usage: pywinrm_client.py ENDPOINT TRANSPORT USER PASSWORD CASES_JSON
TRANSPORT is basic, ntlm (sealed: message_encryption=auto), ntlm-plain
(message_encryption=never) or basic-https (server certificate not verified:
the test server's CA is generated per run). CASES_JSON is a list of
{"kind": "cmd"|"ps", "command": str, "args": [str]}. Prints one JSON object per
case: {"status": int, "stdout_b64": str, "stderr_b64": str} or {"error": str}.
"""
import base64
import json
import sys

import winrm


def session(endpoint, transport, user, password):
    kwargs = dict(auth=(user, password), operation_timeout_sec=2, read_timeout_sec=8)
    if transport == "basic":
        return winrm.Session(endpoint, transport="basic", **kwargs)
    if transport == "basic-https":
        return winrm.Session(endpoint, transport="basic", server_cert_validation="ignore", **kwargs)
    if transport == "ntlm":
        return winrm.Session(endpoint, transport="ntlm", message_encryption="auto", **kwargs)
    if transport == "ntlm-plain":
        return winrm.Session(endpoint, transport="ntlm", message_encryption="never", **kwargs)
    raise SystemExit(f"unknown transport {transport}")


def main():
    endpoint, transport, user, password, cases = sys.argv[1:6]
    s = session(endpoint, transport, user, password)
    for case in json.loads(cases):
        try:
            if case["kind"] == "cmd":
                r = s.run_cmd(case["command"], case.get("args", []))
            else:
                r = s.run_ps(case["command"])
            out = {
                "status": r.status_code,
                "stdout_b64": base64.b64encode(r.std_out).decode(),
                "stderr_b64": base64.b64encode(r.std_err).decode(),
            }
        except Exception as e:  # the test reports the client's own words
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
