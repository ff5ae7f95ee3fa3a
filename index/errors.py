"""The errors a user sees as one line; anything else is a bug and goes to the log."""


class Error(Exception):
    """Base of every expected failure: bad input, a missing model, an unreachable store."""


class DocumentError(Error):
    """A file that can't be loaded; sync reports it and goes on with the rest."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ModelError(Error):
    """The embedding model can't be loaded (nothing is ever downloaded at run time)."""


class StoreError(Error):
    """The vector store can't be opened or reached."""


def one_line(exc: BaseException) -> str:
    """An exception as one short line for a person (the traceback goes to the log)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
