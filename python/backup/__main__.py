"""`python3 -m backup ARGS...` runs `coffer ARGS...`: the guide's command lines (create --type
full, list, restore <id> --type full, cleanup, schedule) and every other coffer command. The
coffer program is COFFER_BIN when set, else `coffer` on PATH."""

import os
import shutil
import sys


def coffer_program():
    program = os.environ.get("COFFER_BIN") or shutil.which("coffer")
    if not program:
        sys.exit("python3 -m backup: the coffer program is not on PATH (install it, or set COFFER_BIN)")
    return program


def main(argv):
    program = coffer_program()
    os.execv(program, [program, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
