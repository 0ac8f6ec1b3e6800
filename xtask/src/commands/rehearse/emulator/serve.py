"""The emulator `cargo xtask rehearse` starts: moto's own server, after the compensations beside this file have
patched the gaps of the pinned moto version (tools/requirements.in) that the deployment commands run into. Each
compensation is one module that names the moto bug it works around; none of them hides a failure of the project.

Usage (as xtask runs it): .venv/bin/python serve.py -H 127.0.0.1 -p PORT
"""

import sys

# The compensations live in the source tree: no __pycache__ beside them.
sys.dont_write_bytecode = True

import moto  # noqa: E402

import api_mapping_update  # noqa: F401,E402  (each patches on import)
import change_set_outputs  # noqa: F401,E402
import empty_change_set  # noqa: F401,E402
import lambda_properties  # noqa: F401,E402
import oidc_provider  # noqa: F401,E402
import unmodeled_types  # noqa: F401,E402

# The compensations are written against this version's internals: another version must be re-checked first.
PINNED = "5.2.5"
if moto.__version__ != PINNED:
    sys.exit(f"the rehearsal's compensations are written for moto {PINNED}, found {moto.__version__}")

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
