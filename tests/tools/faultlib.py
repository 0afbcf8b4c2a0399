"""faultlib: what the fault tests' Python tools share: a live server's memory, one raw HTTPS
exchange, and the ok / not ok lines their shell scripts count."""
import os
import socket
import ssl

# ASan's allocator keeps freed memory in quarantine and ignores mallopt: RSS says nothing
# about the server's own bounds there, so those checks are skipped (the behaviour ones run)
SANITIZED = os.environ.get("SERVER_SANITIZED") == "1"


def rss_mb(pid):
    """Resident memory of process pid, in MB."""
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024.0


class Checks:
    """Prints one ok / not ok (or skip) line per check and counts the failures."""

    def __init__(self):
        self.fails = 0

    def check(self, name, cond, why, rss=False):
        if rss and SANITIZED:
            print("skip %s: server built with a sanitizer (RSS not meaningful)" % name)
        elif cond:
            print("ok %s" % name)
        else:
            self.fails += 1
            print("not ok %s: %s" % (name, why))


def exchange(port, ca, method, path, body=b"", token=None, ctype="application/json"):
    """One request on its own TLS connection, written by hand (so a test controls every
    header); returns (status, body) with a chunked body joined."""
    s = ssl.create_default_context(cafile=ca).wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    h = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (method, path)
    if token:
        h += "Authorization: Bearer %s\r\n" % token
    if body or method == "POST":
        h += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
    s.sendall(h.encode() + b"\r\n" + body)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out = b""
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        rest = out
    return status, rest
