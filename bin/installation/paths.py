"""Where the checkout is and what of it the installer runs."""

import os
from pathlib import Path

# Not resolved: a symlinked component must be seen (and refused), not followed.
REPO = Path(os.path.abspath(__file__)).parent.parent.parent
INSTALL_WRAPPERS = REPO / "bin" / "install-wrappers"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
WRAPPERS_SOURCE = REPO / "wrappers"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
