"""Telemetry readers (moved here whole; the next commit splits them by log family)."""
from .windows import *  # noqa: F401,F403
