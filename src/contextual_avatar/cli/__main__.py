"""``python -m contextual_avatar.cli``: the command, as the warm process is started."""

from contextual_avatar.cli import main

main()
