"""sockdoc: the socket-pressure doctor for Linux servers."""

__version__ = "0.1.0"
