#!/usr/bin/env python3
"""A server that accepts every connection and never says a word: the target that hangs.

Prints its port, then holds each connection for a minute (longer than any probe deadline the
benchmarks use) before closing it, so a long benchmark never runs out of file descriptors and
every probe in it really hangs.
"""
import collections
import resource
import socket
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
except (ValueError, OSError):
    pass  # the soft limit stays; connections older than a minute are closed anyway
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(4096)
print(server.getsockname()[1], flush=True)
held = collections.deque()
while True:
    conn, _ = server.accept()
    now = time.monotonic()
    held.append((now, conn))
    while held and now - held[0][0] > 60:
        held.popleft()[1].close()
