"""The one error type for bad input that a user can fix.

Every part of the pipeline raises :class:`InputError` for input it cannot use (a corrupt clip, an
unknown chord name, a path outside its folder, ...). Its message is one sentence a user understands;
the command line prints it on one line and exits with status 2, the apps show it as a message.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input the pipeline cannot use; the message says what is wrong and, where it can, what to do."""
