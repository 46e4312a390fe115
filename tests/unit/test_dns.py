"""c2hunt.dns: registered domain from the Public Suffix List, labels left of it."""
import pytest

from c2hunt.dns import registered_domain, split_name


@pytest.mark.parametrize("name, registered, labels", [
    ("a1b2.tunnel.evil.co.uk", "evil.co.uk", ["a1b2", "tunnel"]),
    ("WWW.Example.COM.", "example.com", ["www"]),
    ("example.com", "example.com", []),
    ("x.y.corp.internal", "corp.internal", ["x", "y"]),      # unknown TLD: default rule "*"
    ("10.1.2.3", None, []),                                   # an address is no domain
    ("localhost", None, ["localhost"]),
    ("co.uk", None, ["co", "uk"]),                            # a public suffix alone
    ("bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com", []),   # private-section rule
])
def test_split_name(name, registered, labels):
    split = split_name(name)
    assert split.registered == registered
    assert split.labels == labels


def test_long_names_use_cache_correctly():
    deep = ".".join(["l%d" % i for i in range(30)]) + ".example.org"
    assert registered_domain(deep) == "example.org"
    assert registered_domain("a..b.com") is None
