"""A device-agnostic mixed-precision training loop, written the way PyTorch recommends today.

    python examples/amp_device_agnostic/train.py [--epochs 3] [--no-torch]

The accelerator API picks the device (CUDA when CuPy sees a GPU, else the CPU); cuDNN/TF32 flags
are set; the forward pass runs under ``torch.autocast`` (bfloat16 on the CPU, float16 on CUDA,
where a ``GradScaler`` guards against float16 gradient underflow); the data comes through a
``DataLoader`` with ``pin_memory`` on CUDA; on CUDA the epoch is timed with CUDA events and the
peak memory reported. ``train`` gets the framework as an argument (``taimatsu`` or ``torch``),
the way ``import taimatsu as torch`` would give it, so the very same program runs on PyTorch
for comparison. Data: scikit-learn's 8x8 digits.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from digits_cnn.train import load  # (the digits split of the CNN example)


def build(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def pick_device(torch):
    """The current accelerator when there is one, else the CPU."""
    if torch.accelerator.is_available():
        return torch.accelerator.current_accelerator()
    return torch.device("cpu")


def train(torch, epochs: int = 3, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
          model=None, shuffle: bool = True, device=None, log=print):
    """Train ``model`` (default: a fresh ``build``) on ``device`` (default: ``pick_device``)
    and evaluate it. Returns ``(per-step losses, test accuracy, seconds)``."""
    device = pick_device(torch) if device is None else torch.device(device)
    torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its kernels
    torch.backends.cuda.matmul.allow_tf32 = True
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    x_train, x_test, y_train, y_test = load(seed)
    torch.manual_seed(seed)
    model = (build(torch) if model is None else model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # float16 gradients underflow without loss scaling; bfloat16 has float32's range.
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    data = torch.utils.data.TensorDataset(torch.tensor(x_train), torch.tensor(y_train))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle,
                                         pin_memory=device.type == "cuda")
    on_cuda = device.type == "cuda"
    losses = []
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        if on_cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.reset_peak_memory_stats()
            begin.record()
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=amp_dtype):
                logits = model(x)  # conv and linear run in amp_dtype
                loss = torch.nn.functional.cross_entropy(logits, y)  # losses run in float32
            scaler.scale(loss).backward()  # the parameters' gradients are float32
            scaler.step(opt)
            scaler.update()
            losses.append(loss.item())
        timing = ""
        if on_cuda:
            end.record()
            torch.cuda.synchronize()
            timing = (f", {begin.elapsed_time(end):.0f} ms on the GPU, peak memory "
                      f"{torch.cuda.max_memory_allocated() / 2**20:.1f} MiB")
        log(f"{torch.__name__} on {device}: epoch {epoch + 1}, last loss {losses[-1]:.4f}"
            f"{timing}")
    model.eval()
    with torch.no_grad(), torch.autocast(device_type=device.type, dtype=amp_dtype):
        pred = model(torch.tensor(x_test).to(device)).argmax(1).cpu().numpy()
    return losses, float((pred == y_test).mean()), time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch run")
    args = p.parse_args(argv)
    import taimatsu

    frameworks = [taimatsu]
    if not args.no_torch:
        try:
            import torch
        except ImportError:  # the comparison run is optional
            torch = None
        if torch is not None:
            torch.set_num_threads(1)
            frameworks.append(torch)
    for lib in frameworks:
        losses, acc, sec = train(lib, args.epochs)
        print(f"{lib.__name__}: final loss {losses[-1]:.4f}, test accuracy {acc:.2%} in "
              f"{sec:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
