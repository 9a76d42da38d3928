"""The benchmark suite of issue 7: one command, one table.

Runs the C benchmarks built by meson (bench_train, bench_fused, bench_reduce,
bench_checkpoint when present), each of which measures its hand-written C
baseline in the same run, then the same workloads in NumPy and PyTorch when the
interpreter has them (vectorised NumPy with hand-derived gradients; PyTorch
autograd with torch.optim.SGD), and prints one Markdown table.

  bench/run.sh [build-dir] [--quick]        (or: /usr/bin/python3 bench/suite.py ...)

Figures are medians of repetitions (bench_reduce and bench_checkpoint report the
best of several, as their own headers say). On a shared machine every figure
moves with the load; the ratios, measured pairwise in the same run, move less.
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

N_BIG = 8 << 20


def run(cmd, timeout=1800, env=None):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env=dict(os.environ, **env) if env else None)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if out.returncode != 0:
        return None, (out.stderr or out.stdout).strip()[-300:]
    return out.stdout, None


def num(pattern, text, group=1, cast=float):
    m = re.search(pattern, text or "", re.M)
    return cast(m.group(group)) if m else None


def median_time(fn, reps, inner=1):
    """Median seconds per call of fn over reps batches of inner calls."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
    return statistics.median(ts)


# ---- peers ----------------------------------------------------------------------

XS = [0, 1, 2, 3, 4, 5, 6, 7]
YS = [-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00]


def numpy_rows(quick):
    try:
        import numpy as np
    except ImportError:
        return None
    r = {}
    x8 = np.array(XS, np.float32)
    y8 = np.array(YS, np.float32)
    st = {"m": np.float32(-0.5), "b": np.float32(1.0)}
    lr = np.float32(0.001)

    def tensor_step():
        e = y8 - (st["m"] * x8 + st["b"])
        st["m"] -= lr * np.float32(-2) * np.sum(e * x8)
        st["b"] -= lr * np.float32(-2) * np.sum(e)

    r["tensor"] = median_time(tensor_step, 5, 2000 if not quick else 200)
    xs = [np.float32(v) for v in XS]
    ys = [np.float32(v) for v in YS]

    def serial_step():
        dm = db = np.float32(0)
        for xi, yi in zip(xs, ys):
            e = yi - (st["m"] * xi + st["b"])
            dm += np.float32(-2) * e * xi
            db += np.float32(-2) * e
        st["m"] -= lr * dm
        st["b"] -= lr * db

    r["serial"] = median_time(serial_step, 5, 1000 if not quick else 100)
    rng = np.random.default_rng(1)
    X = (rng.random(N_BIG, dtype=np.float32) * 2 - 1).astype(np.float32)
    Y = (0.5 * X + 0.25).astype(np.float32)

    def sgd_step():
        i = rng.integers(0, N_BIG, 8)
        xb, yb = X[i], Y[i]
        e = yb - (st["m"] * xb + st["b"])
        st["m"] -= lr * np.float32(-2) * np.sum(e * xb)
        st["b"] -= lr * np.float32(-2) * np.sum(e)

    r["sgd"] = median_time(sgd_step, 5, 2000 if not quick else 200)

    def full_step():
        e = Y - (st["m"] * X + st["b"])
        loss = np.mean(e * e)
        dm = np.float32(-2) * np.mean(e * X)
        db = np.float32(-2) * np.mean(e)
        st["m"] -= np.float32(0.1) * dm
        st["b"] -= np.float32(0.1) * db
        return loss

    r["full"] = median_time(full_step, 10 if not quick else 3)
    for n in (8 << 20, 64 << 20):
        a = X if n == N_BIG else np.resize(X, n)
        r["sum%d" % (n >> 20)] = n * 4 / median_time(lambda: np.sum(a), 15 if not quick else 3) / 1e9
    return r


def torch_rows(quick):
    try:
        import torch
    except ImportError:
        return None
    r = {"version": torch.__version__}
    x8 = torch.tensor(XS, dtype=torch.float32)
    y8 = torch.tensor(YS, dtype=torch.float32)
    m = torch.tensor(-0.5, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    opt = torch.optim.SGD([m, b], lr=0.001)

    def tensor_step():
        loss = ((y8 - (m * x8 + b)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    torch.set_num_threads(1)
    r["tensor"] = median_time(tensor_step, 5, 500 if not quick else 50)
    xs = [torch.tensor(v) for v in XS]
    ys = [torch.tensor(v) for v in YS]

    def serial_step():
        loss = 0
        for xi, yi in zip(xs, ys):
            loss = loss + (yi - (m * xi + b)) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()

    r["serial"] = median_time(serial_step, 5, 200 if not quick else 20)
    gen = torch.Generator().manual_seed(1)
    X = torch.rand(N_BIG, generator=gen) * 2 - 1
    Y = 0.5 * X + 0.25

    def sgd_step():
        i = torch.randint(0, N_BIG, (8,), generator=gen)
        xb, yb = X[i], Y[i]
        loss = ((yb - (m * xb + b)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    r["sgd"] = median_time(sgd_step, 5, 500 if not quick else 50)
    opt_full = torch.optim.SGD([m, b], lr=0.1)

    def full_step():
        loss = ((Y - (m * X + b)) ** 2).mean()
        opt_full.zero_grad()
        loss.backward()
        opt_full.step()

    for threads in (1, 2):
        torch.set_num_threads(threads)
        r["full%d" % threads] = median_time(full_step, 10 if not quick else 3)
    torch.set_num_threads(2)
    with torch.no_grad():
        for n in (8 << 20, 64 << 20):
            a = X if n == N_BIG else X.repeat(8)
            r["sum%d" % (n >> 20)] = n * 4 / median_time(lambda: a.sum(), 15 if not quick else 3) / 1e9
    return r


# ---- the table ------------------------------------------------------------------


def fmt(v, spec, unit=""):
    return "-" if v is None else (spec % v) + unit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, not for the record)")
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()
    bench = os.path.join(a.build, "bench")
    exe = lambda name: os.path.join(bench, name)  # noqa: E731
    notes = []

    train_steps, train_batches = ("1000", "3") if a.quick else ("10000", "7")
    train, err = run([exe("bench_train"), train_steps, train_batches])
    if err:
        notes.append("bench_train: " + err)
    tr = {}
    for k in ("tensor", "serial", "bigdata-sgd"):
        # "tensor  135.4 ( 134.7)  15.1 (  14.9)  9.0 ...": API wall, C wall, ratio (medians)
        m = re.search(r"^%s\s+([\d.]+)\s+\(\s*[\d.]+\)\s+([\d.]+)\s+\(\s*[\d.]+\)\s+([\d.]+)" % re.escape(k),
                      train or "", re.M)
        if m:
            api, c, ratio = (float(g) for g in m.groups())
            tr[k] = [api, None, c, ratio]
    sgd_api = num(r"bigdata-sgd steps/s \(medians?\): API ([\d.]+) M", train)
    sgd_c = num(r"bigdata-sgd steps/s \(medians?\): API [\d.]+ M.*; C ([\d.]+) M", train)

    fused, err = run([exe("bench_fused"), "20" if a.quick else "100"])
    if err:
        notes.append("bench_fused: " + err)
    fu = {}
    for t in (1, 2):
        fu[t] = dict(
            c=num(r"^threads %d  c-fused\s+([\d.]+) ms" % t, fused),
            bw=num(r"^threads %d  c-fused.*read-bw\s+([\d.]+) ms" % t, fused),
            lib=num(r"^threads %d  tfmini fused\s+([\d.]+) ms" % t, fused),
            gbs=num(r"^threads %d  tfmini fused\s+[\d.]+ ms \(\s*([\d.]+) GB/s" % t, fused),
            ratio=num(r"^threads %d  tfmini fused.*\s([\d.]+)x c-fused" % t, fused),
            bwr=num(r"^threads %d  tfmini fused.*\s([\d.]+)x read-bw" % t, fused),
            unf=num(r"^threads %d  tfmini unfused\s+([\d.]+) ms" % t, fused),
            unfr=num(r"^threads %d  tfmini unfused\s+[\d.]+ ms\s+([\d.]+)x" % t, fused),
        )
    rss, err = run([exe("bench_fused"), "--rss", "10" if a.quick else "30"])
    if err:
        notes.append("bench_fused --rss: " + err)
    rss_mb = num(r"peak RSS ([\d.]+) MB", rss)
    data_mb = num(r"\(data ([\d.]+) MB", rss)
    rss_ratio = num(r": ([\d.]+) x data", rss)
    # the unfused plan (one kernel per op), with and without memory planning
    unf_rss = {}
    for key, env in (("plan", {"TFM_FUSE": "0"}), ("noplan", {"TFM_FUSE": "0", "TFM_MEMPLAN": "0"})):
        out, err = run([exe("bench_fused"), "--rss", "3" if a.quick else "10"], env=env)
        if err:
            notes.append("bench_fused --rss (%s): %s" % (" ".join("%s=%s" % kv for kv in env.items()), err))
        unf_rss[key] = num(r"peak RSS ([\d.]+) MB", out)

    red, err = run([exe("bench_reduce")])
    if err:
        notes.append("bench_reduce: " + err)
    rd = {}
    for mm in re.finditer(r"sum f32\s+(\d+)M\s+threads (\d)\s+\S+\s+kernel\s+([\d.]+) GB/s\s+baseline\s+([\d.]+) GB/s\s+ratio ([\d.]+)",
                          red or ""):
        rd[(int(mm.group(1)), int(mm.group(2)))] = [float(mm.group(i)) for i in (3, 4, 5)]

    ck = None
    if os.path.exists(exe("bench_checkpoint")):
        out, err = run([exe("bench_checkpoint"), a.build, "64" if a.quick else "256", "2" if a.quick else "5"])
        if err:
            notes.append("bench_checkpoint: " + err)
        elif out:
            ck = dict(
                pw=num(r"plain write\+fsync\s+[\d.]+ s\s+([\d.]+) MiB/s", out),
                sv=num(r"save \(fsync\)\s+[\d.]+ s\s+([\d.]+) MiB/s", out),
                pr=num(r"plain read\s+[\d.]+ s\s+([\d.]+) MiB/s", out),
                rs=num(r"restore, fresh\s+[\d.]+ s\s+([\d.]+) MiB/s", out),
                ri=num(r"restore, in place\s+[\d.]+ s\s+([\d.]+) MiB/s", out),
            )
    else:
        notes.append("bench_checkpoint not built: no checkpoint row")

    npr = None if a.no_peers else numpy_rows(a.quick)
    tpr = None if a.no_peers else torch_rows(a.quick)

    rows = []
    us = lambda s: None if s is None else s * 1e6  # noqa: E731
    ms = lambda s: None if s is None else s * 1e3  # noqa: E731
    for k, name in (("tensor", "tensor step, 8 points"), ("serial", "serial step, scalar graph")):
        t = tr.get(k)
        rows.append([name, fmt(t and t[0] / 1e3, "%.3f", " µs"), fmt(t and t[2] / 1e3, "%.3f", " µs"),
                     fmt(t and t[0] / t[2], "%.1f", "x"),
                     fmt(us(npr and npr[k]), "%.2f", " µs"), fmt(us(tpr and tpr[k]), "%.1f", " µs")])
    rows.append(["bigdata-sgd, batch 8 of 8M", fmt(sgd_api, "%.3f", " M steps/s"), fmt(sgd_c, "%.2f", " M steps/s"),
                 fmt(sgd_api and sgd_c and sgd_c / sgd_api, "%.1f", "x slower"),
                 fmt(npr and 1e-3 / npr["sgd"], "%.1f", " k steps/s"), fmt(tpr and 1e-3 / tpr["sgd"], "%.1f", " k steps/s")])
    for t in (1, 2):
        f = fu[t]
        rows.append(["bigdata-full, %d thread%s" % (t, "s" if t > 1 else ""),
                     "%s (%s)" % (fmt(f["lib"], "%.2f", " ms"), fmt(f["gbs"], "%.1f", " GB/s")),
                     "C fused %s, read %s" % (fmt(f["c"], "%.2f", " ms"), fmt(f["bw"], "%.2f", " ms")),
                     "%s C, %s read; unfused %s" % (fmt(f["ratio"], "%.2f", "x"), fmt(f["bwr"], "%.2f", "x"),
                                                      fmt(f["unfr"], "%.1f", "x")),
                     fmt(ms(npr and npr["full"]), "%.1f", " ms") if t == 1 else "(1 thread)",
                     fmt(ms(tpr and tpr["full%d" % t]), "%.1f", " ms")])
    for n in (8, 64):
        for t in (1, 2):
            v = rd.get((n, t))
            rows.append(["sum of %dM float32, %d thread%s" % (n, t, "s" if t > 1 else ""),
                         fmt(v and v[0], "%.1f", " GB/s"), fmt(v and v[1], "%.1f", " GB/s (read loop)"),
                         fmt(v and v[2], "%.2f"),
                         fmt(npr and npr["sum%d" % n], "%.1f", " GB/s") if t == 1 else "(1 thread)",
                         fmt(tpr and tpr["sum%d" % n], "%.1f", " GB/s") if t == 2 else "(2 threads)"])
    if ck:
        rows.append(["checkpoint save (fsync)", fmt(ck["sv"], "%.0f", " MiB/s"), fmt(ck["pw"], "%.0f", " MiB/s (write+fsync)"),
                     fmt(ck["sv"] and ck["pw"] and ck["sv"] / ck["pw"], "%.2f"), "-", "-"])
        rows.append(["checkpoint restore (fresh)", fmt(ck["rs"], "%.0f", " MiB/s"), fmt(ck["pr"], "%.0f", " MiB/s (read)"),
                     fmt(ck["rs"] and ck["pr"] and ck["rs"] / ck["pr"], "%.2f"), "-", "-"])
    rows.append(["bigdata-full peak RSS", fmt(rss_mb, "%.1f", " MB"), fmt(data_mb, "%.1f", " MB of data"),
                 fmt(rss_ratio, "%.3f", "x"), "-", "-"])
    rows.append(["unfused peak RSS (TFM_FUSE=0)", fmt(unf_rss["plan"], "%.1f", " MB"),
                 fmt(unf_rss["noplan"], "%.1f", " MB without memory planning"),
                 fmt(unf_rss["plan"] and unf_rss["noplan"] and unf_rss["plan"] / unf_rss["noplan"], "%.2f"),
                 "-", "-"])

    print("libtfmini benchmark suite — %s, %d CPUs, Python %s, NumPy %s, PyTorch %s" % (
        platform.processor() or platform.machine(), os.cpu_count(), platform.python_version(),
        "-" if not npr else __import__("numpy").__version__, "-" if not tpr else tpr["version"]))
    print("load average at the end: %.1f %.1f %.1f" % os.getloadavg())
    print()
    head = ["workload", "libtfmini", "baseline (same run)", "ratio", "NumPy", "PyTorch"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    for n in notes:
        print("note: " + n)


if __name__ == "__main__":
    sys.exit(main())
