#!/usr/bin/env python3
"""linkproxy: a TCP proxy for tests that need a bad link between a device and gridsyncd.

It forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET (or --target-host HOST:TARGET) and can
  --delay-ms M         hold every chunk M ms before forwarding it (each direction), so each
                       round trip costs about 2*M... use --delay-up-ms for requests only;
  --delay-up-ms M      hold client->server chunks M ms (a request held M ms);
  --cut-up-after N     close the connection once N client->server bytes were forwarded;
  --cut-down-after N   close the connection once N server->client bytes were forwarded;
  --cut-conns K        apply the cuts to the first K connections only (default 1; 0 = all).
It prints "listening PORT" on stdout when ready, and counts on SIGTERM to stderr.
Delays preserve order: chunks are queued with their due time.
"""
import argparse
import asyncio
import signal
import sys
import time


class Stats:
    conns = 0
    cuts = 0
    up = 0
    down = 0


async def pump(reader, writer, delay, cut_after, on_cut, direction):
    sent = 0
    queue = asyncio.Queue()

    async def sender():
        nonlocal sent
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if cut_after is not None and sent + len(data) >= cut_after:
                part = data[: max(0, cut_after - sent)]
                if part:
                    writer.write(part)
                    await writer.drain()
                sent += len(part)
                on_cut()
                return
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if direction == "up":
                Stats.up += len(data)
            else:
                Stats.down += len(data)

    task = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((time.monotonic() + delay, data))
            if task.done():
                break
    except (ConnectionError, asyncio.CancelledError):
        pass
    await queue.put((0, None))
    try:
        await task
    except (ConnectionError, asyncio.CancelledError):
        pass
    try:
        writer.write_eof()
    except (OSError, RuntimeError):
        pass


async def handle(creader, cwriter, args):
    Stats.conns += 1
    n = Stats.conns
    cut_this = args.cut_conns == 0 or n <= args.cut_conns
    try:
        sreader, swriter = await asyncio.open_connection(args.target_host, args.target)
    except OSError:
        cwriter.close()
        return
    closed = False

    def cut():
        nonlocal closed
        if closed:
            return
        closed = True
        Stats.cuts += 1
        for w in (cwriter, swriter):
            try:
                w.transport.abort()
            except Exception:
                pass

    up_delay = (args.delay_up_ms or args.delay_ms) / 1000.0
    down_delay = args.delay_ms / 1000.0
    await asyncio.gather(
        pump(creader, swriter, up_delay, args.cut_up_after if cut_this else None, cut, "up"),
        pump(sreader, cwriter, down_delay, args.cut_down_after if cut_this else None, cut, "down"),
        return_exceptions=True,
    )
    for w in (cwriter, swriter):
        try:
            w.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--target", type=int, required=True)
    # another address than 127.0.0.1: a server across a veth pair (tests/faults/bad_link.sh)
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--delay-up-ms", type=float, default=0)
    ap.add_argument("--cut-up-after", type=int)
    ap.add_argument("--cut-down-after", type=int)
    ap.add_argument("--cut-conns", type=int, default=1)
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.listen)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(f"conns={Stats.conns} cuts={Stats.cuts} up={Stats.up} down={Stats.down}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
