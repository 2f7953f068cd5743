"""Method registry: a method is one module (in ``models/`` or ``baselines/``) plus one entry in METHOD_MODULES.

Each module defines ``METHOD = Method(...)``: the networks it builds and the losses (or update rule) that the shared
training loop (``ganrepro.train.loop``) plugs in. Variants are named parameter sets of one method (e.g. the loss).
"""
from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from typing import Callable

from ganrepro import ROOT, paths

# One line per method: "name": "module". Adding a method = its module + one line here + config.
METHOD_MODULES = {
    "dcgan": "ganrepro.methods.baselines.dcgan",
    "wgan_gp": "ganrepro.methods.baselines.wgan_gp",
    "vgan": "ganrepro.methods.baselines.vgan",
    "wgan": "ganrepro.methods.baselines.wgan",
    "unrolled_gan": "ganrepro.methods.baselines.unrolled_gan",
    "lcgan": "ganrepro.methods.baselines.lcgan",
    "proxgan": "ganrepro.methods.baselines.proxgan",
    "lsgan": "ganrepro.methods.baselines.lsgan",
    "sngan": "ganrepro.methods.baselines.sngan",
    "sndcgan": "ganrepro.methods.baselines.sndcgan",
    "sagan": "ganrepro.methods.baselines.sagan",
    "geogan": "ganrepro.methods.baselines.geogan",
    "wgan_qc": "ganrepro.methods.baselines.wgan_qc",
    "lga": "ganrepro.methods.papers.lga",
    "glgan": "ganrepro.methods.papers.glgan",
    "hdcgan": "ganrepro.methods.papers.hdcgan",
}

# Methods the table specs name whose module has not landed yet: their cells render "not run". Any other method name
# in a spec is a typo (``ganrepro.config.config.validate_config`` rejects it, naming the file and cell).
PLANNED_METHODS: dict[str, str] = {}


@dataclass
class Method:
    """A pluggable GAN method.

    build(params) -> (G, D); d_loss(D, real, fake, params, ctx) -> (loss, stats);
    g_loss(D, fake, params, ctx) -> (loss, stats); optional after_d_step(D, params) (e.g. WGAN's weight clipping).
    ``stats`` map names declared in ``log_keys`` to detached device tensors (or host numbers): the loop reads them
    to the host once per log interval, so a loss function must not call ``.item()`` / ``float()`` on a tensor.
    ``ctx.state`` is the method's own running state (tensors / numbers), checkpointed with the run.
    The generator loss may be a surrogate whose gradient is the method's update rule (BRC). ``params`` is the resolved run config's ``method`` section
    (variant defaults updated by config overrides); ``ctx`` carries the run's random generator, device, and the
    latest real batch and latent batch (``ctx.real``, ``ctx.z``).
    """

    name: str
    paper: str
    build: Callable
    d_loss: Callable
    g_loss: Callable
    variants: dict[str, dict] = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    after_d_step: Callable | None = None
    extra_params: frozenset = frozenset()   # parameters the method reads that no default or variant sets
    # the statistics its losses report: {name: reduction over a log interval ("mean", "max" or "last")}, or a
    # function of the params giving that dict; they become log.csv's columns (an undeclared one is an error)
    log_keys: dict | Callable = field(default_factory=dict)
    # summary(state, params) -> {name: number | str | list}: what the run's method state settled on (e.g. GL-GAN's
    # calibrated thresholds), read once when training ends; recorded as ``method_summary`` in train.json and
    # metrics.json
    summary: Callable | None = None
    # the method's own paper's training settings (e.g. SAGAN's TTUR: lr_g, lr_d, betas): they beat the config's
    # ``train_defaults`` but not an experiment's ``train`` (the citing paper's statement for every row of its table
    # wins, e.g. LGA's Adam betas) nor ``experiments.*.methods.<M>.train`` nor the scale's
    train_defaults: dict = field(default_factory=dict)
    # host synchronisations the method cannot avoid per discriminator update, with the reason (WGAN-QC: its exact
    # optimal-transport plan is solved on the host, one transfer per D step); 0 for every other method: the
    # loop's rule is no host synchronisation between log steps (benchmarks/host_syncs.py checks both)
    host_syncs_per_d_step: int = 0
    host_sync_reason: str = ""
    # bench_state(params) -> the ``ctx.state`` a benchmark step starts from (None: empty): the method's costliest
    # steady phase, so ``python -m ganrepro bench`` times the method's own work, not a warm-up phase (GL-GAN's paper
    # rule: calibrated thresholds that take Ada-OP's local branch at every step)
    bench_state: Callable | None = None
    # depends_on(params) -> [(method, variant)]: finished runs of the same experiment and seed that this run reads
    # before it starts (GL-GAN's per-epoch calibration reads its patch run's log.csv); ``ganrepro.config`` puts their
    # folders in the run's ``depends_on``, the workflow makes their train.json inputs of this run's train job
    depends_on: Callable | None = None
    # init_state(params, {"method/variant": run folder}, steps_per_epoch) -> the ``ctx.state`` a fresh run starts
    # from (a resumed run restores its own from the checkpoint)
    init_state: Callable | None = None
    # the comparisons the method's paper makes: {variant, or "*" for every variant: the (method, variant) it is
    # compared with, or None}; variants not named follow ``baseline_of``'s rules (the benchmark's ratios use it)
    baselines: dict = field(default_factory=dict)

    def baseline_of(self, variant: str) -> tuple[str, str] | None:
        """The (method, variant) a variant's step is compared with: a BRC-wrapped variant -> the same method's
        variant it wraps; else ``baselines`` (the variant's entry, then ``"*"``); else the method's first variant
        (None for the first variant itself and its aliases, e.g. SNGAN's ``default`` = ``plain``)."""
        v = self.variants[variant]
        if v.get("brc"):
            from ganrepro.methods.brc import BRC_PARAMS

            plain = {k: x for k, x in v.items() if k not in BRC_PARAMS}
            for name, other in self.variants.items():
                if not other.get("brc") and other == plain:
                    return self.name, name
        for key in (variant, "*"):
            if key in self.baselines:
                return self.baselines[key]
        first = next(iter(self.variants))
        if variant == first or v == self.variants[first]:
            return None
        return self.name, first

    def stat_keys(self, params: dict) -> dict[str, str]:
        keys = self.log_keys(params) if callable(self.log_keys) else dict(self.log_keys)
        bad = {k: r for k, r in keys.items() if r not in REDUCTIONS}
        if bad:
            raise ValueError(f"method {self.name!r}: log key reductions must be one of {REDUCTIONS}, got {bad}")
        return keys

    def param_names(self) -> set[str]:
        """Every method parameter this method reads: the shared ones (``COMMON_PARAMS``: latent, widths, resolution,
        network options), its defaults', its variants' and its declared ``extra_params``. A config override outside
        this set is a typo (``ganrepro.config.config`` rejects it before any job starts)."""
        names = set(COMMON_PARAMS) | set(self.defaults) | set(self.extra_params)
        for v in self.variants.values():
            names |= set(v)
        return names

    def params(self, variant: str, overrides: dict | None = None, base: dict | None = None) -> dict:
        """Resolved parameters: ``base`` (config ``method_defaults``) < the method's defaults < the variant's own
        values < ``overrides`` (experiment, per-method and scale settings, in that order, merged by the caller)."""
        if variant not in self.variants:
            raise KeyError(f"method {self.name!r} has no variant {variant!r}; known: {sorted(self.variants)}")
        p = dict(base or {})
        p.update(self.defaults)
        p.update(self.variants[variant])
        p.update(overrides or {})
        return p


REDUCTIONS = ("mean", "max", "last")
# Parameters every network-building method may read (set by the config, the scale or the resolver).
COMMON_PARAMS = ("z_dim", "g_width", "d_width", "resolution", "data_dim", "n_critic")

_CACHE: dict[str, Method] = {}


def registered() -> list[str]:
    return sorted(METHOD_MODULES)


def get(name: str) -> Method:
    if name not in METHOD_MODULES:
        raise KeyError(f"unknown method {name!r}; registered: {registered()}")
    if name not in _CACHE:
        _CACHE[name] = importlib.import_module(METHOD_MODULES[name]).METHOD
    return _CACHE[name]


# variant names per method, for callers that need only the names (table rendering, verdicts, cost): a JSON file
# keyed by a hash of the method sources, so those jobs skip importing the method modules (and torch, ~5 s each)
VARIANTS_CACHE = paths.VARIANTS_CACHE


def _sources_key() -> str:
    """A hash of the package's sources and of the registered modules (a method registered from elsewhere, e.g. a
    test's toy method, changes it too)."""
    h = hashlib.sha256(json.dumps(METHOD_MODULES, sort_keys=True).encode())
    for f in sorted((ROOT / "ganrepro").rglob("*.py")):
        h.update(f"{f.relative_to(ROOT)}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def variant_names(method: str) -> tuple[str, ...]:
    """The names of ``method``'s variants, as ``get(method).variants`` has them, without importing the method modules
    when ``VARIANTS_CACHE`` holds them for the current sources (a changed file under ``ganrepro/`` rebuilds it; a
    cache that cannot be written is simply not kept)."""
    if method in _CACHE:
        return tuple(_CACHE[method].variants)
    key = _sources_key()
    try:
        cached = json.loads(VARIANTS_CACHE.read_text())
    except (OSError, ValueError):
        cached = {}
    if cached.get("key") != key:
        cached = {"key": key, "variants": {m: list(get(m).variants) for m in registered()}}
        try:
            from ganrepro.util.io import write_text

            write_text(VARIANTS_CACHE, json.dumps(cached, indent=1) + "\n")
        except OSError:
            pass
    if method not in cached["variants"]:
        raise KeyError(f"unknown method {method!r}; registered: {registered()}")
    return tuple(cached["variants"][method])


def is_runnable(method: str, variant: str) -> bool:
    return method in METHOD_MODULES and variant in variant_names(method)
