"""Train a small character-level GPT on Python's own standard-library sources, on CPU in minutes.

    python examples/tiny_gpt/train.py [--steps 600] [--chars 2000000] [--device cpu]

The text is the ``.py`` files under the directory of the ``os`` module (so it ships with every
Python). Prints the validation loss against the unigram baseline (the loss of predicting each
character by its frequency alone) and a sample of generated code. A tqdm bar shows progress
when tqdm is installed. ``model.py`` beside this file is the model; both files are ordinary
PyTorch programs apart from the import line.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

import taimatsu as torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import GPT  # (the model file beside this script)


def load_text(max_chars: int) -> str:
    """Standard-library sources, file by file in sorted order, up to ``max_chars``."""
    root = Path(os.__file__).resolve().parent
    parts, total = [], 0
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        if "test" in path.parts[-2:][0] or path.name.startswith("test"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]


def encode(text: str):
    """Characters as ids: printable ASCII, newline, and one id for everything else."""
    chars = ["\n"] + [chr(c) for c in range(32, 127)] + ["\x00"]
    lookup = np.full(0x110000, len(chars) - 1, dtype=np.int64)
    for i, c in enumerate(chars):
        lookup[ord(c)] = i
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return lookup[codes], chars


def unigram_loss(train, val, vocab: int) -> float:
    """Cross-entropy of the validation characters under the training characters' frequencies."""
    counts = np.bincount(train, minlength=vocab) + 1.0  # (add-one: no character has p = 0)
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())


def batches(data, block: int, batch: int, generator):
    """Random windows of ``data``: inputs and the same windows shifted by one character."""
    starts = torch.randint(0, len(data) - block - 1, (batch,), generator=generator)
    idx = starts[:, None] + torch.arange(block)
    return data[idx], data[idx + 1]


@torch.no_grad()
def evaluate(model, data, block: int, batch: int, n: int, generator) -> float:
    model.eval()
    losses = [model(*batches(data, block, batch, generator)).item() for _ in range(n)]
    model.train()
    return sum(losses) / len(losses)


def progress(total: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="training", dynamic_ncols=True, file=sys.stderr)


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--chars", type=int, default=2_000_000, help="characters of text to read")
    p.add_argument("--block", type=int, default=128, help="context length")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    ids, chars = encode(load_text(args.chars))
    split = int(0.9 * len(ids))
    train = torch.tensor(ids[:split], device=args.device)
    val = torch.tensor(ids[split:], device=args.device)
    baseline = unigram_loss(ids[:split], ids[split:], len(chars))
    print(f"{len(ids):,} characters of standard-library source, vocabulary {len(chars)}; "
          f"unigram baseline {baseline:.3f} nats/char")

    model = GPT(len(chars), args.block).to(args.device)
    print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    gen = torch.Generator().manual_seed(args.seed)
    eval_gen = torch.Generator().manual_seed(args.seed + 1)
    bar = progress(args.steps)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        loss = model(*batches(train, args.block, args.batch, gen))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % args.eval_every == 0 or step == args.steps:
            v = evaluate(model, val, args.block, args.batch, 10, eval_gen)
            msg = (f"step {step}: train {loss.item():.3f}  validation {v:.3f}  "
                   f"(unigram {baseline:.3f})  {time.perf_counter() - start:.0f}s")
            print(msg, file=sys.stderr if bar is not None else sys.stdout)
    if bar is not None:
        bar.close()
    val_loss = evaluate(model, val, args.block, args.batch, 20, eval_gen)
    print(f"validation loss {val_loss:.3f} nats/char vs unigram baseline {baseline:.3f} "
          f"({time.perf_counter() - start:.0f}s)")
    prompt = torch.tensor([[chars.index(c) for c in "def "]], device=args.device)
    model.eval()
    out = model.generate(prompt, 300, temperature=0.8, generator=gen)
    print("sample:\n" + "".join(chars[i] for i in out[0].tolist()))
    return val_loss


if __name__ == "__main__":
    main()
