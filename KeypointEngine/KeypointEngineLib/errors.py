"""The errors a user can act on, apart from bugs. Imports nothing, so the CLI's parser can name them without torch.

InputError: the input or an option cannot be used (the message says what to use instead); a ValueError, so console
callers may catch either. BrokenInstallation: shipped files are missing, damaged or not what they should be.
Anything else raised by the engine is a bug.
"""


class InputError(ValueError):
    """Bad input or options, found before or during the work; the message says what to do."""


class BrokenInstallation(RuntimeError):
    """Shipped files (weights, model cards) are missing, damaged or not what they should be; the message says how
    to restore them."""
