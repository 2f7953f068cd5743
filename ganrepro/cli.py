"""Command line: ``python -m ganrepro {compare,describe,export-published,train,tables,runs}``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from ganrepro import ROOT, paths
from ganrepro.config import config as C
from ganrepro.spec import tables as T
from ganrepro.verdicts.cells import MetricsError

PUBLISHED_CSV = ROOT / "config" / "published.csv"


def _overrides(pairs) -> dict:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise C.ConfigError(f"--config expects KEY=VALUE, got {p!r}")
        k, v = p.split("=", 1)
        out[k] = yaml.safe_load(v)
    return out


def _cfg(args):
    try:
        return C.load_config(args.configfile, _overrides(args.config))
    except C.ConfigError as e:
        raise C.ConfigError(f"invalid configuration: {e}") from None


def cmd_compare(args) -> int:
    if args.reference:  # the committed full-scale results of one paper (report/reference/<paper>/)
        root = paths.reference_dir(args.reference)
        if not (root / "README.md").exists():
            known = sorted(p.parent.name for p in paths.REFERENCE_ROOT.glob("*/README.md"))
            raise C.ConfigError(f"no committed reference results for {args.reference!r} (known: {known})")
        args.config = [*(args.config or []), "scale=full", f"paths.results_root={root}"]
    cfg = _cfg(args)
    from ganrepro.report.render import compare_lines

    specs = C.selected_tables(cfg) if args.table in (None, "all") else [T.get_spec(args.table)]
    print("\n".join(compare_lines(specs, cfg)))
    return 0


def cmd_export(args) -> int:
    text = T.published_csv_text()
    if args.check:
        current = PUBLISHED_CSV.read_text() if PUBLISHED_CSV.exists() else ""
        if current != text:
            print(f"{PUBLISHED_CSV} is stale: run `python -m ganrepro export-published`", file=sys.stderr)
            return 1
        print(f"{PUBLISHED_CSV} is current ({text.count(chr(10)) - 1} published values)")
        return 0
    from ganrepro.util.io import write_text

    write_text(PUBLISHED_CSV, text)
    print(f"wrote {PUBLISHED_CSV} ({text.count(chr(10)) - 1} published values)")
    return 0


def cmd_runs(args) -> int:
    cfg = _cfg(args)
    runs = C.planned_runs(cfg)
    n = 0
    for e, m, v in runs:
        for s in C.run_seeds(cfg, e, m, v):
            print(C.run_dir(cfg, e, m, v, s))
            n += 1
    print(f"# {n} training runs at scale {cfg['scale']}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    cfg = _cfg(args)
    from ganrepro.train.loop import train

    run_cfg = C.resolve_run(cfg, args.experiment, args.method, args.variant, args.seed)
    out = args.out or C.run_dir(cfg, args.experiment, args.method, args.variant, args.seed)
    res = train(run_cfg, out)
    print(res)
    return 0


def cmd_describe(args) -> int:
    cfg = _cfg(args)
    from ganrepro.tools.describe import describe

    print(describe(cfg, args.experiment, args.method, args.variant, args.seed))
    return 0


def cmd_rerender(args) -> int:
    from ganrepro.report.reference import ReferenceError, rerender_reference

    try:
        written = rerender_reference(args.paper, _cfg(args))
    except ReferenceError as e:
        raise C.ConfigError(str(e)) from None
    print(f"re-rendered {len(written)} files under report/reference/{args.paper}/")
    return 0


def cmd_cost(args) -> int:
    from ganrepro.tools.cost import estimate, render

    rows, notes = estimate(_cfg(args), args.target, gpu=args.gpu, bench=Path(args.bench) if args.bench else None)
    print(render(rows, notes, args.target, args.gpu))
    return 0


def cmd_plan(args) -> int:
    from ganrepro.spec import tables as T
    from ganrepro.tools import plan

    try:
        spec = T.get_spec(args.table)
    except KeyError:
        raise C.ConfigError(f"plan: unknown table {args.table!r}; give one of {', '.join(T.table_ids())}") from None
    cfg = {**_cfg(args), "scale": "full"}
    print(plan.render(spec, cfg, plan.plan(spec, cfg, args.power), args.gpu, args.power))
    return 0


def cmd_bench(args) -> int:
    from ganrepro.tools import bench
    from ganrepro.util.env import pick_device

    cfg = _cfg(args)
    res = bench.run(cfg, device=pick_device(args.device), repeats=args.repeats, warmup=args.warmup,
                    threads=args.threads, parts=tuple(args.parts.split(",")),
                    min_seconds=bench.MIN_SECONDS if args.min_seconds is None else args.min_seconds)
    out = Path(args.out or paths.benchmark_json(cfg).with_suffix(".md"))
    for p in bench.write(res, out):
        print(f"wrote {p}")
    return 0


def cmd_gpucheck(args) -> int:
    from ganrepro.tools import gpucheck

    if args.render:
        print(f"wrote {gpucheck.write_markdown(args.render)}")
        return 0
    stages = tuple(args.stages.split(",")) if args.stages else None
    gpucheck.run(device=args.device, tiny=args.tiny, budget=args.budget, out_dir=args.out, stages=stages,
                 continue_from=args.continue_from)
    return 0


def cmd_counts(args) -> int:
    from ganrepro.tools import counts

    return counts.main(args.write)


def cmd_tables(args) -> int:
    for s in T.load_all():
        print(f"{s.id:<24} {s.source['file']:<10} {s.source['table']:<10} {s.title}")
    return 0


def _run_args(p) -> None:
    p.add_argument("experiment", help="an experiment of config/config.yaml, e.g. glgan_celeba128")
    p.add_argument("method", help="a registered method, e.g. glgan")
    p.add_argument("variant", help="one of the method's variants, e.g. patch8_adaop")
    p.add_argument("--seed", type=int, default=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ganrepro", description=__doc__)
    ap.add_argument("--configfile", default=str(C.CONFIG_PATH))
    ap.add_argument("--config", action="append", metavar="KEY=VALUE", help="override, e.g. scale=full (repeatable)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("compare", help="print every cell of one table (or all) with its verdict")
    p.add_argument("table", nargs="?", default="all",
                   help=f"a table id ({', '.join(T.table_ids())}) or all (default)")
    p.add_argument("--reference", metavar="PAPER", help="read the committed full-scale results of PAPER "
                   "(report/reference/PAPER/, e.g. brc) instead of results/")
    p.set_defaults(fn=cmd_compare)
    p = sub.add_parser("export-published", help="write config/published.csv from the table specs")
    p.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("runs", help="list the training runs the selected tables need")
    p.set_defaults(fn=cmd_runs)
    p = sub.add_parser("cost", help="the runs TARGET would train and their estimated GPU-hours, before launching")
    p.add_argument("target", help="a table id, a paper (its tables) or all")
    p.add_argument("--gpu", default="V100", help="GPU model to price (default V100, the papers' own hours)")
    p.add_argument("--bench", default=None, help="benchmark JSON with measured step times (default "
                   "report/benchmarks.json)")
    p.set_defaults(fn=cmd_cost)
    p = sub.add_parser("plan", help="the seeds per cell each claim of TABLE needs for 80%% power under the verdict "
                       "rule, and what they cost")
    p.add_argument("table", help="a table id")
    p.add_argument("--gpu", default="V100", help="GPU model to price the seeds (as cost)")
    p.add_argument("--power", type=float, default=0.8, help="the power asked for (default 0.8)")
    p.set_defaults(fn=cmd_plan)
    p = sub.add_parser("bench", help="the benchmark target: every method's training step and its ratio to its "
                       "baseline, BRC solvers, metrics, loader, DAG build -> report/benchmarks.md/.json")
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-seconds", type=float, default=None,
                   help="per comparison group, more step rounds (up to 40) until the timed steps add up to this "
                        "(default ganrepro.tools.bench.MIN_SECONDS)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--parts", default="steps,fast,brc,metrics,loader,dag", help="comma-separated subset")
    p.add_argument("--out", default=None, help="Markdown path (the JSON goes beside it); default report/benchmarks.md")
    p.set_defaults(fn=cmd_bench)
    p = sub.add_parser("gpucheck", help="the GPU check: the full-scale path on this machine's GPU within a time "
                       "budget -> benchmarks_<gpu>.json (ganrepro/tools/gpucheck.py; scripts/gpu_check.sh)")
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    p.add_argument("--tiny", action="store_true", help="every stage at toy sizes (the CPU test of the check)")
    p.add_argument("--budget", type=float, default=400.0, help="seconds; stages that do not fit are skipped, "
                   "recorded as such (default 400)")
    p.add_argument("--out", default=None, help="folder for the JSON (default $OUT, else benchmarks/results/)")
    p.add_argument("--stages", default=None, help="comma-separated subset of: device, hdcgan512, train_resume, "
                   "steps, fast_switches, variants (device always runs)")
    p.add_argument("--continue", dest="continue_from", metavar="JSON", default=None,
                   help="an earlier check's JSON: keep its results, run what it did not finish (and --stages)")
    p.add_argument("--render", metavar="JSON", default=None, help="only write the Markdown page of a check's JSON "
                   "beside it")
    p.set_defaults(fn=cmd_gpucheck)
    p = sub.add_parser("counts", help="check (or --write) docs/counts.json and the counts the documentation states")
    p.add_argument("--write", action="store_true", help="regenerate docs/counts.json and the sentences")
    p.set_defaults(fn=cmd_counts)
    p = sub.add_parser("rerender-reference", help="render report/reference/PAPER/'s tables again from its runs")
    p.add_argument("paper", help="a paper with committed reference results, e.g. brc")
    p.set_defaults(fn=cmd_rerender)
    p = sub.add_parser("tables", help="list the table specs")
    p.set_defaults(fn=cmd_tables)
    p = sub.add_parser("describe", help="print the layers and parameter counts of one run's G and D")
    _run_args(p)
    p.set_defaults(fn=cmd_describe)
    p = sub.add_parser("train", help="train one run outside Snakemake")
    _run_args(p)
    p.add_argument("--out", help="run folder (default: the pipeline's own for this run)")
    p.set_defaults(fn=cmd_train)
    args = ap.parse_args(argv)
    try:
        rc = args.fn(args)
        sys.stdout.flush()  # inside the try: a reader that left shows here, not at interpreter exit
        return rc
    except (C.ConfigError, T.SpecError, KeyError, MetricsError) as e:  # a user's mistake: one line, exit 2 (argparse's code)
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"python -m ganrepro {args.cmd}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `compare | head`: the reader left; nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
