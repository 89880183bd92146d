"""Random number generation: one seeded NumPy ``Generator`` per device type, ``manual_seed``."""
from __future__ import annotations

import numpy as np

from . import backend
from ._tensor_base import TensorBase, make


class Generator:
    """A random stream on a device; ``manual_seed`` makes it reproducible."""

    def __init__(self, device="cpu"):
        self.device = backend.device(device)
        self._seed = 67280421310721
        self._rng = None

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        # PyTorch's range: a uint64, negatives taken modulo 2**64 (checked before any change).
        if not -(1 << 63) <= seed < (1 << 64):
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % (1 << 64)
        self._rng = None
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy) & ((1 << 63) - 1))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    @property
    def rng(self):
        """The backend generator (``numpy.random.Generator`` or ``cupy.random.Generator``)."""
        if self._rng is None:
            xp = self.device.xp
            if self.device.type == "cpu":
                self._rng = np.random.Generator(np.random.PCG64(self._seed))
            else:
                self._rng = xp.random.Generator(xp.random.XORWOW(self._seed))
        return self._rng

    def get_state(self):
        """The state: NumPy's state dict on the CPU; on CUDA a uint8 CPU tensor holding the
        device generator's whole state (as PyTorch's ByteTensor), not just its seed."""
        if self.device.type == "cpu":
            return self.rng.bit_generator.state
        return make(backend.cuda_rng_state(self.rng), backend.CPU)

    def set_state(self, state) -> None:
        if self.device.type == "cpu":
            self.rng.bit_generator.state = state
        else:
            if not isinstance(state, TensorBase) or state._device.type != "cpu":
                raise TypeError("expected a CPU torch.ByteTensor from get_rng_state, got "
                                f"{type(state).__name__}")
            backend.cuda_set_rng_state(self.rng, state._data)


default_generator = Generator("cpu")
_cuda_generators: dict = {}


def generator_for(dev, generator=None) -> Generator:
    """The generator to draw from on ``dev`` (the given one, or the device's default)."""
    if generator is not None:
        return generator
    if dev.type == "cpu":
        return default_generator
    g = _cuda_generators.get(dev)
    if g is None:
        g = _cuda_generators[dev] = Generator(dev).manual_seed(default_generator.initial_seed())
    return g


def manual_seed(seed: int) -> Generator:
    """Seed every device's default generator; the same seed gives the same numbers again."""
    default_generator.manual_seed(seed)
    seed = default_generator.initial_seed()
    for g in _cuda_generators.values():
        g.manual_seed(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)
