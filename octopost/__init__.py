"""Octopost: a self-hosted cross-posting service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("octopost")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
