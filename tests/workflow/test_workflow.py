"""The Snakemake DAG: config validated before any job, the full-scale SLURM dry run, and one smoke run end to end."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import counts, docs_text
from ganrepro.config import config as C
from ganrepro.methods import registry
from ganrepro.tools.counts import job_stats

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def smk(*args, cwd=ROOT, timeout=900):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)


def rule_resources(out: str) -> dict:
    res = {}
    for m in re.finditer(r"^(?:local)?rule (\w+):\n(.*?)(?=\n\n|\Z)", out, re.S | re.M):
        r = re.search(r"resources: (.*)", m.group(2))
        res.setdefault(m.group(1), r.group(1) if r else "")
    return res


def isolated(tmp_path):
    """Run the repo's workflow with a scratch working directory (no earlier results count)."""
    return ["-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile", str(ROOT / "config" / "config.yaml")]


def test_full_scale_slurm_dry_run(tmp_path):
    p = smk("--profile", str(ROOT / "slurm"), *isolated(tmp_path), "-n", "all", "--config", "scale=full")
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout + p.stderr
    stats = job_stats(out)
    # registered methods x the table cells they fill: 169 (experiment, method, variant); 3 seeds each, 4 for the
    # BRC mixtures (59: the ring-5 table's 13 rows, with the VGAN(Rf, no BRC) ablation and the 7 reading rows, and
    # Table 2's 23 rows x 2 MoGs, with the 15 reading rows) except the 6 solver-table-only runs (BDA, and the K = 10
    # reading's RHG and BDA, x 2 MoGs: seed 0 only, the spec's ``seeds: [0]``): 104 x 3 + 59 x 4 + 6 x 1 = 554;
    # GL-GAN's 37: Table 5's 11 rows (5 printed + 6 suite readings) x 3 datasets, Table 4's no-norm and
    # global-norm, Table 1's 64 px OURS and Table 2's OURS; the comparison baselines' 10 (SNDCGAN, SAGAN, WGAN-QC at
    # 64 and 128 px, GeoGAN on LGA's four datasets), LGA's 28 (Table 1's 6 LGA rows x 4 datasets, Table 2's 4) and
    # HDCGAN's 3 at 512 px (Table 1's row and its two suite readings)
    cfg = C.load_config(overrides={"scale": "full"})
    expected = sum(len(C.run_seeds(cfg, e, m, v)) for e, m, v in C.planned_runs(cfg))
    n = counts()  # docs/counts.json (python -m ganrepro counts --write)
    assert expected == n["full_runs"] and stats["total"] == n["full_jobs"]
    baselines = {(e, m) for e, m, v in C.planned_runs(cfg) if m in ("sndcgan", "sagan", "wgan_qc", "geogan")}
    assert len(baselines) == 10 and len([1 for e, m, v in C.planned_runs(cfg) if m == "lga"]) == 28
    assert sorted(v for e, m, v in C.planned_runs(cfg) if m == "hdcgan") == ["cap8", "dcgan_norms", "default"]
    # the mixtures train and evaluate in one CPU job (rule train_mog), every other run in train + evaluate
    mog = sum(len(C.run_seeds(cfg, e, m, v)) for e, m, v in C.planned_runs(cfg) if C.is_mog(cfg, e))
    assert mog == n["full_mog_runs"] and stats["train_mog"] == mog
    assert stats["train"] == stats["evaluate"] == expected - mog
    readme = docs_text()
    assert (f"lists {expected} training runs ({stats['train']} GPU train jobs, {stats['train_mog']} CPU `train_mog` "
            f"jobs") in readme and f"and {stats['curve']} curve jobs with GPU requests" in readme
    glgan = sorted({(e, v) for e, m, v in C.planned_runs(cfg) if m == "glgan"})
    assert len(glgan) == 37 and {v for _, v in glgan} == set(registry.get("glgan").variants)  # every variant
    assert stats["glgan_figures"] == stats["lga_figures"] == stats["hdcgan_figures"] == stats["hdcgan_neighbours"] == 1
    # `all` asks for every planned run's metrics.json itself (a failed re-evaluation left `all` "nothing to do")
    all_inputs = set(re.search(r"rule all:\n\s+input: (.*)", out).group(1).split(", "))
    planned = {f"{C.run_dir(cfg, e, m, v, s)}/metrics.json" for e, m, v in C.planned_runs(cfg)
               for s in C.run_seeds(cfg, e, m, v)}
    assert len(planned) == expected and planned <= all_inputs
    # datasets: celeba (64, 128, 512), celebahq 256, cifar10, cifar100, flowers102, lsun_bedroom, lsun_church 256,
    # stl10
    assert stats["download"] == n["full_downloads"] and stats["prepare"] == n["full_prepares"]
    assert all(stats.get(t) == 1 for t in ("glgan_table1", "glgan_table2", "lga_table1", "brc_table_cifar", "index"))
    # metrics over training: one curve job per run whose experiment sets eval_points (LGA Fig. 2, BRC Fig. 4)
    curves = [(e, m, v, s) for e, m, v in C.planned_runs(cfg) for s in C.run_seeds(cfg, e, m, v)
              if C.resolve_run(cfg, e, m, v, s)["train"].get("eval_points")]
    # LGA Table 1's 8 rows x 4 datasets x 3 seeds, BRC's LSGAN pair x 3, HDCGAN's 3 rows x 3 (Fig. 14)
    assert stats["curve"] == len(curves) == n["full_curve_jobs"]
    res = rule_resources(out)
    for rule in ("train", "evaluate", "fid_stats", "curve", "hdcgan_neighbours"):
        assert "gpu=1" in res[rule] and "cpus_per_gpu=8" in res[rule], (rule, res[rule])
    for rule in ("download", "prepare", "train_mog"):
        assert "gpu=" not in res[rule], (rule, res[rule])


def test_slurm_profile_warns_without_partition_or_account(tmp_path):
    """`snakemake --profile slurm -n all` planned every job with no partition and no account, silently."""
    env = {k: v for k, v in ENV.items() if not k.startswith("GANREPRO_SLURM_")}
    args = ["--profile", str(ROOT / "slurm"), *isolated(tmp_path), "-n", "glgan_table4"]
    p = subprocess.run([SNAKEMAKE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "warning: no SLURM partition set" in p.stderr and "warning: no SLURM account set" in p.stderr
    env.update(GANREPRO_SLURM_PARTITION="gpu", GANREPRO_SLURM_ACCOUNT="lab")
    p = subprocess.run([SNAKEMAKE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "warning: no SLURM" not in p.stderr
    p = smk("--cores", "1", *isolated(tmp_path), "-n", "glgan_table4")  # local runs: no cluster, no warning
    assert p.returncode == 0 and "warning: no SLURM" not in p.stderr


def test_slurm_profile_runs_without_cores(tmp_path):
    """A real (not dry) run under the SLURM profile gives no --cores: a rule whose threads read workflow.cores made
    every such run fail at parse time ("Workflow requires a total number of cores"), which a dry run does not show.
    Here the target is already up to date, so nothing is submitted and no cluster is needed."""
    (tmp_path / "report").mkdir()
    for name in ("benchmarks.md", "benchmarks.json"):
        (tmp_path / "report" / name).write_text("")
    p = smk("--profile", str(ROOT / "slurm"), *isolated(tmp_path), "--slurm-no-account", "benchmarks",
            "--config", "scale=smoke")
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert "Nothing to be done" in p.stdout + p.stderr


def test_lga_table1_target_needs_the_curves_its_claims_read(tmp_path):
    """LGA Table 1's claims over training read curve.csv: its target plans exactly those curve jobs (LSUN bedroom:
    LGA 8x8, its literal reading, WGAN-GP; CelebA: LGA 8x8, WGAN-GP; STL-10's averages near the lowest FID: the
    three LGA rows and the two without), not every run's."""
    p = smk("--cores", "2", *isolated(tmp_path), "-n", "lga_table1")
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout + p.stderr
    stats = job_stats(out)
    assert stats["train"] == 36 and stats["lga_table1"] == 1 and stats["curve"] == 10  # 9 rows x 4 datasets
    curves = set(re.findall(r"runs/(lga_\w+)/(\w+)/(\w+)/seed0/curve.csv", out))
    stl10 = {("lga_stl10", m, v) for m, v in (("lga", "lga4"), ("lga", "lga4_zero"), ("lga", "lga8"),
                                              ("wgan_gp", "default"), ("wgan_gp", "hinge"))}
    assert curves == {("lga_lsunbedroom64", "lga", "lga8"), ("lga_lsunbedroom64", "lga", "lga8_literal"),
                      ("lga_lsunbedroom64", "wgan_gp", "default"), ("lga_celeba64", "lga", "lga8"),
                      ("lga_celeba64", "wgan_gp", "default")} | stl10


def test_smoke_dry_run_and_single_table_target(tmp_path):
    p = smk("--cores", "2", *isolated(tmp_path), "-n", "glgan_table2")
    assert p.returncode == 0, p.stderr[-3000:]
    stats = job_stats(p.stdout + p.stderr)
    assert stats["train"] == 2 and stats["glgan_table2"] == 1 and "index" not in stats  # WGAN-GP and GL-GAN rows
    p = smk("--cores", "2", *isolated(tmp_path), "-n", "report/smoke/glgan/table5.md")
    stats = job_stats(p.stdout + p.stderr)
    assert p.returncode == 0 and stats["glgan_table5"] == 1 and "index" not in stats
    assert stats["train"] == stats["evaluate"] == 33  # 11 rows x 3 datasets, nothing of the other tables
    # the spec is a relative input (an absolute one re-rendered every table when a checkout moved)
    inputs = re.search(r"rule glgan_table5:\n\s+input: (.*)", p.stdout + p.stderr).group(1).split(", ")
    spec_in = [i for i in inputs if i.endswith("glgan_table5.yaml")]
    assert len(spec_in) == 1 and not os.path.isabs(spec_in[0]) and (tmp_path / spec_in[0]).resolve() == \
        (ROOT / "config" / "tables" / "glgan_table5.yaml").resolve()


@pytest.mark.parametrize("args,needle", [
    (["--config", "scale=huge"], "scale"),
    (["--config", "methods=[dcgan,stylegan9]"], "unknown method 'stylegan9'"),
    (["--config", "colour=red"], "unknown key"),
])
def test_bad_config_fails_before_any_job(args, needle, tmp_path):
    p = smk("--cores", "1", "all", *isolated(tmp_path), *args)
    assert p.returncode != 0
    assert needle in p.stdout + p.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


def _fresh_copy(dst: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst / f)
    return dst


def _screenshot(page: Path, png: Path, height: int = 2400) -> "np.ndarray | None":
    """Headless Chromium's screenshot of ``page`` as an RGB array; None where Chromium is not installed (CI installs
    it and sets GANREPRO_REQUIRE_CHROMIUM=1, so there a missing one fails)."""
    import numpy as np
    from PIL import Image

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        assert os.environ.get("GANREPRO_REQUIRE_CHROMIUM") != "1", "GANREPRO_REQUIRE_CHROMIUM=1 but no chromium"
        return None
    subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--hide-scrollbars", f"--window-size=1300,{height}", f"--screenshot={png}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return np.asarray(Image.open(png).convert("RGB"))


def _share_of(img, rgb: tuple) -> float:
    return float((img == np.array(rgb, dtype=img.dtype)).all(axis=-1).mean())


@pytest.mark.e2e
def test_smoke_pipeline_end_to_end(tmp_path):
    """The README's first command, on a copy of the repo: every table rendered from real tiny runs.

    One experiment is configured to blow up (learning rate 1e30) to show that a diverged run is recorded, the
    job still succeeds and the table renders it as 'diverged'.
    """
    repo = _fresh_copy(tmp_path / "repo")
    cfg_path = repo / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["experiments"]["lga_stl10"]["train"].update(lr_g=1.0e30, lr_d=1.0e30)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    p = smk("--profile", "local", "all", cwd=repo, timeout=1200)
    assert p.returncode == 0, (p.stdout + p.stderr)[-5000:]
    stats = job_stats(p.stdout + p.stderr)
    n = counts()  # docs/counts.json: what the README states
    assert (stats["total"], stats["train"] + stats["train_mog"], stats["curve"]) == (
        n["smoke_jobs"], n["smoke_runs"], n["smoke_curves"])
    assert stats["evaluate"] == n["smoke_image_runs"]  # the mixture runs are evaluated inside train_mog
    readme = docs_text()
    assert (f"It runs {stats['total']} jobs ({stats['train'] + stats['train_mog']} tiny training runs, of which BRC's "
            f"{stats['train_mog']} mixture runs train and evaluate in one job each; {stats['curve']} curves") in readme
    report = repo / "report" / "smoke"  # the smoke scale's own report folder: report/ is the full scale's
    assert not (repo / "report" / "index.html").exists() and not (repo / "report" / "glgan").exists()
    specs = sorted((ROOT / "config" / "tables").glob("*.yaml"))
    assert len(specs) == 12
    for spec in specs:
        paper, name = spec.stem.split("_", 1)
        for ext in ("md", "tex", "csv", "html"):
            assert (report / paper / f"{name}.{ext}").stat().st_size > 0, (spec.stem, ext)
    index = (report / "index.html").read_text()
    assert all(s.stem in index for s in specs) and "training_curves.png" in index
    assert "href='../reference/brc/README.md'" in index  # the committed full-scale BRC results
    # every link and image of the index resolves, the runs' sample grids among them (one per image run)
    refs = re.findall(r"(?:href|src)='([^'#:]+)'", index)
    assert [r for r in refs if not (report / r).exists()] == []
    # the image runs less the 9 diverged ones (every LGA Table 1 row on lga_stl10, forced above)
    assert len({r for r in refs if r.endswith("/samples.png")}) == n["smoke_image_runs"] - 9
    # looked at as a reader would: the index and a table page render in Chromium with their verdict colours
    shot = _screenshot(report / "index.html", tmp_path / "index.png")
    if shot is not None:
        assert shot.std() > 10 and _share_of(shot, (0xee, 0xf3, 0xff)) > 0.02  # not-comparable rows are tinted
        page = _screenshot(report / "lga" / "table1.html", tmp_path / "lga_table1.png", height=1200)
        assert _share_of(page, (0xff, 0xf0, 0xcc)) > 0.001  # the diverged STL-10 rows (forced above) stand out
    assert "brc_fig2_curves.png" in index and (report / "plots" / "brc_fig3_samples.png").stat().st_size > 0
    for fig in ("glgan_fig1_feature_maps", "glgan_fig8_loss_curves", "glgan_fig10_sigma_curves", "lga_fig2_fid_curves",
                "hdcgan_fig14_ms_ssim_curves", "hdcgan_fig4_neighbours_pixel", "hdcgan_fig4_neighbours_features"):
        assert f"{fig}.png" in index and (report / "plots" / f"{fig}.png").stat().st_size > 0
    nn = json.loads((report / "plots" / "hdcgan_fig4_neighbours.json").read_text())  # Fig. 4 from the smoke run
    assert nn["status"] == "finished" and set(nn["spaces"]) == {"pixel", "features"} and nn["k"] == 5
    assert nn["paper_dataset"].startswith("CZ") and "celeba512" in nn["drawn_from"]  # the paper's is CZ (Sec. 5.1)
    assert all(len(s["indices"]) == 8 and len(s["indices"][0]) == 5 for s in nn["spaces"].values())
    # GL-GAN's tables render from smoke runs: every glgan cell is filled (not comparable at smoke), none "not run"
    for t in ("table4", "table5"):
        md = (report / "glgan" / f"{t}.md").read_text()
        assert "not run" not in md and "not comparable" in md, t
    summary = json.loads((repo / "results" / "smoke" / "runs" / "glgan_celeba128" / "glgan" / "patch8_adaop" / "seed0"
                          / "metrics.json").read_text())["method_summary"]
    assert summary["glgan_rule"] == "paper" and summary["calibration_steps"] == 8  # 64 images / batch 8: 1 epoch
    assert summary["beta"] > 0 and summary["delta_2"] >= summary["delta_1"] > 0
    metrics = sorted((repo / "results" / "smoke" / "runs").rglob("metrics.json"))
    assert len(metrics) == len(C.planned_runs(C.load_config())) == n["smoke_runs"]
    statuses = {str(m.relative_to(repo)): json.loads(m.read_text())["status"] for m in metrics}
    diverged = sorted("/".join(k.split("/")[4:6]) for k, s in statuses.items() if s == "diverged")
    assert diverged == ["geogan/default", "lga/lga4", "lga/lga4_literal", "lga/lga4_zero", "lga/lga4_zero_literal",
                        "lga/lga8", "lga/lga8_literal", "wgan_gp/default", "wgan_gp/hinge"]  # every lga_stl10 row

    assert all(k.split("/")[3] == "lga_stl10" for k, s in statuses.items() if s == "diverged")
    lga1 = (report / "lga" / "table1.md").read_text()
    assert "| wGAN-GP | STL-10 | fid | 55.40 | - |  | diverged |" in lga1
    assert re.search(r"\| wGAN-GP \| CIFAR-10 \| fid \| 22.59 \| [0-9.e-]+ \| [-+0-9.e]+ \| not comparable \|", lga1)
    # metrics over training: every run with eval points has its curve; its last point is the final model's metrics
    curve_files = sorted((repo / "results" / "smoke" / "runs").rglob("curve.csv"))
    assert len(curve_files) == n["smoke_curves"]  # one per curve job: the diverged runs' curves hold what they kept
    ok = repo / "results" / "smoke" / "runs" / "lga_cifar10" / "wgan_gp" / "hinge" / "seed0"
    rows = list(csv.DictReader(open(ok / "curve.csv")))
    last = max(int(r["step"]) for r in rows)
    assert sorted({int(r["step"]) for r in rows}) == [7, 14, 20] and last == 20
    final = json.loads((ok / "metrics.json").read_text())["values"]
    for r in rows:
        if int(r["step"]) == last:
            assert float(r["value"]) == final[r["metric"]], r
    # the compare command prints every cell with its verdict
    c = subprocess.run([sys.executable, "-m", "ganrepro", "compare"], cwd=repo, env=ENV, capture_output=True,
                       text=True)  # every table
    assert c.returncode == 0 and "diverged" in c.stdout and "not run" not in c.stdout  # every method has landed
    assert all(f"== {s.stem} " in c.stdout for s in specs)
    # a second run has nothing to do
    p = smk("--profile", "local", "all", "-n", cwd=repo)
    assert "Nothing to be done" in p.stdout + p.stderr


def test_unreadable_metrics_is_moved_aside_and_the_run_evaluated_again(tmp_path):
    """A truncated metrics.json used to count as up to date for Snakemake (and as 'missing' for the tables) forever."""
    run = tmp_path / "results" / "smoke" / "runs" / "glgan_flowers256" / "glgan" / "patch4_adaop" / "seed0"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text('{"status": "fini')
    p = smk("--cores", "1", *isolated(tmp_path), "-n", "glgan_table2")
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout + p.stderr
    assert "metrics.json is unreadable (not JSON" in out and "moved to metrics.json.unreadable" in out
    assert (run / "metrics.json.unreadable").read_text() == '{"status": "fini' and not (run / "metrics.json").exists()
    assert job_stats(out)["evaluate"] == 2
