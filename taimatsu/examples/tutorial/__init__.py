"""PyTorch's "Learning PyTorch with Examples": seven programs, run with ``import taimatsu as torch``.

Each program is a module with ``main(device="cpu", steps=500, on_step=None)``; run one directly
(``python -m taimatsu.examples.tutorial.two_layer_autograd``) or all of them with the demo
(``python -m taimatsu.examples.tutorial``).
"""

PROGRAMS = (
    "tensors_manual",
    "two_layer_autograd",
    "custom_function",
    "nn_sequential",
    "optim_adam",
    "custom_module",
    "dynamic_net",
)
