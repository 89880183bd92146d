"""Special elementwise functions (logaddexp, xlogy, lgamma, erfinv, ...).

NumPy has no gamma-family or inverse-error kernels (and SciPy is optional), so ``lgamma``,
``digamma``, ``polygamma`` and ``erfinv`` are written here with ``xp`` array maths only, which
runs unchanged on CuPy. They compute in float64 and round to the input's dtype once, so float32
results are correctly rounded and float64 ones are within a few ulps of libm's.
"""
from __future__ import annotations

import math

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd.function import Function
from ..dtypes import float64, get_default_dtype
from .elementwise import (
    _arrays,
    _float,
    _float_unary,
    _inplace,
    _inplace_method,
    _not_implemented,
    _number,
    _save,
    _saved,
    _tensor,
    _unary_function,
    _zeros,
    where,
)

__all__ = ["copysign", "deg2rad", "digamma", "erfinv", "heaviside", "lgamma", "logaddexp",
           "logaddexp2", "logit", "polygamma", "rad2deg", "sinc", "xlogy"]

_F64 = float64.np
_PI = math.pi
_NAN = float("nan")
_INF = float("inf")


def _wide(xp, a):
    """``a`` as a flat float64 array (the kernels' working precision; flat, so that masked
    writes work for 0-d inputs too). ``_narrow`` undoes it."""
    return a.astype(_F64, copy=False).reshape(-1)


def _narrow(out, a):
    """A kernel's flat float64 result in ``a``'s shape and dtype."""
    return out.reshape(a.shape).astype(a.dtype, copy=False)


def _poly(xp, x, coeffs):
    """``coeffs[0] + coeffs[1] * x + ...`` by Horner's rule (in place: no temporaries)."""
    acc = xp.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc *= x
        acc += c
    return acc


# ---------------------------------------------------------------------------- log-gamma
# Lanczos' approximation with g = 7 and 9 terms (Godfrey's coefficients): |relative error| of
# Gamma below 2e-15 for Re(z) > 0.5; the reflection formula covers the rest of the real line.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma_kernel(xp, a):
    x = _wide(xp, a)
    small = x < 0.5
    z = xp.where(small, -x, x - 1)  # Gamma(x) = Gamma(z + 1) for x >= 1/2, z >= -1/2
    s = xp.full_like(z, _LANCZOS[0])
    for k, c in enumerate(_LANCZOS[1:], 1):
        t = z + k
        xp.divide(c, t, out=t)
        s += t
    t = z + (_LANCZOS_G + 0.5)
    # (z + 1/2) log t - t written so that z = inf gives inf, not inf - inf.
    out = _HALF_LOG_2PI + (z + 0.5) * (xp.log(t) - 1) - _LANCZOS_G + xp.log(s)
    # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x), inf at the poles (non-positive integers).
    xs = x[small]
    out[small] = math.log(_PI) - xp.log(xp.abs(xp.sin(_PI * _offset(xp, xs)))) - out[small]
    out[(x == 1) | (x == 2)] = 0.0  # exact zeros (the series is off by an ulp there)
    out[xp.isinf(x)] = _INF
    return _narrow(out, a)


def _shift_up(xp, y, n: int, term):
    """``(y', acc)``: the elements of ``y`` below ``n`` moved up to ``y + n``, and for them
    ``acc = term(y) + term(y + 1) + ... + term(y + n - 1)`` (0 elsewhere): the sums of the
    recurrences psi(y) = psi(y + 1) - 1/y and zeta(s, y) = zeta(s, y + 1) + y^-s, evaluated
    on those elements only."""
    low = y < n
    yl = y[low]
    part = xp.zeros_like(yl)
    for k in range(n):
        part += term(yl + k if k else yl)  # (yl itself first: -0.0 + 0 would lose its sign)
    acc = xp.zeros_like(y)
    acc[low] = part
    y = y.copy()
    y[low] = yl + n
    return y, acc


def _ipow(v, k: int):
    """``v ** k`` for an integer ``k >= 1`` by repeated squaring (NumPy's power calls pow())."""
    result = None
    while k:
        if k & 1:
            result = v if result is None else result * v
        k >>= 1
        if k:
            v = v * v
    return result


def _offset(xp, x):
    """``x`` minus its nearest integer, exactly: the argument of the reflection formulas'
    sin/tan/cot of ``pi x`` (period 1), which stays small and exact for any ``|x|``."""
    return x - xp.rint(x)


# ---------------------------------------------------------------------------- digamma
# psi(y) ~ log y - 1/(2y) - sum B_2k / (2k y^2k) for y >= 10 (next term below 5e-17); smaller
# y is shifted up by 10 with psi(y) = psi(y + 1) - 1/y, negative x reflected first.
_PSI_ASYMPTOTIC = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_PSI_SHIFT = 10


def _digamma_kernel(xp, a):
    x = _wide(xp, a)
    neg = x < 0  # (-0.0 is not: psi(-0.0) = +inf, psi(0.0) = -inf, as in PyTorch)
    y, acc = _shift_up(xp, xp.where(neg, 1 - x, x), _PSI_SHIFT, lambda v: -1 / v)
    w = 1 / (y * y)
    psi = xp.log(y) - 0.5 / y - w * _poly(xp, w, _PSI_ASYMPTOTIC) + acc
    # psi(x) = psi(1 - x) - pi / tan(pi x); NaN at the negative integers (poles of both signs).
    r = _offset(xp, x[neg])
    psi[neg] = xp.where(r == 0, _NAN, psi[neg] - _PI / xp.tan(_PI * r))
    return _narrow(psi, a)


# ---------------------------------------------------------------------------- polygamma
# psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1. The Hurwitz zeta zeta(s, y) is summed
# directly up to y >= 10 + 2s, then Euler-Maclaurin with Bernoulli numbers to B_16 (remainder below 1e-16
# relative for n <= 10); negative x uses the reflection formula
# psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)), where P_n(cot u) = d^n cot u / du^n.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _cot_derivative_poly(n: int) -> list:
    """Coefficients of P_n, with P_0(c) = c and P_{k+1}(c) = -(1 + c^2) P_k'(c)."""
    p = [0, 1]
    for _ in range(n):
        d = [i * p[i] for i in range(1, len(p))] or [0]
        q = [0] * (len(d) + 2)
        for i, c in enumerate(d):
            q[i] -= c
            q[i + 2] -= c
        p = q
    return p


def _hurwitz_zeta(xp, s: int, x):
    """zeta(s, x) = sum_k (x + k)^-s for x > 0 (x = 0 gives inf)."""
    y, acc = _shift_up(xp, x, 10 + 2 * s, lambda v: _ipow(1 / v, s))
    # Euler-Maclaurin tail: y^(1-s)/(s-1) + y^-s/2 + sum_j B_2j/(2j)! (s)_(2j-1) y^(-s-2j+1)
    coeffs = []
    rising = s  # (s)_(2j-1) = s (s+1) ... (s+2j-2)
    for j, b in enumerate(_BERNOULLI, 1):
        coeffs.append(b / math.factorial(2 * j) * rising)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    inv = 1 / y
    tail = _ipow(inv, s - 1) / (s - 1) + _ipow(inv, s) * (0.5 + _poly(xp, inv * inv, coeffs) * inv)
    return acc + tail


def _polygamma_kernel(xp, n: int, a):
    if n == 0:
        return _digamma_kernel(xp, a)
    x = _wide(xp, a)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    scale = sign * math.factorial(n)
    neg = x < 0
    out = scale * _hurwitz_zeta(xp, n + 1, xp.where(neg, 1 - x, xp.abs(x)))
    cot = 1 / xp.tan(_PI * _offset(xp, x[neg]))
    out[neg] = (-1) ** n * out[neg] - _PI ** (n + 1) * _poly(xp, cot, _cot_derivative_poly(n))
    out[(x <= 0) & (x == xp.floor(x))] = sign * _INF  # the poles
    # At the infinities PyTorch's zeta gives (n = 1) 0 and NaN, (n >= 2) NaN and a pole.
    out[x == _INF] = 0.0 if n == 1 else _NAN
    out[x == -_INF] = _NAN if n == 1 else sign * _INF
    return _narrow(out, a)


# ---------------------------------------------------------------------------- erfinv
# erfinv(x) = Phi^-1((1 + x) / 2) / sqrt(2), with Wichura's AS 241 (PPND16, Applied Statistics
# 37(3), 1988), accurate to about 1e-16, evaluated from q = x / 2 and 1 - |x| directly so no
# precision is lost forming (1 + x) / 2 near 0 or +-1.
_AS241_A = (3.3871328727963666080, 1.3314166789178437745e2, 1.9715909503065514427e3,
            1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
            3.3430575583588128105e4, 2.5090809287301226727e3)
_AS241_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
            2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
            5.2264952788528545610e3)
_AS241_C = (1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550,
            3.64784832476320460504, 1.27045825245236838258, 2.41780725177450611770e-1,
            2.27238449892691845833e-2, 7.74545014278341407640e-4)
_AS241_D = (1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
            1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
            1.05075007164441684324e-9)
_AS241_E = (6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580,
            2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
            2.71155556874348757815e-5, 2.01033439929228813265e-7)
_AS241_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
            1.48753612908506148525e-2, 7.86869131145613259100e-4, 1.84631831751005468180e-5,
            1.42151175831644588870e-7, 2.04426310338993978564e-15)


def _erfinv_kernel(xp, a):
    x = _wide(xp, a)
    ax = xp.abs(x)
    out = xp.empty_like(x)
    # Each of AS 241's three regions is evaluated on its own elements only.
    central = ax <= 0.85
    q = x[central] / 2
    r = 0.180625 - q * q
    out[central] = q * _poly(xp, r, _AS241_A) / _poly(xp, r, _AS241_B)
    tail = ~central & (ax < 1)
    t = xp.sqrt(-xp.log((1 - ax[tail]) / 2))
    near = t <= 5.0
    res = xp.empty_like(t)
    tn, tf = t[near] - 1.6, t[~near] - 5.0
    res[near] = _poly(xp, tn, _AS241_C) / _poly(xp, tn, _AS241_D)
    res[~near] = _poly(xp, tf, _AS241_E) / _poly(xp, tf, _AS241_F)
    out[tail] = xp.copysign(res, x[tail])
    out *= 1 / math.sqrt(2)
    out[ax == 1] = xp.copysign(_INF, x[ax == 1])
    out[~(ax <= 1)] = _NAN  # (NaN too)
    return _narrow(out, a)


# ---------------------------------------------------------------------------- unary Functions
_SQRT_PI_2 = math.sqrt(math.pi) / 2

Erfinv = _float_unary("Erfinv", _erfinv_kernel,
                      lambda g, out: g * _SQRT_PI_2 * (out * out).exp(), True)
Lgamma = _float_unary("Lgamma", _lgamma_kernel, lambda g, x: g * digamma(x))
Digamma = _float_unary("Digamma", _digamma_kernel, lambda g, x: g * polygamma(1, x))


class Polygamma(Function):
    @staticmethod
    def forward(ctx, x, n):
        a = x._data
        ctx.n = n
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return make(_polygamma_kernel(x.xp, n, a if a.dtype.kind in "fV" else _float(x)),
                    x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


class Sinc(Function):
    @staticmethod
    def forward(ctx, x):
        a = x._data
        xp = x.xp
        a = a if a.dtype.kind in "fV" else _float(x)
        px = xp.where(a == 0, 1, a * a.dtype.type(_PI))  # (no 0/0 where the limit 1 is taken)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return make(xp.where(a == 0, 1, xp.sin(px) / px), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # d/dx sin(pi x)/(pi x) = (pi x cos(pi x) - sin(pi x)) / (pi x^2); 0 at x = 0.
        zero = x == 0
        safe = where(zero, 1.0, x)
        px = safe * _PI
        return g * where(zero, 0.0, (px * px.cos() - px.sin()) / (px * safe))


class Logit(Function):
    @staticmethod
    def forward(ctx, x, eps):
        a = x._data
        xp = x.xp
        a = a if a.dtype.kind in "fV" else _float(x)
        if eps is not None:
            a = xp.clip(a, eps, 1 - eps)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
            ctx.eps = eps
        return make(xp.log(a / (1 - a)), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        grad = g / (x * (1 - x))
        if ctx.eps is None:
            return grad, None
        return where((x < ctx.eps) | (x > 1 - ctx.eps), 0.0, grad), None


erfinv = _unary_function("erfinv", Erfinv, "The inverse error function (``erf(erfinv(x)) = x``).")
lgamma = _unary_function("lgamma", Lgamma, "``log(|Gamma(input)|)``.")
digamma = _unary_function("digamma", Digamma, "The logarithmic derivative of Gamma, "
                          "``d/dx log(Gamma(x))`` (-inf at 0, NaN at negative integers).")
sinc = _unary_function("sinc", Sinc, "The normalised sinc, ``sin(pi x) / (pi x)`` (1 at 0).")


@out_variant
def polygamma(n, input):
    """The ``n``-th derivative of :func:`digamma`."""
    if not isinstance(n, int) or n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(_tensor("polygamma", input, "input", 2), n)


@out_variant
def logit(input, eps=None):
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``."""
    return Logit.apply(_tensor("logit", input), None if eps is None else float(eps))


@out_variant
def deg2rad(input):
    """Degrees to radians."""
    x = _tensor("deg2rad", input)
    return (x if x.is_floating_point() else x.to(get_default_dtype())) * (_PI / 180)


@out_variant
def rad2deg(input):
    """Radians to degrees."""
    x = _tensor("rad2deg", input)
    return (x if x.is_floating_point() else x.to(get_default_dtype())) * (180 / _PI)


# ---------------------------------------------------------------------------- binary Functions
def _float_arrays(op, x, y, integers=True):
    """``_arrays`` in a floating dtype: ``(device, a, b, dtype)``. Integer and bool operands
    compute in the default float (or raise PyTorch's NotImplementedError when ``integers`` is
    False)."""
    dev, a, b, dt = _arrays(op, x, y)
    if dt.kind not in "fV":
        if not integers:
            raise _not_implemented(op, dev, dt)
        dt = get_default_dtype().np
        a = a.astype(dt) if hasattr(a, "astype") else a
        b = b.astype(dt) if hasattr(b, "astype") else b
    return dev, a, b, dt


class Logaddexp(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, _ = _float_arrays(type(ctx).kernel, x, y, integers=False)
        xp = dev.xp
        m = xp.maximum(a, b)
        # Equal infinities: the formula would give inf - inf; the answer is that infinity.
        d = xp.where(a == b, 0, -xp.abs(a - b))
        out = xp.where(xp.isinf(m) & (a == b), m, m + type(ctx).log1p_exp(xp, d))
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(x, y)
        return make(out, dev)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        base = type(ctx).base
        need = ctx.needs_input_grad
        return (g / (1 + base ** (y - x)) if need[0] else None,
                g / (1 + base ** (x - y)) if need[1] else None)

    kernel = "logaddexp"
    base = math.e
    log1p_exp = staticmethod(lambda xp, d: xp.log1p(xp.exp(d)))


class Logaddexp2(Logaddexp):
    kernel = "logaddexp2"
    base = 2.0
    log1p_exp = staticmethod(lambda xp, d: xp.log1p(xp.exp2(d)) * (1 / math.log(2)))


@out_variant
def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, without overflow."""
    return Logaddexp.apply(_tensor("logaddexp", input), _tensor("logaddexp", other, "other", 2))


@out_variant
def logaddexp2(input, other):
    """``log2(2**input + 2**other)``, without overflow."""
    return Logaddexp2.apply(_tensor("logaddexp2", input),
                            _tensor("logaddexp2", other, "other", 2))


class Copysign(Function):
    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, _ = _float_arrays("copysign", x, y)
        out = make(dev.xp.copysign(a, b), dev)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            x, out = ctx.saved_tensors
            grad_x = g * where(x == 0, 0.0, out / where(x == 0, 1.0, x))
        if ctx.needs_input_grad[1]:
            grad_y = _zeros(g)
        return grad_x, grad_y


@out_variant
def copysign(input, other):
    """``|input|`` with the sign of ``other`` (a tensor or a number); the result is floating."""
    if not isinstance(other, TensorBase):
        other = _number(other)
    return Copysign.apply(_tensor("copysign", input), other)


@out_variant(dtype="exact", differentiable=True)
def heaviside(input, values):
    """The step function: 0 for negative ``input``, 1 for positive, ``values`` where it is 0.
    Not differentiable, as in PyTorch."""
    x = _tensor("heaviside", input)
    v = _tensor("heaviside", values, "values", 2)
    if x._data.dtype != v._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return Heaviside.apply(x, v)


class Heaviside(Function):
    @staticmethod
    def forward(ctx, x, v):
        dev, a, b, dt = _arrays("heaviside", x, v)
        xp = dev.xp
        return make(xp.where(a == 0, b, (a > 0).astype(dt)).astype(dt, copy=False), dev)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("the derivative for 'heaviside' is not implemented.")


class Xlogy(Function):
    """``x * log(y)`` with 0 where ``x == 0`` (unless ``y`` is NaN); ``Xlog1py`` uses log1p."""

    @staticmethod
    def forward(ctx, x, y):
        dev, a, b, dt = _float_arrays(type(ctx).op, x, y)
        xp = dev.xp
        out = xp.where((xp.asarray(a) == 0) & ~xp.isnan(b), 0, a * type(ctx).log(xp, b))
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            _save(ctx, x, y)
        return make(out.astype(dt, copy=False), dev)

    @staticmethod
    def backward(ctx, g):
        x, y = _saved(ctx)
        cls = type(ctx)
        need = ctx.needs_input_grad
        grad_x = grad_y = None
        if need[0]:  # log(y) * g, but 0 where x = 0 and log(y) is -inf or NaN (PyTorch's rule)
            grad_x = cls.apply(g, y)
            if isinstance(y, TensorBase):
                grad_x = where((x == 0) & (y <= cls.pole), 0.0, grad_x)
            elif y <= cls.pole:
                grad_x = where(x == 0, 0.0, grad_x)
        if need[1]:
            grad_y = g * x / (y - cls.pole)
        return grad_x, grad_y

    op = "xlogy"
    log = staticmethod(lambda xp, b: xp.log(b))
    pole = 0  # where the logarithm's argument is 0


class Xlog1py(Xlogy):
    op = "xlog1py"
    log = staticmethod(lambda xp, b: xp.log1p(b))
    pole = -1


def _xlogy_operands(op, input, other):
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase):
        _tensor(op, input, "self")  # raises PyTorch's TypeError
    return [t if isinstance(t, TensorBase) else _number(t) for t in (input, other)]


@out_variant
def xlogy(input, other):
    """``input * log(other)``, and 0 where ``input`` is 0 (``other`` not NaN). Either argument
    may be a number."""
    return Xlogy.apply(*_xlogy_operands("xlogy", input, other))


@out_variant
def xlog1py(input, other):
    """``input * log1p(other)``, and 0 where ``input`` is 0 (``other`` not NaN)."""
    return Xlog1py.apply(*_xlogy_operands("xlog1py", input, other))


# ---------------------------------------------------------------------------- Tensor methods
class SpecialMethods:
    """Tensor methods of this family."""

    __slots__ = ()
    logaddexp = logaddexp
    logaddexp2 = logaddexp2
    copysign = copysign
    heaviside = heaviside
    logit = logit
    xlogy = xlogy
    sinc = sinc
    deg2rad = deg2rad
    rad2deg = rad2deg
    erfinv = erfinv
    lgamma = lgamma
    digamma = digamma

    copysign_ = _inplace_method(copysign)
    heaviside_ = _inplace_method(heaviside)
    xlogy_ = _inplace_method(xlogy)
    sinc_ = _inplace_method(sinc, nargs=0)
    deg2rad_ = _inplace_method(deg2rad, nargs=0)
    rad2deg_ = _inplace_method(rad2deg, nargs=0)
    erfinv_ = _inplace_method(erfinv, nargs=0)
    lgamma_ = _inplace_method(lgamma, nargs=0)
    digamma_ = _inplace_method(digamma, nargs=0)

    def polygamma(self, n):
        return polygamma(n, self)

    def polygamma_(self, n):
        return _inplace(self, lambda t: polygamma(n, t), (), {})

    def logit_(self, eps=None):
        return _inplace(self, logit, (), {"eps": eps})
