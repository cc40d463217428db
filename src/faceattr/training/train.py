"""``faceattr train``: the training loop, top to bottom.

Runs as one process, or under ``torchrun`` with DistributedDataParallel (NCCL on GPUs, gloo on
CPUs): each rank sees its share of every epoch, rank 0 alone logs and writes files, metrics are
reduced across ranks.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from faceattr.data.cache import open_cache
from faceattr.data.labels import EXPRESSIONS
from faceattr.errors import FaceAttrError
from faceattr.evaluation.calibration import fit_calibration
from faceattr.evaluation.metrics import summary
from faceattr.inference.scores import age_from_distribution
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.models.ensemble import Ensemble, EnsembleConfig
from faceattr.models.metadata import ModelMeta
from faceattr.models.modelfile import load_model, save_model
from faceattr.models.sequence import per_task as seq_per_task
from faceattr.training.augment import AugmentConfig
from faceattr.training.checkpoint import load_checkpoint, save_checkpoint
from faceattr.training.loader import MISSING, CacheBatches
from faceattr.training.losses import MixedLoss, build_loss
from faceattr.training.settings import Settings, TrainSettings

LOG_FIELDS = ["epoch", "step", "lr", "train_loss", "val_loss", "val_mean_accuracy",
              "val_balanced_accuracy", "val_age_mae", "val_expression_accuracy", "val_score",
              "images_per_s", "seconds"]

# Mixed training selects the epoch on the three tasks' errors, each relative to its target:
# score = -(attribute error / 0.102 + age MAE / 5.5 + expression error / 0.18) / 3 (higher better).
SELECT_SCALE = {"attributes": 0.102, "age": 5.5, "expression": 0.18}


# the val faces turned grey and nothing else (for the grey-unreliable attributes)
GREY = AugmentConfig(flip=0, scale=0, shift=0, rotate=0, brightness=0, contrast=0, saturation=0,
                     border=0, grey=1.0)

SAVE_SECONDS = 20.0  # kept free before --time-limit for writing the checkpoint and leaving


def lr_at(step: int, total: int, t: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    peak, warm = t.lr, t.warmup_steps
    if step < warm:
        return peak * (step + 1) / warm
    frac = min(1.0, (step - warm) / max(1, total - warm))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Exponential moving average of the weights; BatchNorm statistics are copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)
    for eb, b in zip(ema.buffers(), model.buffers()):
        eb.copy_(b)


def split_indices(n: int, val_fraction: float, seed: int, limit: int) -> tuple[np.ndarray, ...]:
    """A fixed random train/validation split of ``n`` rows (``limit`` caps the total)."""
    perm = np.random.default_rng(seed).permutation(n)
    if limit:
        perm = perm[:limit]
    n_val = max(1, round(len(perm) * val_fraction)) if val_fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@torch.no_grad()
def predict_mixed(model: torch.nn.Module, batches, device: torch.device,
                  amp: bool) -> dict[str, np.ndarray]:
    """Over mixed batches: ``probs``/``labels`` of the rows with attribute labels, ``age``
    (predicted years, its distribution's SD, true age) and ``expression`` (probabilities,
    vote shares) of the rows that have those labels."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}

    def add(key: str, value: torch.Tensor) -> None:
        parts.setdefault(key, []).append(value.float().cpu().numpy())

    for x, y in batches:
        x = x.to(device, non_blocking=True)
        with autocast(device, amp):
            out = model(x, all_outputs=True)
        rows = (y["attributes"] >= 0).any(dim=1).to(device)  # unknown labels stay -1
        add("probs", FaceAttrNet.probabilities(out["logits"].float())[rows])
        add("labels", y["attributes"][rows.cpu()])
        if "age" in out:
            rows = torch.isfinite(y["age"])
            p = out["age"].float()[rows.to(device)].softmax(dim=1).cpu().numpy()
            age, sd = age_from_distribution(p)  # the answer and SD inference gives
            add("age_pred", torch.from_numpy(age))
            add("age_sd", torch.from_numpy(sd))
            add("age_true", y["age"][rows])
        if "expression" in out:
            rows = y["expression"].sum(dim=1) > 0
            add("expr_logits", out["expression"].float()[rows.to(device)])
            add("expr_votes", y["expression"][rows])
    model.train()
    return {k: np.concatenate(v) for k, v in parts.items()}


@torch.no_grad()
def predict_probs(model: torch.nn.Module, batches, device: torch.device,
                  amp: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """P(present) (N, T), labels (N, T) and mean cross-entropy over ``batches``."""
    if getattr(batches, "mixed", False):
        m = predict_mixed(model, batches, device, amp)
        p, y = np.clip(m["probs"], 1e-7, 1 - 1e-7), m["labels"]
        k = y >= 0  # known labels
        loss = float(-(y * np.log(p) + (1 - y) * np.log(1 - p))[k].mean()) if k.any() else 0.0
        return m["probs"], m["labels"].astype(np.int64), loss
    model.eval()
    probs, labels, total, count = [], [], 0.0, 0
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(x).float()
        total += torch.nn.functional.cross_entropy(
            logits.reshape(-1, 2), y.reshape(-1), reduction="sum").item() / y.shape[1]
        count += len(y)
        probs.append(FaceAttrNet.probabilities(logits).cpu().numpy())
        labels.append(y.cpu().numpy())
    model.train()
    return np.concatenate(probs), np.concatenate(labels), total / max(count, 1)


def autocast(device: torch.device, amp: bool, cpu: bool = False):
    """bfloat16 autocast on CUDA (``amp``), and on the CPU only when asked (``cpu``)."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu and device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def setup_distributed() -> tuple[int, int, int]:
    """(rank, world, local_rank); initialises the process group under torchrun."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, 0
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))


@dataclass
class Run:
    """Everything one training run holds: settings, data, model, optimiser, progress."""

    s: Settings
    cfg: dict[str, Any]
    out: Path
    device: torch.device
    rank: int
    world: int
    caches: list
    val_caches: list
    train_idx: np.ndarray
    val_idx: np.ndarray
    train_batches: CacheBatches
    val_batches: CacheBatches
    common: dict[str, Any]
    attributes: list[str]
    prevalence: np.ndarray
    mcfg: ModelConfig
    model: torch.nn.Module  # what the optimiser steps (DDP-wrapped under torchrun)
    raw_model: FaceAttrNet
    eval_model: FaceAttrNet  # what is validated and saved (the EMA copy when enabled)
    ema_model: torch.nn.Module | None
    loss_fn: torch.nn.Module
    opt: torch.optim.Optimizer
    modules: dict[str, torch.nn.Module]
    state: dict[str, Any]
    total_steps: int
    # the epoch in progress
    t0: float = 0.0
    seen: int = 0
    loss_sum: Any = None
    lr: float = 0.0

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def ckpt_last(self) -> Path:
        return self.out / "last.ckpt"

    @property
    def ckpt_best(self) -> Path:
        return self.out / "best.ckpt"


def train(cfg: dict[str, Any], out: Path, resume: bool = False,
          progress: bool = True, time_limit: float | None = None) -> dict[str, Any]:
    """Train a model as ``cfg`` says; write checkpoints, a CSV log and ``model.safetensors``.

    ``time_limit`` (minutes): stop cleanly before it, with a checkpoint (inside an epoch if need
    be: ``resume`` then continues from the next batch), and return ``{"stopped": True, ...}``
    without writing the model.
    """
    run = setup(cfg, Path(out), resume)
    t = run.s.train
    started = time.perf_counter()
    # --time-limit: stop this long before it (a checkpoint's write), keeping room for the
    # validation that ends an epoch (its last duration; a minute until one is measured)
    deadline = started + 60 * time_limit - SAVE_SECONDS if time_limit else None
    val_seconds = 60.0
    skip = int(run.state.pop("batch", 0))  # batches of state["epoch"] done before a timed stop
    for epoch in range(run.state["epoch"], t.epochs):
        if t.max_minutes and time.perf_counter() - started > 60 * t.max_minutes:
            if run.master:
                print(f"stopping after {epoch} epochs: train.max_minutes reached", flush=True)
            break
        done = train_epoch(run, epoch, skip, deadline, val_seconds, progress)
        if done < len(run.train_batches):  # out of time inside the epoch
            return stop(run, epoch, done)
        v0 = time.perf_counter()
        end_epoch(run, epoch, skip, progress)
        val_seconds = time.perf_counter() - v0 + 5.0
        skip = 0
    result: dict[str, Any] = {"epochs": run.state["epoch"], "best": best_epoch(run.state),
                              "best_val_mean_accuracy": run.state["best"]}
    if run.master:
        result["model"] = str(write_model(run))
    if run.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


def setup(cfg: dict[str, Any], out: Path, resume: bool) -> Run:
    """Settings checked, devices, data, model, loss and optimiser; a checkpoint restored."""
    s = Settings.from_dict(cfg)
    rank, world, local_rank = setup_distributed()
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        device = torch.device("cpu")
        torch.set_num_threads(s.train.threads or max(1, (os.cpu_count() or 1) // world))
    torch.manual_seed(s.train.seed + rank)

    # ---- data: the official val split when given (identity-disjoint), else a random slice ---
    caches = [open_cache(p) for p in s.data.train]
    val_caches = [open_cache(p) for p in s.data.val]
    n_total = sum(len(c) for c in caches)
    train_idx, val_idx = split_indices(n_total, 0.0 if val_caches else s.data.val_fraction,
                                       s.train.seed, s.data.limit)
    if val_caches:
        val_idx = np.arange(sum(len(c) for c in val_caches))
        if s.data.val_limit:
            val_idx = val_idx[np.random.default_rng(s.train.seed).permutation(len(val_idx))[
                :s.data.val_limit]]
    common: dict[str, Any] = {"batch_size": s.train.batch_size, "seed": s.train.seed,
                              "device": device}
    train_batches = CacheBatches(caches, train_idx, shuffle=True, drop_last=True,
                                 augment_cfg=AugmentConfig(**asdict(s.augment)), rank=rank,
                                 world=world, soft=s.data.soft, soft_weight=s.loss.distill,
                                 **common)
    val_batches = CacheBatches(val_caches or caches, np.sort(val_idx), rank=rank, world=world,
                               **common)
    if len(train_batches) == 0:
        raise FaceAttrError(f"too few training images ({len(train_idx)}) for batch size "
                            f"{s.train.batch_size} x {world} process(es)")
    attributes = list(train_batches.attributes)

    # ---- model, loss, optimiser ----------------------------------------------------------------
    has = {k: any(k in c.targets for c in caches) for k in ("age", "expression")}
    model_settings = asdict(s.model)
    model_settings["age_bins"] = s.model.age_bins if has["age"] else 0
    model_settings["expressions"] = list(EXPRESSIONS) if has["expression"] else []
    mcfg = ModelConfig.from_dict({**model_settings, "attributes": attributes})
    if mcfg.input_size != caches[0].size:
        raise FaceAttrError(f"model.input_size {mcfg.input_size} differs from the cache image "
                            f"size {caches[0].size}")
    model = FaceAttrNet(mcfg).to(device)
    if s.train.cpu_bf16 and device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    if s.train.init and not resume:
        init_from(model, Path(s.train.init), s.train.init_tasks)
    if s.train.freeze == "backbone":  # only the sequence, the BiLSTM and the heads learn
        model.freeze_backbone()
    if train_batches.mixed:
        loss_fn: torch.nn.Module = MixedLoss(s.loss.kind, len(attributes), len(mcfg.extra_tasks),
                                             s.loss.extra_weight, s.loss.age_sigma,
                                             s.loss.age_l1).to(device)
    else:
        loss_fn = build_loss(s.loss.kind, len(attributes), s.loss.ema).to(device)
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2],
                              "weight_decay": s.train.weight_decay},
                             {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                            lr=s.train.lr)
    ema_model = copy.deepcopy(model).eval() if s.train.ema_decay > 0 else None
    modules = {"model": model, "loss": loss_fn} | ({"ema": ema_model} if ema_model else {})
    # best: the selection score of the best epoch so far (None before the first validation)
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best": None, "history": []}
    if resume:
        if not (out / "last.ckpt").is_file():
            raise FaceAttrError(f"--resume: no checkpoint at {out / 'last.ckpt'}")
        state = load_checkpoint(out / "last.ckpt", modules, opt)
    elif (out / "last.ckpt").exists():
        raise FaceAttrError(f"{out} already holds a run; use --resume or another --out")
    wrapped: torch.nn.Module = model
    if world > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
        if not resume or not (out / "log.csv").exists():
            with (out / "log.csv").open("w", newline="") as f:
                csv.writer(f).writerow(LOG_FIELDS)
    return Run(s, cfg, out, device, rank, world, caches, val_caches, train_idx, val_idx,
               train_batches, val_batches, common, attributes,
               prevalence(train_batches.labels[train_idx]), mcfg, wrapped, model,
               ema_model if ema_model is not None else model, ema_model, loss_fn, opt, modules,
               state, s.train.epochs * len(train_batches))


def train_epoch(run: Run, epoch: int, skip: int, deadline: float | None, val_seconds: float,
                progress: bool) -> int:
    """One epoch's steps from batch ``skip``; returns how many batches of the epoch are done
    (fewer than all when the time ran out)."""
    t, device = run.s.train, run.device
    run.train_batches.set_epoch(epoch, skip)
    run.t0, run.seen, run.loss_sum = time.perf_counter(), 0, torch.zeros((), device=device)
    bar = tqdm(run.train_batches, desc=f"epoch {epoch + 1}/{t.epochs}", unit="batch",
               disable=not (progress and run.master), leave=False, initial=skip,
               total=len(run.train_batches))
    done = skip
    for x, y in bar:
        if deadline is not None and out_of_time(deadline - val_seconds, run.world, done):
            bar.close()
            return done
        done += 1
        lr = lr_at(run.state["step"], run.total_steps, t)
        for g in run.opt.param_groups:
            g["lr"] = lr
        x = x.to(device, non_blocking=True)
        if t.cpu_bf16 and device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        y = {k: v.to(device) for k, v in y.items()} if isinstance(y, dict) else \
            y.to(device, non_blocking=True)
        with autocast(device, t.amp, t.cpu_bf16):
            # mixed tasks: every output, each row with its own labels
            out = run.model(x, all_outputs=True) if isinstance(y, dict) else run.model(x).float()
        loss, _ = run.loss_fn(out, y)
        if not torch.isfinite(loss):
            raise FaceAttrError(
                f"training stopped: the loss is {loss.item()} at step {run.state['step']} "
                f"(epoch {epoch + 1}, lr {lr:.3g}); the checkpoint of the last finished epoch "
                f"is kept in {run.out}; lower train.lr or check the data")
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        if run.world > 1:  # the loss's own parameters (uncertainty weights) sit outside DDP
            for p in run.loss_fn.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= run.world
        run.opt.step()
        if run.ema_model is not None:
            step = run.state["step"]
            update_ema(run.ema_model, run.raw_model,
                       min(t.ema_decay, (1 + step) / (10 + step)))
        run.state["step"] += 1
        run.seen += len(x)
        run.loss_sum += loss.detach()
        run.lr = lr
        if run.master and run.state["step"] % t.log_every == 0:
            rate = run.seen * run.world / (time.perf_counter() - run.t0)
            bar.set_postfix(loss=f"{loss.item():.4f}", img_s=f"{rate:.0f}")
    return done


def end_epoch(run: Run, epoch: int, skip: int, progress: bool) -> None:
    """Validate, log, checkpoint (and keep the best)."""
    train_loss = run.loss_sum / max(1, len(run.train_batches) - skip)
    if run.world > 1:
        dist.all_reduce(train_loss)
        train_loss /= run.world
    seconds = time.perf_counter() - run.t0
    precise_bn(run)
    val = evaluate_split(run.eval_model, run.val_batches, run.device, run.s.train.amp, run.world)
    run.state["epoch"] = epoch + 1
    row = {"epoch": epoch + 1, "step": run.state["step"], "lr": f"{run.lr:.6g}",
           "train_loss": f"{train_loss.item():.5f}", "val_loss": f"{val['loss']:.5f}",
           "val_mean_accuracy": f"{val['mean_accuracy']:.5f}",
           "val_balanced_accuracy": f"{val['balanced_accuracy']:.5f}",
           "images_per_s": f"{run.seen * run.world / seconds:.1f}", "seconds": f"{seconds:.1f}"}
    for key in ("age_mae", "expression_accuracy", "score"):
        row[f"val_{key}"] = f"{val[key]:.5f}" if key in val else ""
    run.state["history"].append(row)
    score = val.get("score", val["mean_accuracy"])
    improved = run.state["best"] is None or score > run.state["best"]
    if improved:
        run.state["best"] = score
    if run.master:
        with (run.out / "log.csv").open("a", newline="") as f:
            csv.DictWriter(f, LOG_FIELDS).writerow(row)
        save_checkpoint(run.ckpt_last, run.modules, run.opt, run.state)
        if improved:
            save_checkpoint(run.ckpt_best, run.modules, run.opt, run.state)
        if progress:
            print(f"epoch {epoch + 1}: train loss {row['train_loss']}, val loss "
                  f"{row['val_loss']}, val mean acc {row['val_mean_accuracy']}, "
                  f"val balanced acc {row['val_balanced_accuracy']}, "
                  + (f"val age MAE {row['val_age_mae']}, " if row["val_age_mae"] else "")
                  + (f"val expression acc {row['val_expression_accuracy']}, "
                     if row["val_expression_accuracy"] else "")
                  + f"{row['images_per_s']} img/s", flush=True)


def stop(run: Run, epoch: int, done: int) -> dict[str, Any]:
    """Out of time inside an epoch: a checkpoint that records the batch, and where it stands."""
    run.state["batch"] = done
    if run.master:
        save_checkpoint(run.ckpt_last, run.modules, run.opt, run.state)
        print(f"stopped at the time limit, in epoch {epoch + 1}/{run.s.train.epochs} after "
              f"batch {done}/{len(run.train_batches)}; {best_epoch(run.state)}; continue with: "
              f"faceattr train --out {run.out} --resume", flush=True)
    if run.world > 1:
        dist.destroy_process_group()
    return {"stopped": True, "epochs": epoch, "batch": done,
            "best_val_mean_accuracy": run.state["best"]}


def write_model(run: Run) -> Path:
    """The best weights with thresholds, temperatures, the grey-unreliable attributes and (for
    age and expression) their calibration, fitted on the validation rows."""
    if run.ckpt_best.exists():
        load_checkpoint(run.ckpt_best, run.modules, run.opt)
    precise_bn(run)
    batches = CacheBatches(run.val_caches or run.caches, np.sort(run.val_idx), **run.common)
    probs, labels, _ = predict_probs(run.eval_model, batches, run.device, run.s.train.amp)
    grey = CacheBatches(run.val_caches or run.caches, np.sort(run.val_idx), augment_cfg=GREY,
                        **run.common)  # the same faces turned grey, nothing else changed
    grey_probs = predict_probs(run.eval_model, grey, run.device, run.s.train.amp)[0]
    meta = ModelMeta(
        attributes=run.attributes, input_size=run.mcfg.input_size,
        framing=run.caches[0].framing, train_prevalence=[float(p) for p in run.prevalence],
        training={"caches": [str(c.path) for c in run.caches], "images": len(run.train_idx),
                  "val_caches": [str(c.path) for c in run.val_caches],
                  "val_images": len(run.val_idx), "loss": run.cfg["loss"],
                  "epochs": run.state["epoch"], "seed": run.s.train.seed},
        metrics={"val_mean_accuracy": best_row(run.state).get("val_mean_accuracy")
                 if run.mcfg.extra_tasks else run.state["best"],
                 "val_score": run.state["best"], "history": run.state["history"]},
    ).with_calibration(fit_calibration(run.attributes, probs, labels, grey_probs))
    if run.mcfg.extra_tasks:
        meta = meta.with_calibration(extra_task_meta(
            predict_mixed(run.eval_model, batches, run.device, run.s.train.amp), run.mcfg))
    path = run.out / "model.safetensors"
    save_model(run.eval_model, path, meta.to_dict())
    return path


@torch.no_grad()
def precise_bn(run: Run) -> None:
    """``train.precise_bn``: the eval model's BatchNorm statistics as the plain average over a
    fixed random set of full-framed training faces (the caches with attribute labels), not the
    running average over mixed batches (bordered UTKFace and grey FER+ faces shift it away from
    the faces the model meets). Measured on a joint fast model: +0.44 point on the test crops
    and +2.3 points of expression accuracy, age within 0.1 year (docs/training.md)."""
    n = run.s.train.precise_bn
    if not n:
        return
    labelled = (run.train_batches.labels[run.train_idx] != MISSING).any(axis=1)
    rows = run.train_idx[labelled]
    rows = np.sort(np.random.default_rng(run.s.train.seed).permutation(rows)[:n])
    faces = CacheBatches(run.caches, rows, drop_last=True, **run.common)  # equal batches: the
    # cumulative average of their statistics is the average over the faces
    norms = [m for m in run.eval_model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    run.eval_model.train()
    for x, _ in faces:
        run.eval_model.features(x.to(run.device))
    run.eval_model.eval()
    for m, mom in zip(norms, saved):
        m.momentum = mom


def best_row(state: dict[str, Any]) -> dict[str, Any]:
    """The log row of the best epoch so far ({} before the first validation)."""
    rows = state.get("history", [])
    if state.get("best") is None or not rows:
        return {}
    scores = [float(r.get("val_score") or r["val_mean_accuracy"]) for r in rows]
    row = dict(rows[int(np.argmax(scores))])
    row["val_mean_accuracy"] = float(row["val_mean_accuracy"])
    return row


def best_epoch(state: dict[str, Any]) -> str:
    """The best epoch so far, in words: its validation figures."""
    r = best_row(state)
    if not r:
        return "no epoch validated yet"
    parts = []  # a figure is blank or NaN where the val caches lack that task
    for key, words in (("val_mean_accuracy", "val mean accuracy {:.2%}"),
                       ("val_age_mae", "age MAE {:.2f} years"),
                       ("val_expression_accuracy", "expression accuracy {:.2%}")):
        if r.get(key) and not math.isnan(float(r[key])):
            parts.append(words.format(float(r[key])))
    return f"best epoch {r['epoch']}: " + ", ".join(parts)


def extra_task_meta(m: dict[str, np.ndarray], mcfg: ModelConfig | EnsembleConfig
                    ) -> dict[str, Any]:
    """Age and expression calibration fitted on the validation rows: the factor that makes
    ``age +- 1.2816 * sd_scale * sd`` hold 80% of the true ages, and one softmax temperature
    for the expressions (the lowest cross-entropy against the vote shares)."""
    from faceattr.evaluation.calibration import fit_age_sd_scale, fit_softmax_temperature

    meta: dict[str, Any] = {}
    if mcfg.age_bins:
        scale = fit_age_sd_scale(m["age_pred"], m["age_sd"], m["age_true"]) \
            if "age_pred" in m else 1.0
        meta["age"] = {"bins": mcfg.age_bins, "sd_scale": round(scale, 5)}
    if mcfg.expressions:
        temp = fit_softmax_temperature(m["expr_logits"], m["expr_votes"]) \
            if "expr_logits" in m else 1.0
        meta["expression"] = {"classes": list(mcfg.expressions), "temperature": round(temp, 5)}
    return meta


def out_of_time(deadline: float, world: int, step: int) -> bool:
    """Past ``deadline``? Under DDP every rank must agree, so rank 0's clock decides (asked
    every 10 batches)."""
    if world == 1:
        return time.perf_counter() > deadline
    if step % 10:
        return False
    flag = torch.tensor([float(time.perf_counter() > deadline)])
    dist.broadcast(flag, 0)
    return bool(flag.item())


def evaluate_split(model: torch.nn.Module, batches: CacheBatches, device: torch.device,
                   amp: bool, world: int) -> dict[str, float]:
    """Validation metrics, reduced over ranks (each rank holds a share of the rows)."""
    if len(batches.indices) == 0:
        return {"loss": float("nan"), "mean_accuracy": float("nan"),
                "balanced_accuracy": float("nan")}
    if batches.mixed:
        return evaluate_mixed(model, batches, device, amp, world)
    probs, labels, loss = predict_probs(model, batches, device, amp)
    pred = (probs >= 0.5).astype(np.uint8)
    if world > 1:
        p, t = torch.from_numpy(pred).bool(), torch.from_numpy(labels).bool()
        counts = torch.stack([(p & t).sum(0), (~p & ~t).sum(0), (p & ~t).sum(0),
                              (~p & t).sum(0)]).double()
        packed = torch.cat([counts.flatten(), torch.tensor([loss * len(labels), len(labels)],
                                                           dtype=torch.float64)])
        if device.type == "cuda":
            packed = packed.to(device)
        dist.all_reduce(packed)
        packed = packed.cpu()
        a = len(batches.attributes)
        tp, tn, fp, fn = packed[: 4 * a].view(4, a)
        n = packed[-1]
        acc = ((tp + tn) / n).mean().item()
        bacc = ((tp / (tp + fn).clamp(min=1) + tn / (tn + fp).clamp(min=1)) / 2).mean().item()
        return {"loss": (packed[-2] / n).item(), "mean_accuracy": acc, "balanced_accuracy": bacc}
    acc, bacc = summary(pred, labels)
    return {"loss": loss, "mean_accuracy": acc, "balanced_accuracy": bacc}


def evaluate_mixed(model: torch.nn.Module, batches: CacheBatches, device: torch.device,
                   amp: bool, world: int) -> dict[str, float]:
    """Validation over mixed tasks: attribute accuracy, age MAE, expression accuracy (against
    the majority vote) and the selection score. Under DDP the ranks' figures are averaged
    (their shares differ by at most one row)."""
    m = predict_mixed(model, batches, device, amp)
    out: dict[str, float] = {}
    score = 0.0
    if len(m.get("labels", [])):
        pred = (m["probs"] >= 0.5).astype(np.uint8)
        out["mean_accuracy"], out["balanced_accuracy"] = summary(pred, m["labels"])
        p = np.clip(m["probs"], 1e-7, 1 - 1e-7)
        y, k = m["labels"], m["labels"] >= 0
        out["loss"] = float(-(y * np.log(p) + (1 - y) * np.log(1 - p))[k].mean())
        score += (1 - out["mean_accuracy"]) / SELECT_SCALE["attributes"]
    else:
        out.update(mean_accuracy=float("nan"), balanced_accuracy=float("nan"), loss=float("nan"))
    if "age_pred" in m and len(m["age_pred"]):
        out["age_mae"] = float(np.abs(m["age_pred"] - m["age_true"]).mean())
        score += out["age_mae"] / SELECT_SCALE["age"]
    if "expr_logits" in m and len(m["expr_logits"]):
        out["expression_accuracy"] = float(
            (m["expr_logits"].argmax(1) == m["expr_votes"].argmax(1)).mean())
        score += (1 - out["expression_accuracy"]) / SELECT_SCALE["expression"]
    out["score"] = -score / 3
    if world > 1:
        keys = sorted(out)
        t = torch.tensor([out[k] for k in keys], dtype=torch.float64)
        t = t.to(device) if device.type == "cuda" else t
        dist.all_reduce(t)
        out = dict(zip(keys, (t.cpu() / world).tolist()))
    return out


def prevalence(labels: np.ndarray) -> np.ndarray:
    """Share of faces with each attribute, over the rows that have attribute labels."""
    from faceattr.training.loader import MISSING

    k = labels != MISSING
    return np.where(k, labels, 0).sum(0) / np.maximum(k.sum(0), 1) if labels.size else \
        np.zeros(labels.shape[1])


def init_network(path: Path) -> FaceAttrNet:
    """The network ``train.init`` starts from: the model file's, or its ensemble's first
    member."""
    model, _ = load_model(path)
    net = model.members[0] if isinstance(model, Ensemble) else model
    assert isinstance(net, FaceAttrNet)
    return net


def init_from(model: FaceAttrNet, path: Path, tasks: dict[str, str] | None = None) -> None:
    """Start from a model file's weights (``train.init``; of an ensemble, its first member):
    every tensor of the same name and shape is copied; the per-task tensors of the sequence
    (attention maps, task embeddings) are matched by task name (or by ``tasks``: own name ->
    the file's task it starts from), and a task the file does not have starts from the mean
    of its attributes' rows."""
    src = init_network(path)
    src_tasks, own_tasks = src.config.task_names, model.config.task_names
    n_attr = src.config.num_tasks
    own = model.state_dict()
    copied = 0
    for k, v in src.state_dict().items():
        if k not in own:
            continue
        per_task = seq_per_task(k, v, len(src_tasks)) \
            and own[k].shape[0] == len(own_tasks) and own[k].shape[1:] == v.shape[1:]
        if per_task and src_tasks != own_tasks:  # one row per task: matched by name
            mean = v[:n_attr].mean(dim=0)
            for i, name in enumerate(own_tasks):
                name = (tasks or {}).get(name, name)
                own[k][i].copy_(v[src_tasks.index(name)] if name in src_tasks else mean)
        elif own[k].shape == v.shape:
            own[k].copy_(v)
        else:
            continue
        copied += 1
    if not copied:
        raise FaceAttrError(f"train.init: {path} shares no weights with this model")
    model.load_state_dict(own)
