"""``python -m taimatsu.distributed.launch``: the deprecated ``torch.distributed.launch``.

The same launcher as :mod:`taimatsu.distributed.run`, except that each rank's program also gets
``--local-rank=N`` unless ``--use-env`` is given (then it reads LOCAL_RANK, as under torchrun).
"""
from __future__ import annotations

import sys
import warnings

from .run import get_args_parser, launch_parsed


def main(argv: list[str] | None = None) -> int:
    warnings.warn("The module taimatsu.distributed.launch is deprecated (as "
                  "torch.distributed.launch): use python -m taimatsu.distributed.run, which "
                  "sets LOCAL_RANK instead of passing --local-rank", FutureWarning, stacklevel=2)
    parser = get_args_parser()
    parser.add_argument("--use-env", "--use_env", action="store_true",
                        help="set LOCAL_RANK only, instead of passing --local-rank to the script")
    args = parser.parse_args(argv)
    if args.no_python and not args.use_env:
        parser.error("When using the '--no-python' flag, you must also set the '--use-env' flag.")
    return launch_parsed(parser, args, local_rank_arg=not args.use_env)


if __name__ == "__main__":
    sys.exit(main())
