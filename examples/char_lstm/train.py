"""Train a character-level LSTM language model on Python's own standard-library sources.

    python examples/char_lstm/train.py [--steps 400] [--device cpu]

The text is the ``.py`` files next to the ``os`` module (no download). The model is an
embedding, a 2-layer LSTM and a linear head over 96 characters, trained with Adam on random
64-character windows. It prints the validation loss against the unigram baseline (the loss of
predicting each character from its frequency alone) and a sample of generated text. A progress
bar is shown when ``tqdm`` is installed. The program is plain PyTorch with
``import taimatsu as torch``: replace that line and it runs on PyTorch.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

import taimatsu as torch

nn, F = torch.nn, torch.nn.functional

# The alphabet: newline and printable ASCII. Tabs become spaces, anything else '?'.
ALPHABET = "\n" + "".join(chr(c) for c in range(32, 127))
VOCAB = len(ALPHABET)  # 96


def load_corpus(max_chars: int) -> np.ndarray:
    """The standard library's sources as an int64 array of alphabet positions."""
    table = np.full(256, ALPHABET.index("?"), np.int64)
    for i, ch in enumerate(ALPHABET):
        table[ord(ch)] = i
    table[ord("\t")] = ALPHABET.index(" ")
    chunks, total = [], 0
    for path in sorted(Path(os.path.dirname(os.__file__)).glob("*.py")):
        data = np.frombuffer(path.read_bytes(), np.uint8)
        chunks.append(table[data])
        total += data.size
        if total >= max_chars:
            break
    return np.concatenate(chunks)[:max_chars]


class CharLSTM(nn.Module):
    def __init__(self, embed: int = 64, hidden: int = 256, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, VOCAB)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def unigram_loss(train: np.ndarray, val: np.ndarray) -> float:
    """Cross-entropy (nats/char) of ``val`` under ``train``'s add-one-smoothed frequencies."""
    counts = np.bincount(train, minlength=VOCAB) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())


def batches(data: np.ndarray, batch: int, length: int, rng):
    """Random windows: inputs and next-character targets, each ``(batch, length)``."""
    starts = rng.integers(0, data.size - length - 1, batch)
    windows = data[starts[:, None] + np.arange(length + 1)]
    return torch.tensor(windows[:, :-1]), torch.tensor(windows[:, 1:])


def evaluate(model, data: np.ndarray, device, length: int = 128, windows: int = 64) -> float:
    rng = np.random.default_rng(1234)  # the same windows every time
    model.eval()
    with torch.no_grad():
        x, y = batches(data, windows, length, rng)
        logits, _ = model(x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.to(device).reshape(-1))
    model.train()
    return loss.item()


def generate(model, prompt: str, n: int, device, temperature: float = 0.8, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        x = torch.tensor([[ALPHABET.index(c) for c in prompt]], device=device)
        state = None
        for _ in range(n):
            logits, state = model(x, state)
            probs = F.softmax(logits[0, -1] / temperature, dim=-1).cpu().numpy().astype(np.float64)
            nxt = int(rng.choice(VOCAB, p=probs / probs.sum()))
            out.append(ALPHABET[nxt])
            x = torch.tensor([[nxt]], device=device)
    model.train()
    return "".join(out)


def _progress(steps: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=steps, unit="step")


def main(steps: int = 400, batch: int = 32, length: int = 64, lr: float = 3e-3,
         max_chars: int = 2_000_000, device: str = "cpu", sample_chars: int = 300,
         seed: int = 0, quiet: bool = False) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    text = load_corpus(max_chars)
    split = int(text.size * 0.9)
    train, val = text[:split], text[split:]
    baseline = unigram_loss(train, val)
    model = CharLSTM().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bar = None if quiet else _progress(steps)
    start = time.perf_counter()
    for step in range(steps):
        x, y = batches(train, batch, length, rng)
        logits, _ = model(x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.to(device).reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        elif not quiet and (step % 50 == 0 or step == steps - 1):
            print(f"step {step:4d}  train loss {loss.item():.3f}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    if bar is not None:
        bar.close()
    val_loss = evaluate(model, val, device)
    sample = generate(model, "def ", sample_chars, device)
    if not quiet:
        print(f"\n{text.size:,} characters of stdlib source, {steps} steps in "
              f"{time.perf_counter() - start:.0f} s")
        print(f"validation loss {val_loss:.3f} nats/char "
              f"({val_loss / math.log(2):.2f} bits) vs unigram baseline {baseline:.3f} "
              f"({baseline / math.log(2):.2f} bits): {100 * (1 - val_loss / baseline):.0f}% lower")
        print("\nsample:\n" + sample)
    return {"val_loss": val_loss, "baseline": baseline, "sample": sample}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    main(steps=a.steps, batch=a.batch, lr=a.lr, device=a.device)
