"""A real one-node SLURM cluster for the live tests: installed with apt, started here, torn down by PID.

Slurm 22.05 (Debian's ``slurm-wlm``) with munge authentication, one node ``localhost`` with ``CPUs=2`` and a fake GPU
(``Gres=gpu:1`` backed by ``/dev/null``, so ``--gpus=1`` requests are scheduled like on a GPU cluster and jobs see
``CUDA_VISIBLE_DEVICES=0``), no accounting database, one partition. Everything the Slurm daemons write (config,
state, spool, logs, PID files) lives in a scratch directory, on free ports; the cluster's own munged uses its own
socket under ``/run/ganrepro-munge-*`` (removed at the end) with the system key, so test clusters running at the same
time do not share anything. Clients find the cluster through ``SLURM_CONF`` (nothing under ``/etc/slurm`` is
touched). Only the processes started here are stopped, by their PIDs.

``srun`` is wrapped so that it finds the scratch config even where Snakemake's job-step plugin has removed
``SLURM_CONF`` from its environment. ``sbatch`` is wrapped by a shim on ``PATH`` (see :attr:`SlurmCluster.env`)
that appends each submission's arguments to ``sbatch.log`` and then runs the real ``sbatch``, so a test can count
submissions and check the GPU request.

Skips (with the reason) where it cannot run: not Linux, not root, or Slurm absent and no ``apt-get`` to install it.
With ``GANREPRO_REQUIRE_SLURM=1`` (set by ``.ci/run``) those conditions fail the test instead of skipping it.
"""
from __future__ import annotations

import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["slurm-wlm", "munge"]
BINARIES = ["sbatch", "srun", "squeue", "scancel", "scontrol", "sinfo", "slurmctld", "slurmd", "munged"]
MUNGE_RUN = Path("/run")  # each cluster's own munged lives in /run/ganrepro-munge-<id>/ (the munge user must reach it)


class Unavailable(Exception):
    """This machine cannot host the test cluster (the message says why)."""


def _which(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for d in ("/usr/sbin", "/usr/bin", "/sbin")
                                       if (p := Path(d) / name).exists()), None)


def ensure_installed(log) -> None:
    """Install slurm-wlm + munge with apt when missing (root only); raise Unavailable where that is impossible."""
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"live SLURM needs Linux (this is {sys.platform})")
    if all(_which(b) for b in BINARIES):
        if os.geteuid() != 0:
            raise Unavailable("live SLURM needs root to start slurmd/slurmctld/munged (not root)")
        return
    if os.geteuid() != 0:
        raise Unavailable("Slurm is not installed and installing it (apt-get install slurm-wlm munge) needs root")
    if not _which("apt-get"):
        raise Unavailable("Slurm is not installed and there is no apt-get to install slurm-wlm + munge")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", *PACKAGES]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:  # a fresh machine may have no package lists yet
        log(f"apt-get install failed ({p.returncode}); running apt-get update and retrying")
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"`{shlex.join(cmd)}` failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    missing = [b for b in BINARIES if not _which(b)]
    if missing:
        raise RuntimeError(f"after installing {PACKAGES}, still missing: {missing}")


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """``preexec_fn``: the child gets SIGTERM when the test process dies (PR_SET_PDEATHSIG), even if it is killed
    before its fixtures tear down, so no daemon outlives the test run."""
    _LIBC.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """\
# one-node test cluster written by tests/workflow/slurm_cluster.py
ClusterName=ganrepro-test
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=900
KillWait=5
InactiveLimit=0
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

GRES_CONF = "NodeName=localhost Name=gpu File=/dev/null\n"

# snakemake's slurm-jobstep plugin strips SLURM_* (SLURM_CONF included) from the environment of its inner `srun`;
# a real cluster's clients read /etc/slurm/slurm.conf, ours must be told where the scratch config is
SRUN_SHIM = """#!/bin/sh
SLURM_CONF={conf} exec {real} "$@"
"""

SBATCH_SHIM = """#!/bin/sh
# records every submission, then runs the real sbatch
printf '%s\\n' "$*" >> {log}
exec {real} "$@"
"""


class SlurmCluster:
    """Start with :meth:`start`, stop with :meth:`stop`; :attr:`env` is the environment for clients and Snakemake."""

    def __init__(self, root: Path, cpus: int = 2, mem_mb: int = 4096, partition: str = "debug", log=print):
        self.root, self.cpus, self.mem_mb, self.partition, self.log = Path(root), cpus, mem_mb, partition, log
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf = self.root / "slurm.conf"
        self.sbatch_log = self.root / "sbatch.log"
        self.bin = self.root / "bin"

    # -- set-up -----------------------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "SlurmCluster":
        for d in ("state", "spool", "bin"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self.munge_dir = MUNGE_RUN / f"ganrepro-munge-{os.getpid()}-{id(self):x}"
        self.munge_socket = self.munge_dir / "munge.socket.2"
        self.conf.write_text(SLURM_CONF.format(root=self.root, cpus=self.cpus, mem_mb=self.mem_mb,
                                               munge_socket=self.munge_socket,
                                               partition=self.partition, ctld_port=_free_port(),
                                               slurmd_port=_free_port()))
        (self.root / "gres.conf").write_text(GRES_CONF)  # read from slurm.conf's directory
        shim = self.bin / "sbatch"
        shim.write_text(SBATCH_SHIM.format(log=shlex.quote(str(self.sbatch_log)), real=_which("sbatch")))
        shim.chmod(0o755)
        shim = self.bin / "srun"
        shim.write_text(SRUN_SHIM.format(conf=shlex.quote(str(self.conf)), real=_which("srun")))
        shim.chmod(0o755)
        self.sbatch_log.touch()
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), "PATH": f"{self.bin}:{os.environ['PATH']}"}
        try:
            self._start_munge()
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
            self._spawn("slurmd", [_which("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)])
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        """This cluster's own munged (own socket, PID, log and seed files; the system key), so concurrent test
        clusters or a machine's own munged are neither used nor disturbed; run as the munge user, in the foreground
        (the PID we hold is munged's own)."""
        subprocess.run(["install", "-d", "-o", "munge", "-g", "munge", "-m", "0755", str(self.munge_dir)], check=True)
        d = self.munge_dir
        self._spawn("munged", [_which("munged"), "-F", "--socket", str(self.munge_socket), "--pid-file",
                               str(d / "munged.pid"), "--log-file", str(d / "munged.log"), "--seed-file",
                               str(d / "munged.seed")], user="munge", group="munge")
        self._until(lambda: self.munge_socket.exists(), 20, "munged socket")

    def _spawn(self, name: str, argv: list[str], **kw) -> None:
        out = open(self.root / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=self.env, start_new_session=True, preexec_fn=die_with_parent,
                                            **kw)
        self.log(f"started {name} pid {self.procs[name].pid}")

    def _until(self, ok, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited ({p.returncode}) while waiting for {what}:\n"
                                       f"{self.daemon_logs()}")
            if ok():
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}:\n{self.daemon_logs()}")

    def _wait_idle(self, timeout: float) -> None:
        def idle():
            p = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
            return p.returncode == 0 and p.stdout.strip() == "idle"
        self._until(idle, timeout, "node localhost to be idle")

    # -- use ------------------------------------------------------------------------------------------------------
    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a Slurm client command (``squeue``, ``scancel``, ...) against this cluster."""
        return subprocess.run([_which(argv[0]), *argv[1:]], env=self.env, capture_output=True, text=True,
                              check=check)

    def submissions(self) -> list[str]:
        """The argument string of every ``sbatch`` call so far, in order."""
        return [ln for ln in self.sbatch_log.read_text().splitlines() if ln.strip()]

    def jobs(self) -> list[dict]:
        """Jobs slurmctld still knows (running, pending, or ended within MinJobAge): id, name, state, comment."""
        p = self.run("squeue", "-h", "--states=all", "-o", "%i|%j|%T|%k")
        return [dict(zip(("id", "name", "state", "comment"), ln.split("|", 3))) for ln in p.stdout.splitlines()]

    def daemon_logs(self, tail: int = 40) -> str:
        out = []
        for f in ("slurmctld.log", "slurmd.log", "munged.out", "slurmctld.out", "slurmd.out", "munged.log"):
            p = (self.munge_dir if f == "munged.log" else self.root) / f
            if p.exists():
                out.append(f"--- {f}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-tail:]))
        return "\n".join(out)

    # -- tear-down ------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel what is left in the queue, then stop the daemons we started (slurmd, slurmctld, munged) by PID."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            ids = [j["id"] for j in self.jobs() if j["state"] in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING")]
            if ids:
                self.run("scancel", *ids, check=False)
                time.sleep(2)
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.pop(name, None)
            if p is None:
                continue
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            self.log(f"stopped {name} pid {p.pid} ({p.returncode})")
        if getattr(self, "munge_dir", None) is not None:
            shutil.rmtree(self.munge_dir, ignore_errors=True)


if __name__ == "__main__":  # manual use: python tests/workflow/slurm_cluster.py DIR -> starts, prints env, waits for Ctrl-C
    ensure_installed(print)
    c = SlurmCluster(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ganrepro-slurm")).start()
    print(json.dumps({"SLURM_CONF": c.env["SLURM_CONF"], "PATH": c.env["PATH"]}))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.stop()
