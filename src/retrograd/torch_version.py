"""``torch.torch_version``: ``TorchVersion``, the string class of ``torch.__version__``.

retrograd implements torch 2.13's API, so ``retrograd.__version__`` is ``"2.13.0+retrograd.0.1.0"``:
programs that branch on the torch version (``torch.__version__ >= "2.0"``,
``packaging.version.parse(torch.__version__)``) take their torch 2.13 paths, and the local label
names retrograd's own version, as torch's ``"2.13.0+cpu"`` names its build. As torch's, a
``TorchVersion`` is a ``str`` whose comparisons (``<``, ``<=``, ``>``, ``>=``, ``==``) compare
versions by PEP 440's order, against another version string or a tuple such as ``(2, 0)``.
"""

import re

__all__ = ["TorchVersion", "Version", "InvalidVersion"]

RETROGRAD_VERSION = "0.1.0"  # retrograd's own (pyproject.toml's)
TORCH_API_VERSION = "2.13.0"  # the torch whose API retrograd implements

_PEP440 = re.compile(
    r"v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d+)?)?"
    r"(?:-(?P<post_implicit>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n>\d+)?)?"
    r"(?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>\d+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
    re.IGNORECASE)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_FINAL = 3  # a release without a pre-release sorts after its a/b/rc ones


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version (as ``packaging.version.InvalidVersion``)."""


class Version:
    """A PEP 440 version, ordered as ``packaging.version.Version``: epoch, release (trailing zeros
    ignored), dev < a < b < rc < final < post, then the local label (none sorts first)."""

    def __init__(self, text):
        match = _PEP440.fullmatch(text.strip())
        if match is None:
            raise InvalidVersion(f"Invalid version: {text!r}")
        g = match.groupdict()
        release = [int(part) for part in g["release"].split(".")]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        has_post = g["post_implicit"] is not None or g["post_l"] is not None
        if g["pre_l"]:
            pre = (_PRE_RANK[g["pre_l"].lower()], int(g["pre_n"] or 0))
        elif g["dev"] and not has_post:
            pre = (-1, 0)  # 1.0.dev0 sorts before 1.0a0
        else:
            pre = (_FINAL, 0)
        post = int(g["post_implicit"] or g["post_n"] or 0) if has_post else -1
        dev = int(g["dev_n"] or 0) if g["dev"] else float("inf")
        local = tuple((1, int(s), "") if s.isdigit() else (0, 0, s.lower())
                      for s in re.split(r"[-_.]", g["local"])) if g["local"] else ()
        self._key = (int(g["epoch"] or 0), tuple(release), pre, post, dev, local)

    def __repr__(self):
        return f"<Version({self._key!r})>"

    def __eq__(self, other):
        return self._key == other._key if isinstance(other, Version) else NotImplemented

    def __lt__(self, other):
        return self._key < other._key if isinstance(other, Version) else NotImplemented

    def __le__(self, other):
        return self._key <= other._key if isinstance(other, Version) else NotImplemented

    def __gt__(self, other):
        return self._key > other._key if isinstance(other, Version) else NotImplemented

    def __ge__(self, other):
        return self._key >= other._key if isinstance(other, Version) else NotImplemented

    def __ne__(self, other):
        return self._key != other._key if isinstance(other, Version) else NotImplemented

    def __hash__(self):
        return hash(self._key)


def _as_version(other):
    """``other`` as a Version, or None where torch's TorchVersion does not compare it as one."""
    if isinstance(other, Version):
        return other
    if isinstance(other, (tuple, list)):
        return Version(".".join(str(part) for part in other))
    if isinstance(other, str):
        try:
            return Version(other)
        except InvalidVersion:
            return None  # compared as plain strings, as torch's
    return None


def _comparison(name):
    def compare(self, other):
        version = _as_version(other)
        if version is not None:
            return getattr(Version(self), name)(version)
        return getattr(str, name)(self, other)  # a plain string, or NotImplemented: Python's TypeError
    compare.__name__ = name
    return compare


class TorchVersion(str):
    """``torch.__version__``'s class: a string that compares as a version (against a version
    string, a tuple or list of ints, or a Version), and as a plain string against any other
    string."""

    __lt__, __le__, __gt__, __ge__, __eq__, __ne__ = map(
        _comparison, ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"))
    __hash__ = str.__hash__
