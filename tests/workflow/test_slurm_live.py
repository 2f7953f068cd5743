"""The cluster path for real: `snakemake --profile slurm` against a live one-node SLURM started by the tests.

One Snakemake run on the cluster of ``tests/workflow/slurm_cluster.py`` (user profile ``slurm/`` + the test-only override
``tests/workflow/slurm_profile/``), smoke scale, targets ``glgan_table2`` (flowers: fixture -> prepare -> fid_stats, train ->
evaluate -> table) and ``glgan_table1`` (CelebA, whose source archive is corrupt here, so its ``verify`` job fails for
good). During the run the flowers training job is preempted with ``scancel`` right after its step-10 checkpoint; the
profile's ``retries`` resubmit it and it resumes. The tests below check the run from each angle against a local run
of the same target. Skipped with the reason where the cluster cannot be started (not root, no apt); ``.ci/run`` sets
``GANREPRO_REQUIRE_SLURM=1`` so that in CI a skip is a failure.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from slurm_cluster import SlurmCluster, Unavailable, die_with_parent, ensure_installed

pytestmark = pytest.mark.e2e  # a live one-node Slurm: the fast loop (-m "not e2e") leaves it out

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TRAIN_RUN = "glgan_flowers256/wgan_gp/default/seed0"
HOLD_STEP = 10  # the smoke scale checkpoints every 10 of 20 steps
GPU_RULES = ("train", "evaluate", "fid_stats")


def _smk(target, *args, cwd, env, timeout=300):
    return subprocess.run([SNAKEMAKE, target, "-s", str(ROOT / "Snakefile"), "--configfile",
                           str(ROOT / "config/config.yaml"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _log(msg):
    print(f"[slurm-live] {msg}", file=sys.stderr, flush=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        ensure_installed(_log)
    except Unavailable as e:
        if os.environ.get("GANREPRO_REQUIRE_SLURM") == "1":
            pytest.fail(f"GANREPRO_REQUIRE_SLURM=1 but the live SLURM cluster cannot run here: {e}")
        pytest.skip(f"live SLURM test not run: {e}")
    c = SlurmCluster(tmp_path_factory.mktemp("slurm"), cpus=2, mem_mb=4096, log=_log)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_harness_skips_with_the_reason_where_it_cannot_run(monkeypatch):
    """Not root and no Slurm, or no apt: Unavailable names the reason (the fixture turns it into a skip)."""
    import slurm_cluster as sc

    monkeypatch.setattr(sc, "_which", lambda name: None)
    monkeypatch.setattr(sc.os, "geteuid", lambda: 1000)
    with pytest.raises(Unavailable, match="needs root"):
        ensure_installed(_log)
    monkeypatch.setattr(sc.os, "geteuid", lambda: 0)
    with pytest.raises(Unavailable, match="no apt-get"):
        ensure_installed(_log)
    monkeypatch.setattr(sc, "_which", lambda name: f"/usr/bin/{name}")  # installed, but not root
    monkeypatch.setattr(sc.os, "geteuid", lambda: 1000)
    with pytest.raises(Unavailable, match="not root"):
        ensure_installed(_log)


def test_test_profile_fits_the_test_cluster():
    """squeue-based status needs ended jobs kept >= 3 x the first-check delay; requests must fit the 2-CPU node."""
    from slurm_cluster import SLURM_CONF

    override = yaml.safe_load((ROOT / "tests/workflow/slurm_profile/config.yaml").read_text())
    min_job_age = int(re.search(r"^MinJobAge=(\d+)$", SLURM_CONF, re.M).group(1))
    assert override["slurm-status-command"] == "squeue" and override["slurm-no-account"] is True
    assert min_job_age >= 3 * override["slurm-init-seconds-before-status-checks"]
    for rule, res in override["set-resources"].items():
        assert res.get("cpus_per_gpu", 1) * res.get("gpu", 1) <= 2 and res.get("mem_mb", 0) <= 4096 // 2, rule
    user = yaml.safe_load((ROOT / "slurm/config.yaml").read_text())
    assert "slurm-status-command" not in user and "slurm-no-account" not in user  # real clusters: sacct, accounts


def test_a_typo_in_the_profile_stops_before_anything_runs(tmp_path):
    """A misspelt key in a copy of the user's profile: Snakemake names it and exits (no cluster needed)."""
    prof = tmp_path / "profile"
    prof.mkdir()
    (prof / "config.yaml").write_text((ROOT / "slurm/config.yaml").read_text() + "jbos: 5\n")
    p = _smk("glgan_table2", "--profile", str(prof), "-n", "-d", str(tmp_path / "work"), cwd=tmp_path,
             env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert p.returncode != 0 and "unrecognized arguments: --jbos=5" in p.stderr, p.stderr[-2000:]
    assert not (tmp_path / "work" / "results").exists()


def _rule_of(submission: str) -> str:
    m = re.search(r"rule_(\w+?)(?:_wildcards_\S*)?['\"\s]", submission + " ")
    return m.group(1) if m else "?"


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """Run the two tables on the cluster (with one preemption and one failure), then the same table2 locally."""
    work = tmp_path_factory.mktemp("slurm_work")
    bad = work / "data/smoke/raw/celeba" / yaml.safe_load((ROOT / "config/config.yaml").read_text())["datasets"][
        "celeba"]["file"]  # the source file the config names, in whatever format the dataset comes
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a zip archive: stands in for a truncated download")
    marker = work / "held_job"
    env = {**cluster.env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONPATH": str(ROOT / "tests/workflow/slurm_hooks"), "GANREPRO_TEST_HOLD": f"{TRAIN_RUN}:{HOLD_STEP}:{marker}"}
    t0 = time.monotonic()
    log_path = work / "slurm_run.out"  # a file, not a pipe: nothing blocks Snakemake while the test waits
    log_file = open(log_path, "w")
    proc = subprocess.Popen(
        [SNAKEMAKE, "glgan_table2", "glgan_table1", "--profile", str(ROOT / "slurm"),
         "--workflow-profile", str(ROOT / "tests/workflow/slurm_profile"),
         "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config/config.yaml")],
        cwd=work, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent)
    preempted = None
    try:
        end = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.5)
        if marker.exists():
            preempted = marker.read_text().strip()
            states = {j["id"]: j["state"] for j in cluster.jobs()}
            _log(f"preempting training job {preempted} ({states.get(preempted)}) with scancel")
            cluster.run("scancel", preempted)
        proc.wait(timeout=480)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log_file.close()
    seconds = time.monotonic() - t0
    out = log_path.read_text()
    submissions = cluster.submissions()
    _log(f"SLURM end-to-end run: {seconds:.1f} s, {len(submissions)} sbatch submissions")

    local = tmp_path_factory.mktemp("local_work")
    lp = _smk("glgan_table2", "--cores", "2", cwd=local, env={**os.environ, "HF_HUB_OFFLINE": "1",
                                                                "HF_DATASETS_OFFLINE": "1"})
    assert lp.returncode == 0, (lp.stdout + lp.stderr)[-3000:]
    return {"work": work, "local": local, "rc": proc.returncode, "out": out, "seconds": seconds,
            "submissions": submissions, "preempted": preempted, "jobs": cluster.jobs()}


def test_every_stage_runs_through_sbatch_with_the_profiles_gpu_request(slurm_run, capsys):
    r = slurm_run
    with capsys.disabled():  # the measurement, shown in CI's output (not asserted: speed is not a test)
        print(f"\n[slurm-live] SLURM end-to-end run: {r['seconds']:.1f} s, {len(r['submissions'])} sbatch "
              f"submissions", flush=True)
    subs = r["submissions"]
    rules = [_rule_of(s) for s in subs]
    assert set(rules) >= {"fixture", "prepare", "fid_stats", "train", "evaluate"}, (rules, r["out"][-3000:])
    # every job went through sbatch: one submission per job attempt (the table rules are local rules)
    assert len(subs) == sum(1 for ln in r["out"].splitlines() if re.search(r"Job \d+ has been submitted", ln)), \
        r["out"][-3000:]
    profile = yaml.safe_load((ROOT / "slurm/config.yaml").read_text())["set-resources"]
    override = yaml.safe_load((ROOT / "tests/workflow/slurm_profile/config.yaml").read_text())["set-resources"]
    for rule in GPU_RULES:  # the override changes CPUs/memory for the 2-CPU node, never the GPU request
        assert override[rule]["gpu"] == profile[rule]["gpu"] == 1
    for s, rule in zip(subs, rules):
        has_gpu = re.search(r"--gpus[= ]1\b|--gres[= ]gpu:1\b", s) is not None
        assert has_gpu == (rule in GPU_RULES), (rule, s)
        if rule in GPU_RULES:  # CPUs per GPU as declared (a cpus_per_task default would silently replace it)
            assert f"--cpus-per-gpu={override[rule]['cpus_per_gpu']}" in s and "--cpus-per-task" not in s, s
    # every job ran on the cluster: all of them are known to slurmctld, and none of the flowers jobs is left failed
    assert len(r["jobs"]) == len(subs)


def _table_rows(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_table_equals_the_local_run(slurm_run):
    """Same seeds, same numbers on CPU: every cell equal, except the measured training time (wall clock)."""
    r = slurm_run
    a = _table_rows(r["work"] / "report/smoke/glgan/table2.csv")
    b = _table_rows(r["local"] / "report/smoke/glgan/table2.csv")
    assert len(a) == len(b) > 0
    timed = 0
    for ra, rb in zip(a, b):
        if ra["metric"] == "train_hours" and ra["n_seeds"] == "1":
            timed += 1
            assert float(ra["reproduced_mean"]) > 0 and float(rb["reproduced_mean"]) > 0
            ra, rb = ({k: v for k, v in x.items() if k not in ("reproduced_mean", "delta")} for x in (ra, rb))
        assert ra == rb, (ra, rb)
    assert timed >= 1
    fid = [x for x in a if x["metric"] == "fid" and x["n_seeds"] == "1"]
    assert fid and all(float(x["reproduced_mean"]) > 0 for x in fid)  # real numbers, equal to the local ones
    for ext in ("md", "tex", "html"):
        assert (r["work"] / f"report/smoke/glgan/table2.{ext}").stat().st_size > 0
    metrics = json.loads((r["work"] / f"results/smoke/runs/{TRAIN_RUN}/metrics.json").read_text())
    assert metrics["status"] == "finished"


def test_preempted_training_resumes_from_its_checkpoint(slurm_run):
    r = slurm_run
    assert r["preempted"], "the training job was never held at its checkpoint: " + r["out"][-3000:]
    states = {j["id"]: j["state"] for j in r["jobs"]}
    assert states[r["preempted"]] == "CANCELLED"
    wildcards = "_".join(TRAIN_RUN.split("/")).replace("seed", "")
    train_subs = [s for s in r["submissions"] if f"--comment rule_train_wildcards_{wildcards} " in s]
    assert len(train_subs) == 2, train_subs  # the cancelled attempt + the profile's retry
    run = r["work"] / f"results/smoke/runs/{TRAIN_RUN}"
    log = (run / "train.log").read_text()
    assert f"resumed from step{HOLD_STEP:08d}.pt at step {HOLD_STEP}/20" in log, log
    assert json.loads((run / "train.json").read_text())["step"] == 20
    a = torch.load(run / "final.pt", weights_only=False)
    b = torch.load(r["local"] / f"results/smoke/runs/{TRAIN_RUN}/final.pt", weights_only=False)
    for net in ("G", "D"):
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)


def test_a_job_failing_for_good_loses_nothing_else(slurm_run):
    r = slurm_run
    out = r["out"]
    assert r["rc"] != 0  # the run reports the failure ...
    verify = [s for s in r["submissions"] if "rule_verify" in s and "celeba" in s]
    assert len(verify) == 3, verify  # first attempt + 2 retries (profile), then given up
    assert "data/smoke/raw/logs/celeba.verify.log" in out  # ... names the failed job's log ...
    assert "corrupt or truncated" in (r["work"] / "data/smoke/raw/logs/celeba.verify.log").read_text()  # the cause
    assert (r["work"] / "report/smoke/glgan/table2.md").exists()  # ... and everything else finished (keep-going)
    assert not (r["work"] / "report/smoke/glgan/table1.md").exists()
    # a partial report from what finished: the CelebA cells are 'missing'
    c = subprocess.run([sys.executable, "-m", "ganrepro", "compare", "glgan_table1"], cwd=r["work"],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert c.returncode == 0, c.stderr
    assert "missing" in c.stdout, c.stdout


def test_a_wrong_partition_stops_with_slurms_message(cluster, tmp_path):
    """The user's profile (no test override) with a partition the cluster lacks: Slurm's rejection is shown at the
    first submission and nothing runs. (An unknown account is refused by the executor plugin's `sacctmgr` check
    before any submission; this accounting-free test cluster cannot show that.)"""
    env = {**cluster.env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "GANREPRO_SLURM_PARTITION": "nosuchpartition"}
    raw = tmp_path / "data/smoke/raw/flowers102/102flowers.tgz"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"never read: the job is refused")
    before = len(cluster.submissions())
    # test-cluster accommodations only: no accounts to guess, a 4 GB node, no retries and a short first status check
    # so the refused job ends the run in seconds
    p = subprocess.run([SNAKEMAKE, "data/smoke/prepared/flowers102_16/manifest.json", "--profile", str(ROOT / "slurm"),
                        "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config/config.yaml"),
                        "--config", "scale=smoke", "--slurm-no-account", "--set-resources", "prepare:mem_mb=1000",
                        "--retries", "0",
                        "--slurm-init-seconds-before-status-checks", "2"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "invalid partition specified: nosuchpartition" in out, out[-3000:]
    assert "-p nosuchpartition" in cluster.submissions()[-1]
    assert len(cluster.submissions()) == before + 1  # refused, nothing queued
    assert not (tmp_path / "data/smoke/prepared/flowers102_16").exists()
