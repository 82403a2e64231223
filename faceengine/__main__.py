"""``python -m faceengine <command>``: replay media through the engine from a shell."""
from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module under faceengine.cli with add_arguments(parser) and run(args) -> int
COMMANDS = {
    "compare": "faceengine.cli.compare",
    "liveness": "faceengine.cli.liveness",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faceengine")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command not built yet must not take the others down
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0]))
    args = parser.parse_args(argv)
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
