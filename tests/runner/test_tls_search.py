"""C2Hunt - Suspicious TLS Or Long Connection - Rule, run offline over Zeek ssl/x509/conn
records written the way Zeek writes them (JSON lines)."""
import json
from pathlib import Path

from c2hunt_offline.engine import hunt

ROOT = Path(__file__).resolve().parents[2]

SEARCH = "C2Hunt - Suspicious TLS Or Long Connection - Rule"
CS_SUBJECT = ("CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,"
              "ST=Cyberspace,C=Earth")
LE_ISSUER = "CN=R3,O=Let's Encrypt,C=US"


def _ssl(uid, src, dest, fps, **extra):
    row = {"ts": 1700000000.0, "uid": uid, "id.orig_h": src, "id.orig_p": 50000,
           "id.resp_h": dest, "id.resp_p": 443, "version": "TLSv12",
           "cipher": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "established": True,
           "cert_chain_fps": fps}
    row.update(extra)
    return row


def _x509(fingerprint, subject, issuer):
    return {"ts": 1700000000.0, "fingerprint": fingerprint, "certificate.subject": subject,
            "certificate.issuer": issuer, "certificate.not_valid_after": 1900000000.0}


def _conn(uid, src, dest, port, duration):
    return {"ts": 1700000000.0, "uid": uid, "id.orig_h": src, "id.orig_p": 50100,
            "id.resp_h": dest, "id.resp_p": port, "proto": "tcp", "service": "ssh",
            "duration": duration, "orig_bytes": 5000, "resp_bytes": 9000, "conn_state": "SF"}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _notables(tmp_path, ssl=(), x509=(), conn=()):
    files = [_write(tmp_path / "ssl.json", ssl) + ":bro:ssl:json",
             _write(tmp_path / "x509.json", x509) + ":bro:x509:json",
             _write(tmp_path / "conn.log", conn)]
    return {(n.fields["src"], n.fields["dest"]): n for n in hunt(files, names=[SEARCH])}


def test_certificates_are_joined_from_x509_and_judged(tmp_path):
    found = _notables(tmp_path, ssl=[
        _ssl("C1", "10.1.1.5", "198.51.100.7", ["cs"], server_name="198.51.100.7"),
        _ssl("C2", "10.1.1.6", "203.0.113.9", ["widgits"], server_name="www.example.org"),
        _ssl("C3", "10.1.1.7", "203.0.113.10", ["good"], server_name="www.example.com"),
        _ssl("C4", "10.1.1.8", "10.9.9.9", ["internal"], server_name="printer.corp"),
    ], x509=[
        _x509("cs", CS_SUBJECT, CS_SUBJECT),
        _x509("widgits", "CN=www.example.org,O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
              LE_ISSUER),
        _x509("good", "CN=www.example.com", LE_ISSUER),
        _x509("internal", "CN=printer.corp", "CN=printer.corp"),
    ])
    cobalt = found[("10.1.1.5", "198.51.100.7")]
    assert cobalt.signal == "TLS_C2_Framework_Certificate"
    assert {"TLS_Self_Signed_Certificate", "TLS_IP_Literal_SNI"} <= set(cobalt.fields["signals"])
    assert int(float(cobalt.risk_score)) == 90
    placeholder = found[("10.1.1.6", "203.0.113.9")]
    assert placeholder.signal == "TLS_Placeholder_Certificate"
    # A public CA's certificate and a self-signed one inside the network stay quiet.
    assert set(found) == {("10.1.1.5", "198.51.100.7"), ("10.1.1.6", "203.0.113.9")}


def test_known_c2_fingerprints_match_by_type(tmp_path):
    trickbot_ja3 = "6734f37431670b3ab4292b8f60f29984"
    found = _notables(tmp_path, ssl=[
        _ssl("C1", "10.1.1.5", "198.51.100.7", ["a"], server_name="netflix.com", ja3=trickbot_ja3,
             ja3s="623de93db17d313345d7ea481e7443cf"),
        # A JA3S that happens to equal a listed client JA3 is not a match.
        _ssl("C2", "10.1.1.6", "198.51.100.8", ["b"], server_name="www.example.com",
             ja3s=trickbot_ja3),
    ], x509=[_x509("a", "CN=netflix.com", LE_ISSUER), _x509("b", "CN=www.example.com", LE_ISSUER)])
    assert set(found) == {("10.1.1.5", "198.51.100.7")}
    notable = found[("10.1.1.5", "198.51.100.7")]
    assert notable.fields["c2_family"] == "Trickbot"
    assert {"TLS_Known_C2_JA3", "TLS_Known_C2_JA3S"} <= set(notable.fields["signals"])


def test_long_connections_to_outside_addresses(tmp_path):
    found = _notables(tmp_path, conn=[
        _conn("C1", "10.1.1.7", "198.51.100.99", 22, 40000.0),     # reverse SSH all day
        _conn("C2", "10.1.1.7", "10.2.2.2", 22, 40000.0),          # internal admin session
        _conn("C3", "10.1.1.8", "198.51.100.98", 443, 3000.0),     # under the threshold
    ])
    assert set(found) == {("10.1.1.7", "198.51.100.99")}
    assert found[("10.1.1.7", "198.51.100.99")].signal == "Long_Connection_TCP"


def test_zeek_validation_counts_only_a_self_signed_leaf(tmp_path):
    found = _notables(tmp_path, ssl=[
        _ssl("C1", "10.1.1.5", "198.51.100.7", [], server_name="c2.example.net",
             validation_status="self signed certificate"),
        # A TLS-inspection proxy's own root in every chain.
        _ssl("C2", "10.1.1.6", "198.51.100.8", [], server_name="www.example.com",
             validation_status="self signed certificate in certificate chain"),
    ])
    assert set(found) == {("10.1.1.5", "198.51.100.7")}
    assert found[("10.1.1.5", "198.51.100.7")].signal == "TLS_Self_Signed_Certificate"


def test_ja4_entries_added_by_the_user_match(tmp_path):
    lookups = tmp_path / "lookups"
    lookups.mkdir()
    shipped = (ROOT / "lookups" / "c2hunt_tls_c2_fingerprints.csv").read_text()
    (lookups / "c2hunt_tls_c2_fingerprints.csv").write_text(
        shipped + "t13d1516h2_8daaf6152771_e5627efa2ab1,ja4,Example C2,local threat intel,test entry\n")
    files = [_write(tmp_path / "ssl.json", [
        _ssl("C1", "10.1.1.5", "198.51.100.7", [], server_name="a.example.net",
             ja4="t13d1516h2_8daaf6152771_e5627efa2ab1")]) + ":bro:ssl:json"]
    [notable] = hunt(files, names=[SEARCH], lookup_dir=str(lookups))
    assert notable.signal == "TLS_Known_C2_JA4" and notable.fields["c2_family"] == "Example C2"
