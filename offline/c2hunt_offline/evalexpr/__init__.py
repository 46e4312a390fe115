"""eval expressions (moved here whole; the next commit splits them)."""
from .functions import *  # noqa: F401,F403
from .functions import compile_expr, tokenize  # noqa: F401
