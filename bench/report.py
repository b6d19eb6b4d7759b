#!/usr/bin/python3
"""Turns the JSON lines of one benchmark run into the table and the JSON file.

Usage: report.py RAW_JSONL OUT_JSON [--note TEXT]

Every ratio compares figures measured in the same run on the same machine;
targets are labelled PASS/FAIL here and never asserted anywhere.
"""
import datetime
import json
import os
import platform
import statistics
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def collapse_rounds(rows):
    """Merges the paired phase's rounds (lines with a "round") into one line
    per measurement: the median throughput and percentiles over the rounds,
    with each round's figure kept. An onestopd line also gets
    `vs_ceiling_rounds`, its ratio to the empty handler's line of the same
    round (measured just before it), whose median is the line's ratio: a
    slow or fast minute of this VM moves both figures of a round together."""
    groups = {}
    out = []
    for r in rows:
        if r.get("kind") == "load" and "round" in r:
            key = (r["name"], r["server"], r["in_flight"])
            if key not in groups:
                groups[key] = []
                out.append(key)  # keeps the position of the first round
            groups[key].append(r)
        else:
            out.append(r)
    merged = {}
    for key, group in groups.items():
        m = dict(group[0])
        del m["round"]
        for field in ("ops_per_second", "p50_us", "p99_us", "mean_us"):
            m[field] = statistics.median(g[field] for g in group)
        # The server's CPU per operation: cores over the run / operations
        # per second (the load is the same during the warm-up).
        cpu = [g["server_cpu_cores"] / g["ops_per_second"] * 1e6 for g in group
               if "server_cpu_cores" in g and g["ops_per_second"]]
        if cpu:
            m["server_cpu_us_per_op"] = statistics.median(cpu)
        m["operations"] = sum(g["operations"] for g in group)
        m["errors"] = sum(g["errors"] for g in group)
        m["rounds"] = [g["ops_per_second"] for g in group]
        merged[key] = m
    for (name, server, in_flight), m in merged.items():
        empty = {g["round"]: g for g in groups.get((name, "empty", in_flight), [])}
        if server == "empty" or not empty:
            continue
        m["vs_ceiling_rounds"] = [
            g["ops_per_second"] / empty[g["round"]]["ops_per_second"]
            for g in groups[(name, server, in_flight)]
            if g["round"] in empty and empty[g["round"]]["ops_per_second"]]
    return [merged[r] if isinstance(r, tuple) else r for r in out]


def ceiling_ratio(o, e):
    """onestopd line `o` against the empty handler's `e`: the median of the
    rounds' ratios when both were measured in rounds, else the plain ratio."""
    if o.get("vs_ceiling_rounds"):
        return statistics.median(o["vs_ceiling_rounds"])
    return o["ops_per_second"] / e["ops_per_second"] if e and e["ops_per_second"] else None


def rounds_text(o):
    ratios = o.get("vs_ceiling_rounds") or []
    if len(ratios) < 2:
        return ""
    return " (rounds " + " / ".join(f"{r:.2f}" for r in ratios) + ")"


def cpu_text(r):
    """"; server CPU N µs/op" for a line measured with its server's CPU."""
    cpu = r.get("server_cpu_us_per_op") if r else None
    return f"; server CPU {cpu:.0f} µs/op" if cpu else ""


def find(rows, **want):
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            return r
    return None


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}: {cpus} CPUs ({model}), {platform.system()} {platform.release()}"


def main():
    raw, out = sys.argv[1], sys.argv[2]
    note = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--note" else ""
    rows = collapse_rounds(load(raw))
    table = []  # (section, what, value, unit, ratio text, target, verdict)

    def add(section, what, value, unit, ratio="", target="", verdict="", **numbers):
        # `numbers`: the line's ratios as numbers for the JSON (e.g. vs_ceiling).
        table.append(dict(section=section, what=what, value=value, unit=unit,
                          ratio=ratio, target=target, verdict=verdict, **numbers))

    def verdict(ok):
        return "" if ok is None else ("PASS" if ok else "FAIL")

    levels = sorted({r["in_flight"] for r in rows
                     if r.get("kind") == "load" and r.get("name") == "submit"})
    top = levels[-1] if levels else None

    # 1. The gRPC ceiling.
    for k in levels:
        e = find(rows, kind="load", name="submit", server="empty", in_flight=k)
        if e:
            add("ceiling", f"empty handler, submit, {k} in flight", e["ops_per_second"], "calls/s",
                f"p50 {e['p50_us']:.0f} µs, p99 {e['p99_us']:.0f} µs" + cpu_text(e))
    el = find(rows, kind="load", name="lifecycle", server="empty")
    if el:
        add("ceiling", f"empty handler, 5-call lifecycle, {el['in_flight']} in flight",
            el["ops_per_second"], "chains/s", f"p99 {el['p99_us']:.0f} µs" + cpu_text(el))
    # 2. The storage ceiling.
    for r in rows:
        if r.get("kind") == "sqlite_ceiling":
            add("ceiling", f"SQLite WAL {r['durability'].upper()}, {r['batch']} transition(s)/commit",
                r["transitions_per_second"], "tx/s", f"{r['commits_per_second']:.0f} commits/s")
    # 4. The peer.
    pg = find(rows, kind="pg_peer")
    if pg:
        add("peer", f"PostgreSQL {pg['version']}, pgbench {pg['clients']} clients, "
            "synchronous_commit=on", pg["tps"], "tx/s", f"avg {pg['latency_avg_ms']:.2f} ms")

    # 3. onestopd.
    for k in levels:
        o = find(rows, kind="load", name="submit", server="onestopd", in_flight=k)
        e = find(rows, kind="load", name="submit", server="empty", in_flight=k)
        if not o:
            continue
        ratio = ceiling_ratio(o, e)
        is_top = k == top
        add("onestopd", f"durable SubmitDossier, {k} in flight", o["ops_per_second"], "calls/s",
            (f"{ratio:.2f}× ceiling{rounds_text(o)}" if ratio is not None else "") +
            f"; p50 {o['p50_us']/1000:.2f} ms, p99 {o['p99_us']/1000:.2f} ms" + cpu_text(o) +
            (f"; {o['errors']} errors" if o["errors"] else ""),
            "≥ 0.50× ceiling" if is_top else "",
            verdict(ratio >= 0.5 if (is_top and ratio is not None) else None))
        if is_top:
            add("onestopd", f"  p99 at {k} in flight", o["p99_us"] / 1000, "ms", "",
                "< 10 ms", verdict(o["p99_us"] < 10000))
            if pg:
                r = o["ops_per_second"] / pg["tps"]
                add("onestopd", f"  vs PostgreSQL peer", r, "×", "", "≥ 3×", verdict(r >= 3))
    ol = find(rows, kind="load", name="lifecycle", server="onestopd")
    if ol:
        lifecycle_ratio = ceiling_ratio(ol, el)
        ratio = (f"{lifecycle_ratio:.2f}× ceiling{rounds_text(ol)}"
                 if lifecycle_ratio is not None else "")
        add("onestopd", f"full lifecycle (5 writes/dossier), {ol['in_flight']} in flight",
            ol["ops_per_second"], "dossiers/s", ratio + cpu_text(ol), "≥ 8,000",
            verdict(ol["ops_per_second"] >= 8000))
    # 3b. onestopd on PostgreSQL (issue #11): one and several daemons on one
    # database, against the gRPC ceiling, the SQLite daemon at the same K
    # and (several daemons) one daemon.
    pgs = find(rows, kind="pg_server")
    if pgs:
        add("postgres", f"server: PostgreSQL {pgs['version'].split()[0]}, fsync={pgs['fsync']}, "
            f"synchronous_commit={pgs['synchronous_commit']}" +
            (" (THROWAWAY, not durable)" if pgs["throwaway"] else ""),
            pgs["pool_size"], "conns/daemon", "--postgres-pool-size")
    counts = sorted({r["daemons"] for r in rows
                     if r.get("kind") == "load" and r.get("backend") == "postgresql"})

    def pg_detail(p):
        waits = sorted(p.get("pg_waits", {}).items(), key=lambda kv: -kv[1])[:2]
        text = (f"CPU onestopd {p['onestopd_cpu_cores']:.2f} + postgres "
                f"{p['postgres_cpu_cores']:.2f} cores, machine {p['machine_busy']:.0%} busy")
        if waits:
            text += "; waits " + ", ".join(f"{k} {v:.1f}" for k, v in waits)
        return text

    for n in counts:
        label = f"{n} daemon" + ("s" if n > 1 else "")
        for k in levels:
            p = find(rows, kind="load", name="submit", server=f"onestopd_pg{n}", in_flight=k)
            if not p:
                continue
            e = find(rows, kind="load", name="submit", server="empty", in_flight=k)
            o = find(rows, kind="load", name="submit", server="onestopd", in_flight=k)
            one = find(rows, kind="load", name="submit", server="onestopd_pg1", in_flight=k)
            ratios = {}
            if e and e["ops_per_second"]:
                ratios["vs_ceiling"] = p["ops_per_second"] / e["ops_per_second"]
            if o and o["ops_per_second"]:
                ratios["vs_sqlite"] = p["ops_per_second"] / o["ops_per_second"]
            if n > 1 and one and one["ops_per_second"]:
                ratios["vs_one_daemon"] = p["ops_per_second"] / one["ops_per_second"]
            text = ", ".join(f"{v:.2f}× " + {"vs_ceiling": "ceiling", "vs_sqlite": "SQLite",
                                             "vs_one_daemon": "1 daemon"}[key]
                             for key, v in ratios.items())
            add("postgres", f"{label}, durable SubmitDossier, {k} in flight",
                p["ops_per_second"], "calls/s",
                text + f"; p50 {p['p50_us']/1000:.2f} ms, p99 {p['p99_us']/1000:.2f} ms" +
                (f"; {p['errors']} errors" if p["errors"] else "") + "; " + pg_detail(p),
                p50_ms=p["p50_us"] / 1000, p99_ms=p["p99_us"] / 1000, **ratios)
        p = find(rows, kind="load", name="lifecycle", server=f"onestopd_pg{n}")
        if p:
            ratios = {}
            # Compared only at the same number of chains in flight.
            if el and el["ops_per_second"] and el["in_flight"] == p["in_flight"]:
                ratios["vs_ceiling"] = p["ops_per_second"] / el["ops_per_second"]
            if ol and ol["ops_per_second"] and ol["in_flight"] == p["in_flight"]:
                ratios["vs_sqlite"] = p["ops_per_second"] / ol["ops_per_second"]
            one = find(rows, kind="load", name="lifecycle", server="onestopd_pg1")
            if n > 1 and one and one["ops_per_second"]:
                ratios["vs_one_daemon"] = p["ops_per_second"] / one["ops_per_second"]
            text = ", ".join(f"{v:.2f}× " + {"vs_ceiling": "ceiling", "vs_sqlite": "SQLite",
                                             "vs_one_daemon": "1 daemon"}[key]
                             for key, v in ratios.items())
            add("postgres", f"{label}, full lifecycle, {p['in_flight']} in flight",
                p["ops_per_second"], "dossiers/s",
                text + (f"; {p['errors']} errors" if p["errors"] else "") + "; " + pg_detail(p),
                **ratios)

    fp = find(rows, kind="footprint")
    n = fp["dossiers"] if fp else None
    at = f" at {n:,} dossiers" if n else ""
    for name, label, limit_us in (("get", "GetDossier", 1000), ("list", "ListDossiers 50-row page", 5000),
                                  ("list_agency", "ListDossiers 50-row page, agency filter", None)):
        for k in (1, 16):
            g = find(rows, kind="load", name=name, server="onestopd", in_flight=k)
            if not g:
                continue
            judged = k == 1 and limit_us is not None
            add("onestopd", f"{label}{at}, {k} in flight", g["p99_us"] / 1000, "ms p99",
                f"{g['ops_per_second']:.0f}/s, p50 {g['p50_us']/1000:.2f} ms" +
                (f"; {g['errors']} errors" if g["errors"] else ""),
                f"< {limit_us/1000:g} ms" if judged else "",
                verdict(g["p99_us"] < limit_us) if judged else "")
    if fp:
        add("footprint", f"RSS after reads{at} (peak)", fp["rss_peak_mb"], "MB",
            f"{fp['rss_start_mb']:.0f} MB after start", "< 300 MB", verdict(fp["rss_peak_mb"] < 300))
        add("footprint", f"database size{at}, 6 history entries each",
            fp["db_bytes_per_dossier"], "bytes/dossier", f"{fp['db_bytes']/1e6:.1f} MB total",
            "< 2,048", verdict(fp["db_bytes_per_dossier"] < 2048))
        add("footprint", f"daemon start{at}", fp["start_seconds"], "s", "", "< 2 s",
            verdict(fp["start_seconds"] < 2))
        ld = find(rows, kind="load", dossiers=fp["dossiers"])
        if ld:
            add("footprint", "bulk load (in-process, NORMAL sync)", ld["dossiers_per_second"],
                "dossiers/s", f"{fp['load_seconds']:.0f} s")

    im = find(rows, kind="import")
    if im:
        rate = im["dossiers_per_second"]
        add("import", f"ImportDossiers, {im['dossiers']:,} dossiers of 6 entries, "
            f"{im['batch']} per request", rate, "dossiers/s",
            f"{im['seconds']:.1f} s; 1M ≈ {1e6 / rate:.0f} s" if rate > 0 else "",
            "1M < 60 s", verdict(rate * 60 >= 1e6) if rate > 0 else "")

    # Print.
    print()
    print(f"onestop benchmark — {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine: {machine()}")
    if note:
        print(f"note: {note}")
    widths = [10, 62, 12, 14, 44, 16, 5]
    header = ["section", "what", "value", "unit", "detail / ratio", "target", ""]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for t in table:
        v = t["value"]
        value = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
        cells = [t["section"], t["what"], value, t["unit"], t["ratio"], t["target"], t["verdict"]]
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)))
    with open(out, "w") as f:
        json.dump(dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                       machine=machine(), note=note, table=table, raw=rows), f, indent=1,
                  ensure_ascii=False)
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
