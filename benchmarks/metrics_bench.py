"""Thin entry point: the benchmark lives in ``ganrepro/tools/metrics_bench.py`` (where ``python -m ganrepro bench`` imports
it); run as ``.venv/bin/python benchmarks/metrics_bench.py [options]``."""
from ganrepro.tools.metrics_bench import *  # noqa: F401,F403
from ganrepro.tools.metrics_bench import main

if __name__ == "__main__":
    raise SystemExit(main())
