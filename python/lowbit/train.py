"""Training loops of the QAT toolkit: fine-tuning a teacher, and quantization-aware training of a
student with knowledge distillation from it (lowbit.bert.kd_loss), with checkpoints that resume,
a progress bar, a validation log every N steps (JSON lines) and its plot (the paper's Figure
B.1 analog).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from typing import Callable, Dict, Iterator, Optional

import torch
import torch.nn.functional as F

from . import bert


@dataclasses.dataclass
class TrainConfig:
    steps: int = 1000
    lr: float = 5e-5
    clip_lr: float = 1e-2  # learnable activation clips (their own rate: they move in absolute units)
    warmup: float = 0.1  # fraction of steps
    weight_decay: float = 0.01
    eval_every: int = 100
    seed: int = 0
    # KD weights (the paper's Table B.1 knobs); all zero but w_label: plain fine-tuning.
    w_label: float = 0.0
    w_logits: float = 1.0
    w_hidden: float = 1.0
    w_att_scores: float = 0.0
    w_att_probs: float = 1.0
    temperature: float = 1.0
    out_dir: Optional[str] = None  # checkpoints (last.pt), log.jsonl, curve.png
    checkpoint: bool = True  # write out_dir/last.pt at every evaluation (model + optimizer state)
    progress: bool = True


def _seed(s: int):
    random.seed(s)
    torch.manual_seed(s)
    torch.cuda.manual_seed_all(s)


def _schedule(opt, cfg: TrainConfig):
    """Linear warm-up over cfg.warmup of the steps, then linear decay to zero."""
    warm = max(1, int(cfg.warmup * cfg.steps))
    tail = max(1, cfg.steps - warm)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (cfg.steps - s) / tail))


def _bar(cfg: TrainConfig, start: int):
    if not cfg.progress:
        return None
    try:
        from tqdm.auto import tqdm
        return tqdm(total=cfg.steps, initial=start, dynamic_ncols=True)
    except ImportError:
        return None


def train(student, batches: Callable[[], Iterator[Dict[str, torch.Tensor]]],
          evaluate: Callable[[torch.nn.Module], Dict[str, float]], cfg: TrainConfig,
          teacher=None) -> list:
    """Trains `student` for cfg.steps steps on batches() (cycled; dicts with input_ids,
    attention_mask, token_type_ids and labels). With a teacher: KD losses weighted as cfg says
    (+ w_label · cross-entropy on the labels); without: cross-entropy alone. Every eval_every
    steps: evaluate(student) is logged and a checkpoint written; a run whose out_dir has a
    checkpoint resumes from it. Returns the log (a dict per evaluation)."""
    _seed(cfg.seed)
    dev = next(student.parameters()).device
    clips = [p for n, p in student.named_parameters() if n.endswith(".act.clip")]
    ids = {id(p) for p in clips}
    decay = [p for n, p in student.named_parameters()
             if id(p) not in ids and p.ndim > 1]
    no_decay = [p for n, p in student.named_parameters() if id(p) not in ids and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if clips:
        groups.append({"params": clips, "weight_decay": 0.0, "lr": cfg.clip_lr})
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    sched = _schedule(opt, cfg)
    log, step = [], 0
    ckpt = os.path.join(cfg.out_dir, "last.pt") if cfg.out_dir and cfg.checkpoint else None
    if ckpt and os.path.exists(ckpt):
        st = torch.load(ckpt, map_location=dev, weights_only=False)
        student.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        step, log = st["step"], st["log"]
        torch.set_rng_state(st["rng"])
        print(f"resumed from {ckpt} at step {step}")
    if cfg.out_dir:
        os.makedirs(cfg.out_dir, exist_ok=True)
    t_att = s_att = None
    if teacher is not None:
        teacher.eval()
        t_att, s_att = bert.AttentionScores(teacher), bert.AttentionScores(student)
    bar = _bar(cfg, step)
    it = iter(batches())
    t0 = time.time()
    try:
        while step < cfg.steps:
            try:
                b = next(it)
            except StopIteration:
                it = iter(batches())
                b = next(it)
            b = {k: v.to(dev) for k, v in b.items()}
            labels = b.pop("labels")
            student.train()
            if teacher is None:
                out = student(**b)
                loss = F.cross_entropy(out.logits, labels)
                terms = {"ce": loss}
            else:
                with torch.no_grad():
                    t_out = teacher(**b, output_hidden_states=True)
                    t_sc = t_att.scores(b["attention_mask"])
                s_out = student(**b, output_hidden_states=True)
                terms = bert.kd_loss(s_out, t_out, s_att.scores(b["attention_mask"]), t_sc,
                                     b["attention_mask"], cfg.w_logits, cfg.w_hidden,
                                     cfg.w_att_scores, cfg.w_att_probs, cfg.temperature)
                loss = terms["total"]
                if cfg.w_label:
                    terms["ce"] = F.cross_entropy(s_out.logits, labels)
                    loss = loss + cfg.w_label * terms["ce"]
            if not torch.isfinite(loss):
                raise FloatingPointError(f"step {step}: loss is {float(loss)}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            with torch.no_grad():  # a clip stays positive
                for p in clips:
                    p.clamp_(min=1e-3)
            step += 1
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if step % cfg.eval_every == 0 or step == cfg.steps:
                student.eval()
                with torch.no_grad():
                    m = evaluate(student)
                row = {"step": step, "loss": float(loss.detach()), "seconds": time.time() - t0,
                       **{k: float(v.detach()) for k, v in terms.items()}, **m}
                log.append(row)
                if bar:
                    bar.write(json.dumps(row))
                if cfg.out_dir:
                    with open(os.path.join(cfg.out_dir, "log.jsonl"), "a") as f:
                        f.write(json.dumps(row) + "\n")
                if ckpt:
                    torch.save({"model": student.state_dict(), "opt": opt.state_dict(),
                                "sched": sched.state_dict(), "step": step, "log": log,
                                "rng": torch.get_rng_state(), "config": dataclasses.asdict(cfg)},
                               ckpt)
    finally:
        if bar:
            bar.close()
        for a in (t_att, s_att):
            if a:
                a.remove()
    if cfg.out_dir:
        plot_log(log, os.path.join(cfg.out_dir, "curve.png"))
    return log


def plot_log(log: list, path: str, metric: str = "accuracy"):
    """Validation metric and loss against the step (no-op without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    if not log or metric not in log[0]:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["step"] for r in log], [r[metric] for r in log], "o-", label=f"validation {metric}")
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax2 = ax.twinx()
    ax2.plot([r["step"] for r in log], [r["loss"] for r in log], "s--", color="gray", label="training loss")
    ax2.set_ylabel("loss")
    ax.grid(alpha=0.3)
    fig.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@torch.no_grad()
def accuracy(model, batches) -> Dict[str, float]:
    """{"accuracy": %} of model's argmax over batches (dicts with labels)."""
    dev = next(model.parameters()).device
    right = total = 0
    for b in batches:
        b = {k: v.to(dev) for k, v in b.items()}
        labels = b.pop("labels")
        pred = model(**b).logits.argmax(-1)
        right += int((pred == labels).sum())
        total += int(labels.numel())
    return {"accuracy": 100.0 * right / max(total, 1)}
