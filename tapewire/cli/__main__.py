"""``python -m tapewire.cli``: the same as the ``tapewire`` command."""

from tapewire.cli.main import main

main()
