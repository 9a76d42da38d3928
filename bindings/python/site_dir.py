"""Prints where this Python looks for pure packages under an install prefix (argv[1]).

Debian's own Python reads /usr/lib/python3/dist-packages (scheme deb_system) and
/usr/local/lib/python3.X/dist-packages (posix_local); any other prefix gets the
standard <prefix>/lib/python3.X/site-packages, to be put on PYTHONPATH."""
import sys
import sysconfig

prefix = sys.argv[1].rstrip("/") or "/"
schemes = sysconfig.get_scheme_names()
if prefix == "/usr" and "deb_system" in schemes:
    print(sysconfig.get_path("purelib", "deb_system", vars={"base": prefix}))
elif prefix == "/usr/local" and "posix_local" in schemes:
    print(sysconfig.get_path("purelib", "posix_local", vars={"base": "/usr"}))
else:
    print(sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix}))
