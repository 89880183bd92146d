"""Built-in ops, one module per family. Each op is an ``autograd.Function`` plus the public
function that applies it; each module ends with the ``Tensor`` methods it provides."""
