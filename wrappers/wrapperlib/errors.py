"""The two ways a wrapper can end badly."""


class Refusal(Exception):
    """The request is outside the contract or the state forbids it.

    Raised before any side effect: nothing has changed. Exit status 2.
    """


class Failure(Exception):
    """An action was attempted and failed. Exit status 1."""
