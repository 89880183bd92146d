"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Each layer and direction runs as one fused node over the whole sequence
(:class:`taimatsu.ops.rnn.Recurrence`); padded input is handed to it in the packed layout it
works in, so packed and padded batches take the same path.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ...creation import empty, zeros
from ...ops import shape as _sh
from ...ops._util import check_same_device
from ...ops.rnn import GATES, Recurrence
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module
from .sparse import _extra_options

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]


def _uniform_init(module) -> None:
    """PyTorch's init of every recurrent weight and bias: uniform in ``±1/sqrt(hidden_size)``."""
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -stdv, stdv)


class RNNBase(Module):
    """The shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU`: PyTorch's parameter
    names (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    ``weight_hr_l{k}``, ``_reverse`` for the backward direction) and initialisation (uniform in
    ``±1/sqrt(hidden_size)``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int),
                                  ("hidden_size", hidden_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_in = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_in)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = [name + suffix for name, _ in shapes]
                for name, (_, shape) in zip(names, shapes):
                    setattr(self, name, Parameter(empty(shape, **kw)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        # (a property, not PyTorch's cached list: parameters replaced by assignment are seen)
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction, in PyTorch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch compacts the weights for cuDNN; the fused node needs no layout."""

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + _extra_options(
            self, [("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                   ("dropout", 0), ("bidirectional", False)])

    # ------------------------------------------------------------------ forward
    def _state_sizes(self, batch: int) -> list:
        """Expected shapes of the initial states: ``[h]`` or, for LSTM, ``[h, c]``."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        sizes = [(layers, batch, real_hidden)]
        if self.mode == "LSTM":
            sizes.append((layers, batch, self.hidden_size))
        return sizes

    def _check_input(self, input, packed: bool) -> None:
        w = self._flat_weights[0]
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        if input.device != w.device:
            raise RuntimeError(f"Input and parameter tensors are not at the same device, found "
                               f"input tensor at {input.device} and parameter tensor at {w.device}")
        expected = 2 if packed else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def forward(self, input, hx=None):
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        states = None if hx is None else (list(hx) if lstm else [hx])
        batched = True
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            steps = tuple(int(n) for n in batch_sizes.tolist())
            batch = steps[0]
            self._check_input(data, True)
            if states is not None and sorted_indices is not None:
                # Each state row belongs to the sequence the caller put at that batch position.
                states = [s.index_select(1, sorted_indices) for s in states]
        else:
            if input.dim() not in (2, 3):
                got = "D instead" if lstm else "D tensor instead"
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}{got}")
            batched = input.dim() == 3
            if states is not None:
                self._check_state_dims(states, batched)
            if not batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
                states = None if states is None else [s.unsqueeze(1) for s in states]
            self._check_input(input, False)
            x = input.transpose(0, 1) if self.batch_first else input
            T, batch = x.shape[0], x.shape[1]
            steps = (batch,) * T
            data = x.reshape(T * batch, self.input_size)
        sizes = self._state_sizes(batch)
        if states is None:
            states = [zeros(s, dtype=data.dtype, device=data.device) for s in sizes]
        else:
            for k, (s, size) in enumerate(zip(states, sizes)):
                if tuple(s.shape) != size:
                    what = f"hidden[{k}] size" if lstm else "hidden size"
                    raise RuntimeError(f"Expected {what} {size}, got {list(s.shape)}")
                if s.device != data.device:
                    raise RuntimeError(f"Input and hidden tensors are not at the same device, "
                                       f"found input tensor at {data.device} and hidden tensor "
                                       f"at {s.device}")
        out, finals = self._run(data, states, steps)
        finals = [_sh.stack(f) for f in finals]
        if packed:
            if unsorted_indices is not None:
                finals = [f.index_select(1, unsorted_indices) for f in finals]
            output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        else:
            output = out.reshape(len(steps), batch, out.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not batched:
                output = output.squeeze(0 if self.batch_first else 1)
                finals = [f.squeeze(1) for f in finals]
        return output, (tuple(finals) if lstm else finals[0])

    def _check_state_dims(self, states, batched: bool) -> None:
        want = 3 if batched else 2
        if all(s.dim() == want for s in states):
            return
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            dims = ", ".join(f"{s.dim()}-D" for s in states)
            raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                               f"({dims}) tensors")
        raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                           f"{states[0].dim()}-D tensor")

    def _run(self, data, states, steps):
        """All layers and directions over the packed ``data``: the last layer's packed output,
        and the final states (one list per state kind, in PyTorch's layer-major order)."""
        directions = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals = [[] for _ in states]
        layer_in = data
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                w = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"),
                             [None] * 5))
                for name in self._all_weights[k]:
                    w[name.split("_l")[0]] = getattr(self, name)
                res = Recurrence.apply(layer_in, states[0][k], states[1][k] if lstm else None,
                                       w["weight_ih"], w["weight_hh"], w["bias_ih"],
                                       w["bias_hh"], w["weight_hr"], self.mode, steps,
                                       direction == 1)
                outs.append(res[0])
                for f, r in zip(finals, res[1:]):
                    f.append(r)
            layer_in = outs[0] if directions == 1 else _sh.cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, finals


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, ``act`` tanh or relu
    (``nonlinearity``).

    Shape:
        - Input: ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``), ``(L, H_in)``
          unbatched, or a :class:`PackedSequence`; h_0: ``(D * num_layers, N, H_out)``.
        - Output: ``(L, N, D * H_out)``, and h_n shaped like h_0.

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", *args,
                         **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, gates ``i, f, g, o`` stacked in that order in the weights;
    ``proj_size > 0`` projects each hidden state with ``weight_hr``.

    Shape:
        - Input: ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``), ``(L, H_in)``
          unbatched, or a :class:`PackedSequence`; ``(h_0, c_0)``: ``(D * num_layers, N, H_out)``
          and ``(D * num_layers, N, H_cell)``.
        - Output: ``(L, N, D * H_out)``, and ``(h_n, c_n)`` shaped like ``(h_0, c_0)``.

    Example::

        >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
        >>> output, (hn, cn) = lstm(torch.randn(3, 5, 10))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates ``r, z, n`` stacked in that order in the weights.

    Shape: as :class:`RNN`.

    Example::

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, hn = gru(torch.randn(5, 3, 10))
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ------------------------------------------------------------------------------ cells
class RNNCellBase(Module):
    """One step of a recurrence: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, uniform
    in ``±1/sqrt(hidden_size)``. Each call is the fused node over a one-step sequence."""

    _mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        fields = [("bias", True)] + ([("nonlinearity", "tanh")] if hasattr(self, "nonlinearity")
                                     else [])
        return f"{self.input_size}, {self.hidden_size}" + _extra_options(self, fields)

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def _step(self, input, hx, name: str):
        """Check and run one step; ``hx`` is a list of states (None: zeros). Returns the list of
        new states, shaped as the input (unbatched in, unbatched out)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for k, s in enumerate(hx):
                if s.dim() not in (1, 2):
                    which = f"hx[{k}]" if len(hx) > 1 else "hidden"
                    raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got {s.dim()}D "
                                     "instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            hx = None if hx is None else [s.unsqueeze(0) for s in hx]
        batch = input.shape[0]
        n_states = 2 if self._mode == "LSTM" else 1
        if hx is None:
            hx = [zeros((batch, self.hidden_size), dtype=input.dtype, device=input.device)] * \
                n_states
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for k, s in enumerate(hx):
            if s.shape[0] != batch:
                raise RuntimeError(f"Input batch size {batch} doesn't match hidden{k} batch size "
                                   f"{s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
        check_same_device(name, input, *hx, self.weight_ih, self.weight_hh, self.bias_ih,
                          self.bias_hh, cpu_scalars=False)
        res = Recurrence.apply(input, hx[0], hx[1] if n_states == 2 else None, self.weight_ih,
                               self.weight_hh, self.bias_ih, self.bias_hh, None, self._mode,
                               (batch,), False)
        new = list(res[1:])
        return new if batched else [s.squeeze(0) for s in new]


class RNNCell(RNNCellBase):
    """One Elman RNN step, ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Shape: input ``(N, H_in)`` or ``(H_in,)``, hidden and output ``(N, H)`` or ``(H,)``.

    Example::

        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(torch.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    @property
    def _mode(self) -> str:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else [hx], "RNNCell")[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``.

    Shape: input ``(N, H_in)`` or ``(H_in,)``; h, c and outputs ``(N, H)`` or ``(H,)``.

    Example::

        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(torch.randn(3, 10))
    """

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return tuple(self._step(input, None if hx is None else list(hx), "LSTMCell"))


class GRUCell(RNNCellBase):
    """One GRU step.

    Shape: as :class:`RNNCell`.

    Example::

        >>> cell = nn.GRUCell(10, 20)
        >>> h = cell(torch.randn(3, 10))
    """

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else [hx], "GRUCell")[0]
