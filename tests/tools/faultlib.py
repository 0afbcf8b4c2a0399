"""faultlib: what the fault tests' Python tools share: a live server's memory, and the
ok / not ok lines their shell scripts count."""
import os

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
