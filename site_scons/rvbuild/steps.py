"""How a build step shows on the terminal: its label, padded, then what it makes, e.g.
"LINUX    build/rv64/linux/Image". Each label is a construction variable, <LABEL>COMSTR, as SCons'
own CCCOMSTR is; this is the one place they are formatted, and where tests read them back."""

import re

# label, what it makes: "FETCH    dl/busybox-1.35.0.tar.bz2"
LINE = re.compile(r"^([A-Z][A-Z0-9_]*) +(\S+)$", re.MULTILINE)
# label, variant (build directory), component: "LINUX    build/rv64-debug/linux/Image"
STEP = re.compile(r"^([A-Z][A-Z0-9_]*) +build/([a-z0-9._-]+)/([a-z0-9._-]+)/", re.MULTILINE)


def comstr(label, what="$TARGET"):
    return f"{label:<8} {what}"
