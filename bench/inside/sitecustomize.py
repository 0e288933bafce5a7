"""Measuring inside the server while `python -m bench` drives it (docs/benchmarks.md, "Measuring inside the server").

Not part of the app: Python imports this file at start-up when its folder is on PYTHONPATH, in every process, and
it does something only in the server the bench starts (`python -c "... from p2p.cli import main; main(['serve'])"`) and
only when BENCH_INSIDE names where to write. Then, at the server's end (the bench stops it with SIGTERM):

- BENCH_INSIDE.<pid>.json: each wrapped function's thread CPU time and calls (time.thread_time: what that thread
  spent, not what it waited for Python's lock), each request's by method and route, Python's collections (wall
  time) and the process's CPU;
- BENCH_INSIDE.<pid>.memory.txt: resident memory by kind of mapping (/proc/self/smaps), SQLite's own memory,
  glibc's arenas (mallinfo2: in use and free), and resident memory after a full collection and after
  malloc_trim(0) (what glibc could hand back); with
  BENCH_TRACEMALLOC=12 (frames kept), where Python's live memory was allocated: by the app's own line that led to
  it, and the largest 25 places with their frames; and
  BENCH_INSIDE.<pid>.mallocstats.txt, Python's allocator in detail (sys._debugmallocstats: arenas, used, free);
- with BENCH_PROFILE_LOOKS=0.1: cProfile of a tenth of the streams' looks (board.Follower.update), in
  BENCH_INSIDE.<pid>.looks.prof; with BENCH_PROFILE_WRITES=1: of every board write, in BENCH_INSIDE.<pid>.writes.prof
  (read them with `python -m pstats`).

    PYTHONPATH=bench/inside BENCH_INSIDE=/tmp/inside .venv/bin/python -m bench --only room
"""

import os
import sys

if os.environ.get("BENCH_INSIDE") and sys.argv[:1] == ["-c"]:
    # The server runs as on SQLite (bench/server.py SERVE_AS_ON_SQLITE): without psycopg, which peewee imports
    # whenever it is installed. Importing p2p below comes before that line runs, so it is said here too.
    sys.modules.update(psycopg=None, psycopg2=None)
    import cProfile
    import functools
    import gc
    import json
    import random
    import re
    import signal
    import threading
    import time

    OUT = f"{os.environ['BENCH_INSIDE']}.{os.getpid()}"
    if os.environ.get("BENCH_TRACEMALLOC"):   # where Python's live memory was allocated (slows the server down)
        import tracemalloc
        tracemalloc.start(int(os.environ["BENCH_TRACEMALLOC"]))
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    profiles: dict[str, list] = {}
    lock = threading.Lock()

    def add(label: str, seconds: float) -> None:
        with lock:
            totals[label] = totals.get(label, 0.0) + seconds
            counts[label] = counts.get(label, 0) + 1

    def timed(owner, name: str) -> None:
        """Counts the thread CPU time of owner.name (a function or method) and its calls."""
        original, label = getattr(owner, name), f"{getattr(owner, '__name__', owner)}.{name}"

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            began = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                add(label, time.thread_time() - began)
        setattr(owner, name, wrapper)

    def profiled(owner, name: str, label: str, rate: float, only=lambda: True) -> None:
        """cProfile (thread CPU time) of a `rate` share of owner.name's calls."""
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            if random.random() > rate or not only():
                return original(*args, **kwargs)
            profile = cProfile.Profile(time.thread_time)
            try:
                return profile.runcall(original, *args, **kwargs)
            finally:
                with lock:
                    profiles.setdefault(label, []).append(profile)
        setattr(owner, name, wrapper)

    import flask

    import p2p.board as board
    import p2p.stream as stream

    wsgi_app = flask.Flask.wsgi_app

    def each_request(self, environ, start_response):
        began = time.thread_time()
        try:
            return wsgi_app(self, environ, start_response)
        finally:
            route = re.sub(r"\d+", "N", environ.get("PATH_INFO", ""))
            add(f"request {environ.get('REQUEST_METHOD')} {route}", time.thread_time() - began)
    flask.Flask.wsgi_app = each_request

    for owner, names in ((board, ("snapshot", "newest_snapshot", "board_state", "shared_view", "my_responses",
                                  "projector_state", "effective_responses")),
                         (board.Follower, ("update", "_regions", "_behaviours")),
                         (stream.ListFollower, ("changes",)), (stream, ("for_this_person", "_event"))):
        for name in names:
            timed(owner, name)

    shared_html = board.shared_html

    def each_render(template, **context):   # the templates the streams render, each on its own line
        began = time.thread_time()
        try:
            return shared_html(template, **context)
        finally:
            add(f"render {template}", time.thread_time() - began)
    board.shared_html = each_render

    if os.environ.get("BENCH_PROFILE_LOOKS"):
        profiled(board.Follower, "update", "looks", float(os.environ["BENCH_PROFILE_LOOKS"]))
    if os.environ.get("BENCH_PROFILE_WRITES"):
        profiled(flask.Flask, "full_dispatch_request", "writes", 1.0,
                 only=lambda: flask.request.method == "POST" and "/board/" in flask.request.path)

    collecting: dict[str, float] = {}

    def each_collection(phase: str, info: dict) -> None:
        if phase == "start":
            collecting["began"] = time.perf_counter()
        else:
            add(f"gc generation {info['generation']}", time.perf_counter() - collecting.pop("began", time.perf_counter()))
    gc.callbacks.append(each_collection)

    def resident() -> str:
        return next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmRSS")) + " kB"

    def memory() -> str:
        kinds: dict[str, list[int]] = {}
        kind = None
        for line in open("/proc/self/smaps"):
            parts = line.split()
            if not parts[0].endswith(":"):   # a mapping's first line: its addresses, ..., its file if any
                low, high = (int(x, 16) for x in parts[0].split("-"))
                name = parts[5] if len(parts) > 5 else ""
                kind = ("files" if name.startswith("/") else name or
                        ("thread stacks" if 8180 <= (high - low) // 1024 <= 8200 else "anonymous (malloc, Python)"))
            elif parts[0] == "Rss:" and kind:
                kinds.setdefault(kind, [0, 0])
                kinds[kind][0] += int(parts[1])
                kinds[kind][1] += 1
        lines = [f"resident {resident()}"]
        lines += [f"{kind:28s} {kb / 1024:8.1f} MB in {n} mappings" for kind, (kb, n) in sorted(kinds.items(), key=lambda k: -k[1][0])]
        gc.collect()
        lines.append(f"after a full collection: resident {resident()}, {len(gc.get_objects())} objects tracked, "
                     f"{threading.active_count()} threads")
        import ctypes
        sqlite = ctypes.CDLL("libsqlite3.so.0")
        sqlite.sqlite3_memory_used.restype = sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
        lines.append(f"SQLite's own memory: {sqlite.sqlite3_memory_used() / 2**20:.1f} MB in use, "
                     f"{sqlite.sqlite3_memory_highwater(0) / 2**20:.1f} MB at the highest")
        class MallInfo2(ctypes.Structure):   # glibc's own count: what its arenas hold, in use and free
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
        lines.append(f"glibc malloc: {info.arena / 2**20:.1f} MB in its arenas ({info.uordblks / 2**20:.1f} in use, "
                     f"{info.fordblks / 2**20:.1f} free in {info.ordblks} pieces), {info.hblkhd / 2**20:.1f} MB "
                     f"mapped on its own in {info.hblks} blocks")
        saved = os.dup(2)
        with open(f"{OUT}.mallocstats.txt", "w") as out:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
            os.dup2(saved, 2)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        lines.append(f"after malloc_trim(0): resident {resident()}")
        if os.environ.get("BENCH_TRACEMALLOC"):
            snapshot = tracemalloc.take_snapshot()
            lines.append(f"traced by Python's allocator: {sum(s.size for s in snapshot.statistics('filename')) / 2**20:.1f} MB")
            by_app_line: dict[str, list[int]] = {}   # by the app's own line that led to the allocation
            statistics = snapshot.statistics("traceback")
            for stat in statistics:
                mine = next((f"{f.filename.split('/p2p/')[-1]}:{f.lineno}" for f in stat.traceback if "/p2p/" in f.filename),
                            "(not through the app: imports, libraries' own)")
                by_app_line.setdefault(mine, [0, 0])
                by_app_line[mine][0] += stat.size
                by_app_line[mine][1] += stat.count
            lines.append("by the app's line that led to it (the newest of its frames in p2p/):")
            lines += [f"{size / 2**20:7.2f} MB {count:7d} blocks  {where}"
                      for where, (size, count) in sorted(by_app_line.items(), key=lambda item: -item[1][0])[:25]]
            for stat in statistics[:25]:
                lines.append(f"{stat.size / 2**20:7.2f} MB {stat.count:7d} blocks")
                lines += [f"      {frame}" for frame in stat.traceback.format(most_recent_first=True)]
        return "\n".join(lines) + "\n"

    def write_out(*_) -> None:
        with open(f"{OUT}.json", "w") as out:
            json.dump({"process_cpu_seconds": time.process_time(), "thread_cpu_seconds": totals, "calls": counts},
                      out, indent=1, sort_keys=True)
        for label, found in profiles.items():
            import pstats
            stats = pstats.Stats(found[0])
            for profile in found[1:]:
                stats.add(profile)
            stats.dump_stats(f"{OUT}.{label}.prof")
        with open(f"{OUT}.memory.txt", "w") as out:
            out.write(memory())
        os._exit(0)
    signal.signal(signal.SIGTERM, write_out)
