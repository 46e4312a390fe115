"""SPL commands (moved here whole; the next commit splits them by family)."""
from .shaping import *  # noqa: F401,F403
