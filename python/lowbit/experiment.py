"""Issue 6's accuracy experiment (docs/accuracy-qat.md): for each task and seed, a teacher
fine-tuned from a real checkpoint, then its quantized students:

| method | what |
|---|---|
| fp32 | the fine-tuned teacher |
| w8a8-rtn, w4a4-rtn | round to nearest: weights per channel, activations token-wise, no clip, no training |
| w4a4-lkd | ZeroQuant layer-by-layer distillation on unlabelled text (not the task's) |
| w4a4-qat-sym / -asym | quantization-aware training with knowledge distillation from the teacher (logits, every hidden state, attention), learned clips; symmetric / asymmetric activations |

Every model is evaluated on the held-out test split in PyTorch, then exported to the lowbit
format and run by the C++ engine (`lowbit classify`, on the CPU and on the GPU when there is
one); the engine's accuracy and its agreement with PyTorch's predictions are recorded.

    python3 -m lowbit.experiment run --model MINILM --data DATA --out RUNS [--tasks rt,mr,trec]
          [--seeds 0,1,2] [--jobs 9] [--lowbit PATH]
    python3 -m lowbit.experiment report --runs RUNS --doc docs/accuracy-qat.md

`run` trains the chains (task, seed) in parallel processes (one GPU is shared), each writing
RUNS/<task>/seed<k>/result.json; `report` turns them into the table and plots.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import copy
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

import torch

from . import bert, lkd as lkd_mod, tasks, train as train_mod

METHODS = ["fp32", "w8a8-rtn", "w4a4-rtn", "w4a4-lkd", "w4a4-qat-sym", "w4a4-qat-asym"]


@dataclasses.dataclass
class Plan:
    """The hyper-parameters (the paper's knobs), the same for every task."""
    teacher_epochs: float = 4.0
    teacher_lr: float = 1e-4
    qat_epochs: float = 8.0
    qat_lr: float = 5e-5
    clip_lr: float = 1e-2
    w_logits: float = 1.0
    w_hidden: float = 1.0
    w_att_scores: float = 0.0
    w_att_probs: float = 1.0
    temperature: float = 1.0
    lkd_steps: int = 150  # per layer
    lkd_lr: float = 5e-5
    lkd_batch: int = 32
    lkd_texts: int = 1024  # unlabelled sentences
    calib_batches: int = 8  # for the initial clips (max |x|)
    evals: int = 10  # validation points per training run (the curves)
    max_steps: int = 0  # caps every run (smoke tests); 0: none
    max_examples: int = 0  # caps every split (smoke tests); 0: all


def _device():
    return "cuda" if torch.cuda.is_available() else "cpu"


@torch.no_grad()
def predict(model, batches) -> torch.Tensor:
    """Logits [N, labels] (float64, CPU) of every row, in order."""
    dev = next(model.parameters()).device
    model.eval()
    out = []
    for b in batches:
        b = {k: v.to(dev) for k, v in b.items() if k != "labels"}
        out.append(model(**b).logits.double().cpu())
    return torch.cat(out)


def _acc(logits: torch.Tensor, labels: List[int]) -> float:
    return 100.0 * float((logits.argmax(-1) == torch.tensor(labels)).double().mean())


def engine_logits(lowbit: str, model_dir: str, texts: List[str], device: str, max_length: int) -> torch.Tensor:
    """`lowbit classify` on texts (one per line): logits [N, labels]."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("LOWBIT_ENGINE_THREADS", "2"))
    r = subprocess.run([lowbit, "classify", "--model", model_dir, "--device", device, "--format", "json",
                        "--quiet", "--max-length", str(max_length), "-"],
                       input="\n".join(texts) + "\n", capture_output=True, text=True, env=env)
    if r.returncode:
        raise RuntimeError(f"lowbit classify --device {device} failed ({r.returncode}): {r.stderr[-2000:]}")
    res = json.loads(r.stdout)["results"]
    if len(res) != len(texts):
        raise RuntimeError(f"lowbit classify returned {len(res)} results for {len(texts)} texts")
    return torch.tensor([x["logits"] for x in res], dtype=torch.float64)


def _engines():
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def _compare(e: torch.Tensor, pt: torch.Tensor, labels: List[int]) -> dict:
    """The engine's logits e against PyTorch's pt: accuracy, agreement of the predictions, the
    largest logit difference, the share of texts whose logits agree within 1e-3 (no rounding
    boundary crossed differently), and PyTorch's top-2 margin on the texts where they disagree."""
    agree = e.argmax(-1) == pt.argmax(-1)
    top2 = pt.topk(2, dim=-1).values
    margin = top2[:, 0] - top2[:, 1]
    return {"accuracy": _acc(e, labels), "agreement": 100.0 * float(agree.double().mean()),
            "max_logit_diff": float((e - pt).abs().max()),
            "close": 100.0 * float(((e - pt).abs().amax(-1) < 1e-3).double().mean()),
            "disagree_max_margin": float(margin[~agree].max()) if (~agree).any() else 0.0,
            "median_margin": float(margin.median())}


def _evaluate(name, model, quantizers, mode, asym, test, test_rows, src_dir, run_dir, lowbit, max_length,
              log, pool, pending):
    """PyTorch's accuracy of one model on the test split; the export and the engine's runs are
    queued on `pool` (the engine works while the next student trains) and land in the entry
    when `pending` is drained."""
    labels = [y for _, y in test_rows]
    t0 = time.time()
    pt = predict(model, test)
    # The same student evaluated in FP64 (its quantizers still see FP32 inputs, rounded from FP64):
    # how far FP32 rounding alone moves the predictions of this quantized model.
    pt64 = predict(copy.deepcopy(model).double(), test)
    res = {"accuracy": _acc(pt, labels), "engine": {}, "fp64": {"pytorch": _compare(pt, pt64, labels)}}
    if os.environ.get("LOWBIT_ACC_CPU_REFERENCE") and next(model.parameters()).is_cuda:
        # PyTorch FP32 on the CPU too: a second FP32 implementation next to the engine's.
        res["fp64"]["pytorch_cpu"] = _compare(predict(copy.deepcopy(model).cpu(), test), pt64, labels)
    log(f"{name}: test accuracy {res['accuracy']:.2f} [{time.time() - t0:.1f} s]")
    if lowbit:
        out = os.path.join(run_dir, name, "lowbit")
        bert.export_lowbit(model, quantizers, src_dir, out, mode, asym, lowbit=lowbit)
        texts = [t for t, _ in test_rows]
        for dev in _engines():
            fut = pool.submit(engine_logits, lowbit, out, texts, dev, max_length)
            pending.append((name, dev, fut, res, pt, pt64, labels))
    return res


def _drain(pending, log):
    for name, dev, fut, res, pt, pt64, labels in pending:
        e = fut.result()
        res["engine"][dev] = _compare(e, pt, labels)
        res["fp64"][dev] = _compare(e, pt64, labels)
        v = res["engine"][dev]
        log(f"{name}: engine {dev} accuracy {v['accuracy']:.2f}, agrees with PyTorch on {v['agreement']:.2f}% "
            f"(max |Δ logit| {v['max_logit_diff']:.3g}, {v['close']:.1f}% within 1e-3)")
    pending.clear()


def _steps(epochs: float, n_batches: int, plan: Plan) -> int:
    s = max(1, int(round(epochs * n_batches)))
    return min(s, plan.max_steps) if plan.max_steps else s


def run_chain(task: str, seed: int, model_dir: str, data_dir: str, out: str, lowbit: Optional[str],
              plan: Plan, methods=METHODS) -> dict:
    """Teacher, then every method's student, for one task and seed. Writes out/result.json."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    os.makedirs(out, exist_ok=True)

    def log(msg):
        line = f"[{task} seed {seed} {time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(os.path.join(out, "chain.log"), "a") as f:
            f.write(line + "\n")

    torch.set_num_threads(int(os.environ.get("LOWBIT_TORCH_THREADS", "2")))
    dev = _device()
    spec = tasks.TASKS[task]
    names = spec["labels"]
    data = tasks.load(data_dir, task)
    if plan.max_examples:
        data = {k: v[:plan.max_examples] for k, v in data.items()}
    tok = AutoTokenizer.from_pretrained(model_dir)
    L = min(spec["max_length"], AutoConfig.from_pretrained(model_dir).max_position_embeddings)
    B = spec["batch"]
    train_b = tasks.Batches(tok, data["train"], L, B, shuffle=True, seed=seed)
    dev_b = tasks.Batches(tok, data["dev"], L, 64)
    test_b = tasks.Batches(tok, data["test"], L, 64)
    evaluate = lambda m: train_mod.accuracy(m, dev_b)
    result = {"task": task, "seed": seed, "plan": dataclasses.asdict(plan), "device": _gpu_name(),
              "split": {k: len(v) for k, v in data.items()}, "methods": {}}

    def cfg(steps, lr, sub, **kw):
        return train_mod.TrainConfig(steps=steps, lr=lr, clip_lr=plan.clip_lr, eval_every=max(1, steps // plan.evals),
                                     seed=seed, out_dir=os.path.join(out, sub), checkpoint=False, progress=False, **kw)

    # The teacher: the real checkpoint with a new classification head, fine-tuned (cross-entropy).
    torch.manual_seed(seed)
    teacher = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)}, dtype=torch.float32,
        ignore_mismatched_sizes=True).to(dev)  # a checkpoint with another head gets a new one
    steps = _steps(plan.teacher_epochs, len(train_b), plan)
    t0 = time.time()
    tlog = train_mod.train(teacher, lambda: iter(train_b), evaluate, cfg(steps, plan.teacher_lr, "fp32"))
    secs = time.time() - t0
    log(f"teacher fine-tuned: {steps} steps, {secs:.0f} s, dev accuracy {tlog[-1]['accuracy']:.2f}")
    tdir = os.path.join(out, "teacher")
    teacher.save_pretrained(tdir)
    # The checkpoint's own tokenizer files (vocab.txt: the engine's tokenizer reads it); not its
    # sentence-transformers pooling files: the teacher is a classifier.
    for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if os.path.exists(os.path.join(model_dir, f)):
            shutil.copy(os.path.join(model_dir, f), tdir)
    teacher.eval()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    pending = []

    def evaluate_model(name, model, qs, mode, asym=False):
        return _evaluate(name, model, qs, mode, asym, test_b, data["test"], tdir, out, lowbit, L, log,
                         pool, pending)

    r = evaluate_model("fp32", teacher, {}, "fp32")
    r.update({"train_seconds": secs, "steps": steps, "log": tlog})
    result["methods"]["fp32"] = r

    calib = [{k: v.to(dev) for k, v in b.items() if k != "labels"} for _, b in zip(range(plan.calib_batches), iter(train_b))]
    clips = bert.activation_absmax(teacher, calib)

    for m in methods:
        if m == "fp32":
            continue
        mode, kind = m.split("-", 1)
        asym = kind.endswith("asym")
        student = copy.deepcopy(teacher)
        t0 = time.time()
        entry = {}
        if kind == "rtn":
            qs = bert.quantize_bert(student, mode, asym)
        elif kind == "lkd":
            with open(os.path.join(data_dir, "unlabelled.txt"), encoding="utf-8") as f:
                unl = [(t.strip(), 0) for t in f if t.strip()]
            unl = unl[:plan.max_examples or plan.lkd_texts]
            ub = [{k: v for k, v in b.items() if k != "labels"}
                  for b in tasks.Batches(tok, unl, 128, plan.lkd_batch)]
            uclips = bert.activation_absmax(teacher, [{k: v.to(dev) for k, v in b.items()} for b in ub[:plan.calib_batches]])
            qs = bert.quantize_bert(student, mode, asym, learn_clip=True, init_clips=uclips)
            st = min(plan.lkd_steps, plan.max_steps) if plan.max_steps else plan.lkd_steps
            entry["layers"] = lkd_mod.lkd(student, teacher, ub, st, plan.lkd_lr, plan.clip_lr, log=log)
            entry["steps"] = st
        else:  # qat
            qs = bert.quantize_bert(student, mode, asym, learn_clip=True, init_clips=clips)
            steps = _steps(plan.qat_epochs, len(train_b), plan)
            c = cfg(steps, plan.qat_lr, m, w_logits=plan.w_logits, w_hidden=plan.w_hidden,
                    w_att_scores=plan.w_att_scores, w_att_probs=plan.w_att_probs, temperature=plan.temperature)
            entry["log"] = train_mod.train(student, lambda: iter(train_b), evaluate, c, teacher=teacher)
            entry["steps"] = steps
        entry["train_seconds"] = time.time() - t0
        student.eval()
        entry.update(evaluate_model(m, student, qs, mode, asym))
        entry["clips"] = bert.learned_clips(qs)
        result["methods"][m] = entry
        with open(os.path.join(out, "result.json"), "w") as f:  # PyTorch's numbers so far
            json.dump(result, f, indent=1)
        del student
    _drain(pending, log)
    pool.shutdown()
    result["done"] = True
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    log("chain done")
    return result


def _gpu_name():
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()})"


def run(a):
    """Runs every (task, seed) chain as its own process, a.jobs at a time."""
    chains = [(t, s) for t in a.tasks.split(",") for s in map(int, a.seeds.split(","))]
    for t, _ in chains:
        if t not in tasks.TASKS:
            sys.exit(f"unknown task '{t}' (known: {', '.join(tasks.TASKS)})")
    os.makedirs(a.out, exist_ok=True)
    todo = [(t, s) for t, s in chains if not _done(os.path.join(a.out, t, f"seed{s}"))]
    print(f"{len(chains)} chains, {len(chains) - len(todo)} already done, {a.jobs} at a time", flush=True)
    running, failed = [], []
    t0 = time.time()
    while todo or running:
        while todo and len(running) < a.jobs:
            t, s = todo.pop(0)
            cmd = [sys.executable, "-m", "lowbit.experiment", "chain", "--task", t, "--seed", str(s),
                   "--model", a.model, "--data", a.data, "--out", os.path.join(a.out, t, f"seed{s}"),
                   "--plan", json.dumps(dataclasses.asdict(a.plan))]
            if a.lowbit:
                cmd += ["--lowbit", a.lowbit]
            running.append(((t, s), subprocess.Popen(cmd)))
        time.sleep(2)
        for item in list(running):
            (t, s), p = item
            if p.poll() is not None:
                running.remove(item)
                if p.returncode:
                    failed.append(f"{t} seed {s} (exit {p.returncode})")
                print(f"{t} seed {s} finished ({p.returncode}) at {time.time() - t0:.0f} s", flush=True)
    if failed:
        sys.exit("failed: " + ", ".join(failed))


def _done(d):
    try:
        with open(os.path.join(d, "result.json")) as f:
            return json.load(f).get("done", False)
    except (OSError, ValueError):
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m lowbit.experiment", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "chain"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True, help="the Hugging Face checkpoint to fine-tune (BERT family)")
        p.add_argument("--data", required=True, help="a folder written by `python3 -m lowbit.tasks prepare`")
        p.add_argument("--out", required=True)
        p.add_argument("--lowbit", default=os.environ.get("LOWBIT_BIN"),
                       help="the lowbit CLI (the engine's evaluation); none: PyTorch only")
        p.add_argument("--plan", default="{}", help="JSON of Plan fields to override")
        if name == "run":
            p.add_argument("--tasks", default=",".join(tasks.TASKS))
            p.add_argument("--seeds", default="0,1,2")
            p.add_argument("--jobs", type=int, default=4)
        else:
            p.add_argument("--task", required=True, choices=sorted(tasks.TASKS))
            p.add_argument("--seed", type=int, required=True)
    p = sub.add_parser("report")
    p.add_argument("--runs", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--images", help="where the plots go (default: DOC's folder/img)")
    a = ap.parse_args(argv)
    if a.cmd == "report":
        from . import report
        report.write(a.runs, a.doc, a.images)
        return
    a.plan = Plan(**json.loads(a.plan))
    if a.lowbit and not os.path.exists(a.lowbit):
        sys.exit(f"--lowbit {a.lowbit}: no such file")
    if a.cmd == "run":
        run(a)
    else:
        run_chain(a.task, a.seed, a.model, a.data, a.out, a.lowbit, a.plan)


if __name__ == "__main__":
    main()
