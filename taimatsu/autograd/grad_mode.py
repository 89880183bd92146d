"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator. The flag is one attribute read on every op,
so it is a plain module-level object, not a thread-local lookup chain.
"""
from __future__ import annotations

import functools


class _State:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _Mode:
    """Base: sets grad mode to ``self._target`` inside, restores the previous mode after."""

    _target = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._target
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return ()

    def clone(self):
        return self.__class__(*self._args())


class no_grad(_Mode):
    """Disable gradient recording: ops inside build no graph (``with taimatsu.no_grad():``)."""

    _target = False


class enable_grad(_Mode):
    """Re-enable gradient recording inside a ``no_grad`` block."""

    _target = True


class set_grad_enabled(_Mode):
    """Set grad mode to ``mode``: takes effect at once, or as a context manager/decorator."""

    def __init__(self, mode: bool):
        self._prev = state.enabled
        self._target = bool(mode)
        state.enabled = self._target

    def __enter__(self):
        return self

    def _args(self):
        return (self._target,)


class inference_mode(_Mode):
    """Like ``no_grad`` (``mode=False`` leaves grad mode as it is)."""

    def __init__(self, mode: bool = True):
        self._mode = mode
        self._target = False if mode else None

    def __enter__(self):
        self._prev = state.enabled
        if self._target is not None:
            state.enabled = self._target
        return self

    def _args(self):
        return (self._mode,)

