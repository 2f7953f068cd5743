"""Thin entry point: the benchmark lives in ``ganrepro/tools/brc_step.py`` (where ``python -m ganrepro bench`` imports
it); run as ``.venv/bin/python benchmarks/brc_step.py [options]``."""
from ganrepro.tools.brc_step import *  # noqa: F401,F403
from ganrepro.tools.brc_step import main

if __name__ == "__main__":
    raise SystemExit(main())
