"""``cupy.random`` of the double: ``Generator`` with exactly CuPy's methods over ``XORWOW``,
whose state lives in a device array (``_state``, as in CuPy) so it can be saved and restored.

The numbers come from NumPy's PCG64, not cuRAND: the double makes no claim to CuPy's streams.
"""
from __future__ import annotations

import numpy as np

from . import _array

_STATE_BYTES = 40  # PCG64: state and increment (128 bits each), has_uint32, uinteger


class BitGenerator:
    def __init__(self, seed=None):
        if isinstance(seed, _array.ndarray):
            seed = seed.get()
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._seed_seq = seq
        self._current_device_id = 0

    def random_raw(self, size=None, output=True):
        raise NotImplementedError("Not implemented in base BitGenerator")


class XORWOW(BitGenerator):
    generator = 0

    def __init__(self, seed=None, *, size=-1):
        super().__init__(seed)
        self._seed = self._seed_seq.generate_state(1, np.uint32)[0]
        self._state = _array.wrap(np.zeros(_STATE_BYTES, np.int8))
        self._store(np.random.PCG64(self._seed_seq).state)

    def state(self) -> int:
        return self._state.data.ptr

    def random_raw(self, size=None, output=True):
        out = self._draw(lambda g: g.bit_generator.random_raw(size).astype(np.int32))
        return _array.wrap(out) if output else None

    def _store(self, st: dict) -> None:
        words = (st["state"]["state"].to_bytes(16, "little") + st["state"]["inc"].to_bytes(
            16, "little") + int(st["has_uint32"]).to_bytes(4, "little")
                 + int(st["uinteger"]).to_bytes(4, "little"))
        self._state._a[...] = np.frombuffer(words, np.int8)

    def _draw(self, fn):
        """Run ``fn`` on a NumPy generator in this state, then keep the advanced state (on the
        device: reading ``_state`` here is what a kernel does, not a transfer)."""
        raw = self._state._a.tobytes()
        bits = np.random.PCG64()
        bits.state = {"bit_generator": "PCG64",
                      "state": {"state": int.from_bytes(raw[:16], "little"),
                                "inc": int.from_bytes(raw[16:32], "little")},
                      "has_uint32": int.from_bytes(raw[32:36], "little"),
                      "uinteger": int.from_bytes(raw[36:], "little")}
        out = fn(np.random.Generator(bits))
        self._store(bits.state)
        return out


def _draw_method(name):
    def method(self, *args, **kwargs):
        a, k, inputs = _array._device_args(args, kwargs)
        return _array.rewrap(self.bit_generator._draw(lambda g: getattr(g, name)(*a, **k)),
                             inputs)

    method.__name__ = name
    return method


class Generator:
    """``cupy.random.Generator``: only the methods CuPy's has (:func:`install_methods` adds them)."""

    def __init__(self, bit_generator):
        self.bit_generator = bit_generator


def install_methods(names) -> None:
    for name in names:
        if hasattr(np.random.Generator, name):
            setattr(Generator, name, _draw_method(name))
