"""``DataParallel`` on the one device taimatsu drives per process."""
from __future__ import annotations

import itertools

from ... import backend
from ...backend import device as _device
from ..modules.module import Module
from .distributed import _device_index, _map_tensors

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Runs ``module`` on ``device_ids[0]``, as PyTorch's DataParallel does for one device.

    Without a GPU it is a pass-through (``device_ids == []``), as in PyTorch. With one GPU the
    module is moved there and every tensor input is copied there before the call. Splitting a
    batch across several GPUs in one process is not supported: use
    :class:`DistributedDataParallel` with one process per GPU.

    Example::

        >>> model = nn.DataParallel(nn.Linear(10, 5))
        >>> model(torch.randn(4, 10)).shape
        torch.Size([4, 5])
    """

    def __init__(self, module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not backend.cuda_is_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(backend.cuda_device_count()))
        if len(device_ids) > 1:
            raise NotImplementedError(
                f"DataParallel over {len(device_ids)} devices ({list(device_ids)}) is not "
                "supported by taimatsu: run one process per GPU with DistributedDataParallel")
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(device_ids[0] if output_device is None
                                           else output_device)
        self.src_device_obj = _device("cuda", self.device_ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in itertools.chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError("module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of them "
                                   f"on device: {t.device}")
        inputs, kwargs = _map_tensors(lambda t: t.to(self.src_device_obj), (inputs, kwargs))
        return self.module(*inputs, **kwargs)
