"""A WinRM-shaped HTTP endpoint whose Kerberos side is pyspnego + MIT GSSAPI.

Usage: acceptor.py  (env: KRB5_CONFIG, KRB5_KTNAME pointing at the realm)
Prints "PORT <n>" once listening on 127.0.0.1. Per connection it accepts
`Authorization: Negotiate <krb5 token>`, answers with the mutual-auth token
(AP-REP) and then expects MS-WSMV `multipart/encrypted` bodies sealed with
the Kerberos session keys (pyspnego's unwrap_winrm, as pywinrm uses), and
answers each one sealed (wrap_winrm) with an envelope naming the client
principal and echoing the request. `WSMAN_ACCEPTOR_BAD_MUTUAL=1` corrupts the
AP-REP to test the client's mutual-authentication check.
"""
import base64
import http.server
import os
import re
import struct
import sys

import spnego

BOUNDARY = b"--Encrypted Boundary"
CT = ('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
      'boundary="Encrypted Boundary"')


def frame(header, data, length):
    return (BOUNDARY + b"\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % length
            + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<I", len(header)) + header + data + BOUNDARY + b"--\r\n")


def unframe(body):
    m = re.match(rb"^--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
                 rb"\tOriginalContent: type=[^;]+;charset=UTF-8;Length=(\d+)\r\n"
                 rb"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n(.*)"
                 rb"--Encrypted Boundary--\r\n$", body, re.S)
    if not m:
        raise ValueError("bad multipart/encrypted framing")
    payload = m.group(2)
    (hlen,) = struct.unpack("<I", payload[:4])
    return int(m.group(1)), payload[4:4 + hlen], payload[4 + hlen:]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ctx = None

    def log_message(self, fmt, *args):
        sys.stderr.write("acceptor: " + (fmt % args) + "\n")

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "negotiate" or not token:
                return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
            self.ctx = spnego.server(service="HTTP", hostname="localhost", protocol="kerberos")
            try:
                out = self.ctx.step(base64.b64decode(token))
            except Exception as exc:  # noqa: BLE001 - report any GSS failure as 401
                self.log_message("accept failed: %s", exc)
                self.ctx = None
                return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
            if not self.ctx.complete:
                return self.reply(401, headers=[("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())])
            self.log_message("authenticated %s", self.ctx.client_principal)
            if out and os.environ.get("WSMAN_ACCEPTOR_BAD_MUTUAL"):
                out = out[:-8] + bytes(b ^ 0x5A for b in out[-8:])
            hdrs = [("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())] if out else []
            return self.reply(200, headers=hdrs + [("Content-Type", "application/soap+xml;charset=UTF-8")])
        if self.ctx is None or not self.ctx.complete:
            return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
        if "multipart/encrypted" not in self.headers.get("Content-Type", ""):
            # WinRM refuses unencrypted SOAP on HTTP.
            return self.reply(400, b"unencrypted body refused")
        try:
            length, header, data = unframe(body)
            plain = self.ctx.unwrap_winrm(header, data)
            if len(plain) != length:
                raise ValueError("length mismatch")
        except Exception as exc:  # noqa: BLE001
            self.log_message("unseal failed: %s", exc)
            return self.reply(400, b"cannot unseal")
        answer = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                  b"<principal>" + str(self.ctx.client_principal).encode() + b"</principal><echo>"
                  + plain + b"</echo></s:Body></s:Envelope>")
        wrapped = self.ctx.wrap_winrm(answer)
        sealed = frame(wrapped.header, wrapped.data, len(answer) + wrapped.padding_length)
        self.reply(200, sealed, [("Content-Type", CT)])


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
