"""Test-only hook for the live-SLURM preemption test (on PYTHONPATH only there): hold a training job mid-run.

With ``GANREPRO_TEST_HOLD=<run-dir substring>:<step>:<marker file>``, the first training process whose run directory
contains the substring writes its checkpoint for ``<step>`` as usual, then writes ``<marker file>`` (its SLURM job id)
and sleeps, so the test can preempt it with ``scancel`` at a known point. Once the marker exists (the resubmitted
job), nothing is held. The training loop itself is untouched: this wraps ``ganrepro.train.loop._save`` at import time.
"""
import importlib.abc
import importlib.util
import os
import sys
import time
from pathlib import Path

_HOLD = os.environ.get("GANREPRO_TEST_HOLD")


class _PatchTrain(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "ganrepro.train.loop":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            _wrap(module)

        spec.loader.exec_module = exec_module
        return spec


def _wrap(module):
    where, step, marker = _HOLD.split(":", 2)
    marker, save = Path(marker), module._save

    def _save(path, state):
        save(path, state)
        if where in str(path) and Path(path).name == f"step{int(step):08d}.pt" and not marker.exists():
            marker.write_text(os.environ.get("SLURM_JOB_ID", ""))
            print(f"[test hold] checkpoint {Path(path).name} written; waiting to be preempted", file=sys.stderr,
                  flush=True)
            time.sleep(120)  # the test cancels it within seconds

    module._save = _save


if _HOLD:
    sys.meta_path.insert(0, _PatchTrain())
