"""What the data examples share: flags, a progress display, checkpoint resume and the fit loop.

Each example builds its data, model, optimizer and scheduler, then calls :func:`fit`, which
trains epoch by epoch and saves model, optimizer, scheduler and epoch to ``--checkpoint`` after
every epoch (``taimatsu.save`` writes atomically, so killing the run mid-save leaves the previous
checkpoint loadable). Rerunning the same command loads the checkpoint and goes on with the next
epoch. The random generator is reseeded from ``seed + epoch`` at each epoch, so a resumed run
draws the shuffles and dropout masks the uninterrupted run would have drawn and ends with the
same weights.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import taimatsu as torch


def parser(doc: str, name: str, epochs: int, lr: float, batch_size: int) -> argparse.ArgumentParser:
    """The flags every data example takes; ``name`` picks the default checkpoint file."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--epochs", type=int, default=epochs, help="total epochs (a resumed run "
                   "trains the epochs the checkpoint has not done yet)")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(),
                                                        f"taimatsu-{name}.pt"),
                   help="checkpoint file, written after every epoch and resumed from when present")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    return p


def progress(iterable, desc: str, enabled: bool = True):
    """A tqdm bar over ``iterable`` when tqdm is installed, else a few plain progress lines."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is optional: print about ten lines per pass instead
        return _lines(iterable, desc)
    return tqdm(iterable, desc=desc, leave=False)


def _lines(iterable, desc: str):
    total = len(iterable)
    every = max(1, total // 10)
    for i, item in enumerate(iterable, 1):
        yield item
        if i % every == 0 or i == total:
            print(f"{desc}: {i}/{total}", file=sys.stderr, flush=True)


def fit(model, optimizer, scheduler, loader, test, args, per_batch: bool) -> float:
    """Train ``model`` on ``loader`` up to ``args.epochs``, resuming from ``args.checkpoint``.

    ``scheduler`` steps after every batch when ``per_batch`` is true, else after every epoch
    (``ReduceLROnPlateau`` with the epoch's mean training loss). The accuracy on the ``test``
    loader is printed after each epoch and at the end, and returned.
    """
    start = 0
    if os.path.exists(args.checkpoint) and not args.fresh:
        state = torch.load(args.checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = state["epoch"]
        print(f"resumed from epoch {start} ({args.checkpoint})", flush=True)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    score = None
    for epoch in range(start, args.epochs):
        began = time.perf_counter()
        torch.manual_seed(args.seed + epoch)
        model.train()
        total, batches = 0.0, 0
        for x, y in progress(loader, f"epoch {epoch + 1}/{args.epochs}", not args.no_progress):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if per_batch:
                scheduler.step()
            total += loss.item()
            batches += 1
        mean_loss = total / batches
        if plateau:
            scheduler.step(mean_loss)
        elif not per_batch:
            scheduler.step()
        score = accuracy(model, test)
        lr = optimizer.param_groups[0]["lr"]
        torch.save({"epoch": epoch + 1, "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                   args.checkpoint)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {mean_loss:.4f}, lr {lr:.2e}, "
              f"test accuracy {score:.2%} ({time.perf_counter() - began:.1f} s)", flush=True)
    if score is None:  # the checkpoint had done every epoch already
        score = accuracy(model, test)
    print(f"test accuracy {score:.2%}")
    return score


def accuracy(model, loader) -> float:
    """The fraction of ``loader``'s samples that ``model`` (in eval mode) classifies right."""
    model.eval()
    right = count = 0
    with torch.no_grad():
        for x, y in loader:
            right += (model(x).argmax(1) == y).sum().item()
            count += len(y)
    return right / count
