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
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from faceattr.data.cache import open_cache
from faceattr.errors import FaceAttrError
from faceattr.evaluation.calibration import fit_temperatures
from faceattr.evaluation.metrics import summary, tune_thresholds
from faceattr.inference.calibration import scale_thresholds
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.models.modelfile import save_model
from faceattr.training.augment import AugmentConfig
from faceattr.training.checkpoint import load_checkpoint, save_checkpoint
from faceattr.training.config import validate
from faceattr.training.loader import CacheBatches
from faceattr.training.losses import build_loss

LOG_FIELDS = ["epoch", "step", "lr", "train_loss", "val_loss", "val_mean_accuracy",
              "val_balanced_accuracy", "images_per_s", "seconds"]


SAVE_SECONDS = 20.0  # kept free before --time-limit for writing the checkpoint and leaving


def lr_at(step: int, total: int, cfg: dict) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    peak, warm = cfg["lr"], cfg["warmup_steps"]
    if step < warm:
        return peak * (step + 1) / warm
    frac = min(1.0, (step - warm) / max(1, total - warm))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Exponential moving average of the weights; BatchNorm statistics are copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def split_indices(n: int, val_fraction: float, seed: int, limit: int) -> tuple[np.ndarray, ...]:
    """A fixed random train/validation split of ``n`` rows (``limit`` caps the total)."""
    perm = np.random.default_rng(seed).permutation(n)
    if limit:
        perm = perm[:limit]
    n_val = max(1, round(len(perm) * val_fraction)) if val_fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@torch.no_grad()
def predict_probs(model: torch.nn.Module, batches, device: torch.device,
                  amp: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """P(present) (N, T), labels (N, T) and mean cross-entropy over ``batches``."""
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


def autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def setup_distributed() -> tuple[int, int, int]:
    """(rank, world, local_rank); initialises the process group under torchrun."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, 0
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))


def train(cfg: dict[str, Any], out: Path, resume: bool = False,
          progress: bool = True, time_limit: float | None = None) -> dict[str, Any]:
    """Train a model as ``cfg`` says; write checkpoints, a CSV log and ``model.safetensors``.

    ``time_limit`` (minutes): stop cleanly before it, with a checkpoint (inside an epoch if need
    be: ``resume`` then continues from the next batch), and return ``{"stopped": True, ...}``
    without writing the model.
    """
    validate(cfg)
    rank, world, local_rank = setup_distributed()
    master = rank == 0
    tcfg, out = cfg["train"], Path(out)
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        device = torch.device("cpu")
        torch.set_num_threads(tcfg["threads"] or max(1, (os.cpu_count() or 1) // world))
    torch.manual_seed(tcfg["seed"] + rank)

    # ---- data --------------------------------------------------------------------------------
    caches = [open_cache(p) for p in cfg["data"]["train"]]
    n_total = sum(len(c) for c in caches)
    val_caches = [open_cache(p) for p in cfg["data"]["val"]]
    # Validation: the official val split when given (identity-disjoint), else a random slice.
    train_idx, val_idx = split_indices(n_total, 0.0 if val_caches else cfg["data"]["val_fraction"],
                                       tcfg["seed"], cfg["data"]["limit"])
    if val_caches:
        val_idx = np.arange(sum(len(c) for c in val_caches))
        if cfg["data"]["val_limit"]:
            val_idx = val_idx[np.random.default_rng(tcfg["seed"]).permutation(len(val_idx))[
                :cfg["data"]["val_limit"]]]
    common = {"batch_size": tcfg["batch_size"], "seed": tcfg["seed"], "device": device}
    train_batches = CacheBatches(caches, train_idx, shuffle=True, drop_last=True,
                                 augment_cfg=AugmentConfig(**cfg["augment"]), rank=rank,
                                 world=world, **common)
    val_source = val_caches or caches
    val_batches = CacheBatches(val_source, np.sort(val_idx), rank=rank, world=world, **common)
    if len(train_batches) == 0:
        raise FaceAttrError(f"too few training images ({len(train_idx)}) for batch size "
                            f"{tcfg['batch_size']} x {world} process(es)")
    attributes = list(train_batches.attributes)
    prevalence = train_batches.labels[train_idx].mean(0)

    # ---- model, loss, optimiser --------------------------------------------------------------
    mcfg = ModelConfig.from_dict({**cfg["model"], "attributes": attributes})
    if mcfg.input_size != caches[0].size:
        raise FaceAttrError(f"model.input_size {mcfg.input_size} differs from the cache image "
                            f"size {caches[0].size}")
    model = FaceAttrNet(mcfg).to(device)
    loss_fn = build_loss(cfg["loss"]["kind"], len(attributes), cfg["loss"]["ema"]).to(device)
    params = list(model.parameters()) + list(loss_fn.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tcfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tcfg["lr"])
    ema_decay = float(tcfg["ema_decay"])
    ema_model = copy.deepcopy(model).eval() if ema_decay > 0 else None
    modules = {"model": model, "loss": loss_fn} | ({"ema": ema_model} if ema_model else {})
    state = {"epoch": 0, "step": 0, "best": -1.0, "history": []}
    ckpt_last, ckpt_best = out / "last.ckpt", out / "best.ckpt"
    if resume:
        if not ckpt_last.is_file():
            raise FaceAttrError(f"--resume: no checkpoint at {ckpt_last}")
        state = load_checkpoint(ckpt_last, modules, opt)
    elif ckpt_last.exists():
        raise FaceAttrError(f"{out} already holds a run; use --resume or another --out")
    raw_model = model
    eval_model = ema_model if ema_model is not None else raw_model  # what is validated and saved
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None)
    amp = bool(tcfg["amp"])
    total_steps = tcfg["epochs"] * len(train_batches)

    if master:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
        log_path = out / "log.csv"
        if not resume or not log_path.exists():
            with log_path.open("w", newline="") as f:
                csv.writer(f).writerow(LOG_FIELDS)

    # ---- the loop ----------------------------------------------------------------------------
    started = time.perf_counter()
    # --time-limit: stop this long before it (a checkpoint's write), keeping room for the
    # validation that ends an epoch (its last duration; a minute until one is measured)
    deadline = started + 60 * time_limit - SAVE_SECONDS if time_limit else None
    val_seconds = 60.0
    skip = int(state.pop("batch", 0))  # batches of state["epoch"] done before a timed stop
    for epoch in range(state["epoch"], tcfg["epochs"]):
        if tcfg["max_minutes"] and time.perf_counter() - started > 60 * tcfg["max_minutes"]:
            if master:
                print(f"stopping after {epoch} epochs: train.max_minutes reached", flush=True)
            break
        train_batches.set_epoch(epoch, skip)
        t0, seen, loss_sum = time.perf_counter(), 0, torch.zeros((), device=device)
        bar = tqdm(train_batches, desc=f"epoch {epoch + 1}/{tcfg['epochs']}", unit="batch",
                   disable=not (progress and master), leave=False, initial=skip,
                   total=len(train_batches))
        done = skip
        for x, y in bar:
            if deadline is not None and out_of_time(deadline - val_seconds, world, done):
                bar.close()
                state["batch"] = done
                if master:
                    save_checkpoint(ckpt_last, modules, opt, state)
                    print(f"stopped at the time limit, in epoch {epoch + 1}/{tcfg['epochs']} "
                          f"after batch {done}/{len(train_batches)}; best validation mean "
                          f"accuracy so far {state['best']:.2%}; continue with: faceattr "
                          f"train --out {out} --resume", flush=True)
                if world > 1:
                    dist.destroy_process_group()
                return {"stopped": True, "epochs": epoch, "batch": done,
                        "best_val_mean_accuracy": state["best"]}
            done += 1
            lr = lr_at(state["step"], total_steps, tcfg)
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast(device, amp):
                logits = model(x)
            loss, _ = loss_fn(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if world > 1:  # the loss's own parameters (uncertainty weights) sit outside DDP
                for p in loss_fn.parameters():
                    dist.all_reduce(p.grad)
                    p.grad /= world
            opt.step()
            if ema_model is not None:
                update_ema(ema_model, raw_model, min(ema_decay, (1 + state["step"]) /
                                                     (10 + state["step"])))
            state["step"] += 1
            seen += len(x)
            loss_sum += loss.detach()
            if master and state["step"] % tcfg["log_every"] == 0:
                rate = seen * world / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss.item():.4f}", img_s=f"{rate:.0f}")
        train_loss = loss_sum / max(1, len(train_batches) - skip)
        skip = 0
        if world > 1:
            dist.all_reduce(train_loss)
            train_loss /= world
        seconds = time.perf_counter() - t0
        v0 = time.perf_counter()
        val = evaluate_split(eval_model, val_batches, device, amp, world)
        val_seconds = time.perf_counter() - v0 + 5.0
        state["epoch"] = epoch + 1
        row = {"epoch": epoch + 1, "step": state["step"], "lr": f"{lr:.6g}",
               "train_loss": f"{train_loss.item():.5f}", "val_loss": f"{val['loss']:.5f}",
               "val_mean_accuracy": f"{val['mean_accuracy']:.5f}",
               "val_balanced_accuracy": f"{val['balanced_accuracy']:.5f}",
               "images_per_s": f"{seen * world / seconds:.1f}", "seconds": f"{seconds:.1f}"}
        state["history"].append(row)
        improved = val["mean_accuracy"] > state["best"]
        if improved:
            state["best"] = val["mean_accuracy"]
        if master:
            with (out / "log.csv").open("a", newline="") as f:
                csv.DictWriter(f, LOG_FIELDS).writerow(row)
            save_checkpoint(ckpt_last, modules, opt, state)
            if improved:
                save_checkpoint(ckpt_best, modules, opt, state)
            if progress:
                print(f"epoch {epoch + 1}: train loss {row['train_loss']}, val loss "
                      f"{row['val_loss']}, val mean acc {row['val_mean_accuracy']}, "
                      f"val balanced acc {row['val_balanced_accuracy']}, "
                      f"{row['images_per_s']} img/s", flush=True)

    # ---- the model file: best weights, thresholds tuned on the validation slice ---------------
    result: dict[str, Any] = {"epochs": state["epoch"], "best_val_mean_accuracy": state["best"]}
    if master:
        if ckpt_best.exists():
            load_checkpoint(ckpt_best, modules, opt)
        probs, labels, _ = predict_probs(
            eval_model, CacheBatches(val_source, np.sort(val_idx), **common), device, amp)
        thresholds = tune_thresholds(probs, labels) if len(labels) else np.full(
            len(attributes), 0.5)
        # one temperature per attribute (val split); thresholds move with it, decisions do not
        temperatures = fit_temperatures(probs, labels) if len(labels) else np.ones(
            len(attributes))
        thresholds = scale_thresholds(thresholds, temperatures)
        meta = {
            "attributes": attributes,
            "input_size": mcfg.input_size,
            "framing": caches[0].framing,
            "normalisation": {"mean": 0.5, "std": 0.5},
            "thresholds": [float(t) for t in thresholds],
            "temperatures": [round(float(t), 5) for t in temperatures],
            "train_prevalence": [float(p) for p in prevalence],
            "training": {"caches": [str(c.path) for c in caches], "images": len(train_idx),
                         "val_caches": [str(c.path) for c in val_caches],
                         "val_images": len(val_idx), "loss": cfg["loss"],
                         "epochs": state["epoch"], "seed": tcfg["seed"]},
            "metrics": {"val_mean_accuracy": state["best"], "history": state["history"]},
        }
        save_model(eval_model, out / "model.safetensors", meta)
        result["model"] = str(out / "model.safetensors")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


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
