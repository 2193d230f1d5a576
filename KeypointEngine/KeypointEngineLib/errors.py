"""Errors a user can act on that are not bad input: a damaged or replaced installation. Imports nothing, so the CLI's
parser can name them without loading torch."""


class BrokenInstallation(RuntimeError):
    """Shipped files (weights, model cards) are missing, damaged or not what they should be; the message says how
    to restore them."""
