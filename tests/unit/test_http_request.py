"""HTTP request facts c2flow reads from a flow's first payload (c2hunt.capture.http_request)."""
from c2hunt.capture.http_request import HTTP_FIELDS, request_fields

FIREFOX = (b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com:8080\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
           b"Accept: text/html\r\nAccept-Language: en-US\r\n\r\n")


def test_request_line_and_headers():
    fields = request_fields(FIREFOX + b"HTTP/1.1 200 OK\r\n\r\n")
    assert fields == {"http_method": "GET", "http_host": "www.example.com", "http_uri_length": 15,
                      "http_user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                                         "Firefox/128.0",
                      "http_header_names": "host,user-agent,accept,accept-language"}
    assert list(fields) == [name for name in HTTP_FIELDS if name in fields]


def test_ipv6_literal_host_keeps_its_address():
    fields = request_fields(b"POST / HTTP/1.0\r\nHost: [2001:db8::1]:80\r\n\r\n")
    assert fields["http_host"] == "2001:db8::1" and "http_user_agent" not in fields


def test_not_a_request_or_cut_off():
    assert request_fields(b"") == {}
    assert request_fields(b"\x16\x03\x01\x00") == {}
    assert request_fields(b"GET / SPDY/3\r\n\r\n") == {}
    # the sample ends inside a header: the whole headers before it count
    cut = request_fields(b"GET /a HTTP/1.1\r\nHost: x.example\r\nUser-Ag")
    assert cut["http_host"] == "x.example" and cut["http_header_names"] == "host"
    assert request_fields(b"GET /a HTTP/1.1\r\n\xff\xfe garbage") == {"http_method": "GET",
                                                                      "http_uri_length": 2}
