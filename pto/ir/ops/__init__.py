"""Every IR op, declared once. Importing this package registers them with the parser."""
from .compute import *  # noqa: F401,F403
from .compute import BINARY_OPS, EXPAND_OPS, REDUCE_OPS, UNARY_OPS  # noqa: F401
from .control import *  # noqa: F401,F403
from .memory import *  # noqa: F401,F403
from .indexed import *  # noqa: F401,F403
