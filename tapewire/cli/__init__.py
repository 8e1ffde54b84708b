"""Entry points: the ``tapewire`` command, the demo, doctor, smoke, the order CLI and the
router process (``python -m tapewire.cli.router_main``).

The top layer: may import every other ``tapewire`` package except :mod:`tapewire.testing`.
Subcommands import their modules when they run, so ``tapewire --help`` stays fast.
"""
