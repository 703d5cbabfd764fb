"""The ``fetrack`` command: :mod:`.main` dispatches to one module per subcommand (:mod:`.demo`,
:mod:`.eval`, :mod:`.convert`, :mod:`.replay`, :mod:`.train`), each with ``add_arguments(parser)``
and ``main(args) -> int``; :mod:`.source_args` holds the input options they share.
``python -m fetrack_ros.cli`` runs it without the console script."""
from .main import SUBCOMMANDS, main

__all__ = ["SUBCOMMANDS", "main"]
