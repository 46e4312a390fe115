"""Which Debian package installed a program: dpkg's file lists (/var/lib/dpkg/info/*.list).

Cheap by construction: only the executables of this pass's socket holders are looked up
(a handful), in one read of the lists that stops once all are found; nothing is read when
there is nothing to look up or no dpkg. RPM hosts get no owner: the rpm database is a
Berkeley DB / SQLite file whose reading needs rpm itself (a process start per pass).

The owner is a weak benign hint, not a verdict: dpkg records which package put a file at
that path, not that the file there is still the one it put (an implant can overwrite a
packaged binary; ``dpkg --verify`` is the check for that, too slow for every pass).
"""
import os

# /usr-merged systems run /usr/bin/ping where the package may list /bin/ping (and back).
_MERGED = ("/bin/", "/sbin/", "/lib/", "/lib64/")


def path_variants(path):
    """The path and its other spelling on a /usr-merged system."""
    variants = [path]
    for prefix in _MERGED:
        if path.startswith("/usr" + prefix):
            variants.append(path[4:])
        elif path.startswith(prefix):
            variants.append("/usr" + path)
    return variants


class PackageOwners:
    """Owner lookups against one dpkg database folder (``<root>/info/*.list``)."""

    def __init__(self, dpkg_root="/var/lib/dpkg"):
        self.info = os.path.join(dpkg_root, "info")
        self.source = "dpkg" if os.path.isdir(self.info) else "none"

    def owners(self, paths):
        """{path: package} for the paths some package lists; paths it lists not are left out."""
        paths = {p for p in paths if p and not p.endswith(" (deleted)")}
        if not paths or self.source == "none":
            return {}
        wanted = {}
        for path in paths:
            for variant in path_variants(path):
                wanted[variant] = path
        found = {}
        try:
            names = sorted(n for n in os.listdir(self.info) if n.endswith(".list"))
        except OSError:
            return {}
        for name in names:
            try:
                with open(os.path.join(self.info, name), encoding="utf-8",
                          errors="replace") as f:
                    for line in f:
                        path = wanted.get(line.rstrip("\n"))
                        if path is not None and path not in found:
                            found[path] = name[:-5].split(":")[0]    # "libc6:amd64" -> libc6
            except OSError:
                continue
            if len(found) == len(paths):
                break
        return found
