"""The DataLoader's worker processes: what runs in them, and ``get_worker_info``."""
from __future__ import annotations

import os
import queue
import random
import sys
import traceback

import numpy as np

__all__ = ["ExceptionWrapper", "WorkerInfo", "get_worker_info"]

# How often a blocked worker or main process wakes up to check that the other side is alive.
MP_STATUS_CHECK_INTERVAL = 0.2


class WorkerInfo:
    """What a worker knows about itself: ``id``, ``num_workers``, ``seed``, ``dataset`` (its own
    copy). Read-only, as in PyTorch."""

    __initialized = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its :class:`WorkerInfo`; ``None`` in the main process.

    An :class:`~taimatsu.utils.data.IterableDataset` uses it to shard its stream::

        >>> info = get_worker_info()
        >>> start = 0 if info is None else info.id
        >>> step = 1 if info is None else info.num_workers
    """
    return _worker_info


class ExceptionWrapper:
    """An exception from a worker, carried to the main process with its traceback as text."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        # NOTE: the exception is never bound to a local here: a frame holding it would form a
        # cycle with its traceback and keep the DataLoader iterator (and its workers) alive
        # until the garbage collector runs.
        raise self._build()

    def _build(self) -> BaseException:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)  # KeyError would repr() the message: keep newlines
        try:
            return self.exc_type(msg)
        except Exception:  # noqa: BLE001 - the type needs other arguments: say what it was
            return RuntimeError(msg)


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return self


class _IterableDatasetStopIteration:
    """Sent by a worker whose IterableDataset is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch (and echoed back)."""


def _seed_worker(base_seed: int, worker_id: int) -> int:
    # PyTorch's scheme: Python's and taimatsu's generators get base_seed + worker_id; NumPy's
    # global generator the SeedSequence state of [worker_id, base_seed] (as torch's
    # _generate_state computes).
    from .... import random as _random

    seed = base_seed + worker_id
    random.seed(seed)
    _random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers,
                 parent_pid) -> None:
    """The body of one worker process: take ``(task_id, index)`` from ``index_queue``, put
    ``(task_id, batch or ExceptionWrapper)`` on ``data_queue``, until told to stop (``None``),
    the main process goes away, or ``done_event`` is set."""
    global _worker_info
    from ..dataloader import _DatasetKind

    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                  collate_fn, drop_last)
        except Exception:  # noqa: BLE001 - re-raised in the main process
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        iteration_end = False
        while True:
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid or done_event.is_set():
                    break  # orphaned or told to stop: never linger
                continue
            if r is None or done_event.is_set():
                break
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                      collate_fn, drop_last)
                continue
            if iteration_end:
                continue  # an exhausted stream ignores further indices until resumed
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:  # noqa: BLE001 - re-raised in the main process
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
            data_queue.put((idx, data))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    if done_event.is_set():
        # The main process is no longer reading: do not block at exit flushing the queue.
        data_queue.cancel_join_thread()
        data_queue.close()
