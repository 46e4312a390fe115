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
    ("q0x.z9..t.hidemyself.org", "hidemyself.org", ["q0x", "z9", "t"]),  # a dot byte in a label
    ("a..b..example.com", "example.com", ["a", "b"]),
    ("ab..com", None, ["ab", "com"]),                         # nothing registrable right of it
])
def test_split_name(name, registered, labels):
    split = split_name(name)
    assert split.registered == registered
    assert split.labels == labels


def test_long_names_use_cache_correctly():
    deep = ".".join(["l%d" % i for i in range(30)]) + ".example.org"
    assert registered_domain(deep) == "example.org"
    assert registered_domain("a..b.com") is None


# split_names: the same results as split_name, many names at once.
import numpy as np  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from c2hunt.dns import split_names  # noqa: E402

NAMES = ["a1b2.tunnel.evil.co.uk", "WWW.Example.COM.", "example.com", "x.y.corp.internal",
         "10.1.2.3", "localhost", "co.uk", "bucket.s3.amazonaws.com", "", "a..b.com",
         " spaced.com ", "a.b.ck", "www.ck", "x.www.ck", "ck", "foo.ck", "x.y.kawasaki.jp",
         "city.kawasaki.jp", "a.city.kawasaki.jp", "ünï.com", "xn--bcher-kva.example", "a:b.com",
         "1.2.3", ".lead.com", "UPPER.CO.UK", "a,b.com", "deep." * 12 + "example.org", "-.-",
         "_x._tcp.example.net", "a.b.blogspot.com", "x.y.sch.uk", "raw.githubusercontent.com"]


def split_all(names):
    raw = [name.encode("utf-8") for name in names]
    offsets = np.concatenate(([0], np.cumsum([len(item) for item in raw]))).astype(np.int64)
    return split_names(np.frombuffer(b"".join(raw), dtype=np.uint8), offsets)


def assert_matches_split_name(names, result):
    position = 0
    for row, name in enumerate(names):
        if not name:
            assert result.missing[row]
            continue
        split = split_name(name)
        start, end = result.registered_starts[row], result.registered_ends[row]
        registered = (result.registered_bytes[start:end].tobytes().decode("utf-8")
                      if result.has_registered[row] else None)
        assert registered == split.registered, name
        assert result.n_labels[row] == len(split.labels), name
        assert result.longest[row] == max([len(label) for label in split.labels] or [0])
        sample = "".join(split.labels)
        assert result.sample_lengths[row] == len(sample)
        if result.symbols is not None:
            got = result.symbols[position:position + len(sample)].tobytes().decode("ascii")
            position += len(sample)
        else:
            got = result.samples[row]
        assert got == sample, name


def test_split_names_matches_split_name_on_rule_kinds():
    assert_matches_split_name(NAMES, split_all(NAMES))          # per-name path mixed in
    plain = [name for name in NAMES if name and split_all([name]).symbols is not None]
    assert len(plain) > 15
    result = split_all(plain)
    assert result.symbols is not None                           # the all-numpy branch
    assert_matches_split_name(plain, result)


label = st.text(alphabet=st.sampled_from(list("abcXY09-_")), min_size=1, max_size=6)
suffix = st.sampled_from(["com", "co.uk", "ck", "www.ck", "kawasaki.jp", "city.kawasaki.jp",
                          "s3.amazonaws.com", "internal", "sch.uk", "github.io", "uk"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(label, max_size=4), suffix).map(
    lambda parts: ".".join(parts[0] + [parts[1]])), max_size=25))
def test_split_names_property(names):
    assert_matches_split_name(names, split_all(names))


# Names of every kind split_names must hand to split_name or split itself, with repeats
# (the array path numbers distinct suffixes) and a case mix (suffixes are looked up lower).
odd_label = st.one_of(label, st.sampled_from(["", "ü", "xn--bcher-kva", "123", "0", "A:B", " x",
                                              "x ", "\t", "-", "Www", "CO", "x" * 64]))
odd_suffix = st.one_of(suffix, st.sampled_from(["COM", "Co.Uk", "com.", "uk.", "123", "10.0.0.1",
                                                "in-addr.arpa", "рф", "."]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(odd_label, max_size=5), odd_suffix).map(
    lambda parts: ".".join(parts[0] + [parts[1]])), min_size=1, max_size=12),
    st.lists(st.integers(0, 11), max_size=40))
def test_split_names_property_odd_names_and_repeats(pool, picks):
    names = pool + [pool[pick % len(pool)] for pick in picks]
    assert_matches_split_name(names, split_all(names))


def test_split_names_long_and_address_like_names():
    long_label = "a" * 70 + ".example.com"                   # a label over 63 bytes
    too_long = ".".join(["abcdefghi"] * 30) + ".com"          # over 253 bytes: per-name path
    names = [long_label, too_long, "1.2.3.4", "1.2.3.com", "host.123", "a.b.c.d.e.f.co.uk",
             "WWW.EXAMPLE.COM", "www.example.com", "Www.Example.Com."]
    assert_matches_split_name(names, split_all(names))
    plain = [long_label, "1.2.3.com", "a.b.c.d.e.f.co.uk", "WWW.EXAMPLE.COM", "www.example.com"]
    result = split_all(plain * 50)
    assert result.symbols is not None
    assert_matches_split_name(plain * 50, result)


def test_split_names_exact_when_label_hashes_collide(monkeypatch):
    from c2hunt import byteranges
    # Multiplier 0: a pair's hash is its last word's alone, so unequal pairs collide and
    # the exact numbering must take over.
    monkeypatch.setattr(byteranges, "_HASH_MULTIPLIER", np.uint64(0))
    names = ["a.b.ck", "www.ck", "x.www.ck", "foo.ck", "x.y.kawasaki.jp", "city.kawasaki.jp",
             "a.city.kawasaki.jp", "uk.co.uk", "co.uk.com", "example.co.uk", "example.com",
             "s3.amazonaws.com", "b.s3.amazonaws.com", "abcdefghijk.github.io"] * 3
    result = split_all(names)
    assert result.symbols is not None
    assert_matches_split_name(names, result)


def test_split_names_of_names_inside_a_larger_buffer():
    names = ["a.Example.com", "1.2.3.4", "", "x.y.co.uk"]
    body = b"\xff..:" + b"".join(name.encode() for name in names) + b"..\xfe:"
    offsets = 4 + np.concatenate(([0], np.cumsum([len(name) for name in names])))
    result = split_names(np.frombuffer(body, dtype=np.uint8), offsets.astype(np.int64))
    assert_matches_split_name(names, result)


def test_split_names_keeps_bytes_as_symbols_unless_a_sample_is_not_ascii():
    # A root dot is stripped in the array path; an address or a name with a ':' is split
    # one by one and its (ASCII) sample put in its row's place among the symbols.
    names = ["www.Example.com.", "10.1.2.3", "a:b.com", "k3j9x.cdn.example.co.uk", "",
             "x.y.internal.", ".", "a.com..", " pad.com ", "host.123."]
    result = split_all(names)
    assert result.symbols is not None and result.samples is None
    assert_matches_split_name(names, result)
    # A non-ASCII sample: code points are its symbols, so every row goes as text.
    names = names + ["ünï.bücher.example"]
    result = split_all(names)
    assert result.symbols is None
    assert_matches_split_name(names, result)


# dns.py reads two internals of publicsuffixlist: PublicSuffixList._maxlabel (the tail of a
# name that decides its registered domain: the cache key) and ._publicsuffix (the rule set
# split_names groups names by). Without them it falls back silently (a longer key, the
# per-name path), so a release that renames them must fail here, loudly.
PSL_INTERNALS_VERIFIED_FOR = "1.1.2"


def test_public_suffix_list_pin_is_the_release_whose_internals_were_checked():
    from pathlib import Path
    requirements = Path(__file__).resolve().parents[2] / "package" / "requirements-vendor.txt"
    pins = [line.split("==", 1)[1].strip() for line in requirements.read_text().splitlines()
            if line.startswith("publicsuffixlist==")]
    assert len(pins) == 1
    assert pins[0].split(".")[:3] == PSL_INTERNALS_VERIFIED_FOR.split("."), (
        "publicsuffixlist pin changed: check dns.py's use of _maxlabel and _publicsuffix "
        "against the new release, then update PSL_INTERNALS_VERIFIED_FOR")


def test_public_suffix_list_internals_dns_relies_on():
    from c2hunt import dns
    psl = dns._PSL
    assert isinstance(psl._maxlabel, int)
    rules = psl._publicsuffix
    assert len(rules) > 1000 and all(isinstance(rule, str) for rule in rules)
    assert "co.uk" in rules and "com" in rules
    # The tail key is sound only if no rule has more labels than _maxlabel.
    assert max(len(rule.lstrip("!").split(".")) for rule in rules) <= psl._maxlabel
    assert dns._TAIL_LABELS == psl._maxlabel + 2
    assert dns._rule_suffixes() is not None and "uk" in dns._rule_suffixes()
