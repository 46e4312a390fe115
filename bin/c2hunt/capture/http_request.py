"""HTTP request facts from the first payload bytes of a flow (c2hunt:flow, service http).

What Zeek writes to http.log for a connection's first request, read from the flow's payload
sample (the first bytes of the record, both directions in capture order; an HTTP client
speaks first, so the sample starts with its request): ``http_method``, ``http_host`` (the
Host header, lower case, port removed), ``http_uri_length``, ``http_user_agent`` and
``http_header_names`` (the request's header names, lower case, in order, comma-separated;
Zeek's ``client_header_names``). A sample that does not start with a request line, or a
request whose header block is cut off, gives the fields read so far, never an error.

Why the header names: a browser sends ``Accept`` and ``Accept-Language`` with every request
it makes on its own; an implant that borrows a browser's User-Agent and builds its requests
with a bare HTTP library usually does not (AN1258 ``HTTP_Browser_Agent_Without_Browser_Headers``).
"""
__all__ = ["request_fields", "HTTP_FIELDS"]

#: Fields this module can add to a flow record, in output order.
HTTP_FIELDS = ("http_method", "http_host", "http_uri_length", "http_user_agent",
               "http_header_names")

_METHODS = frozenset((b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"CONNECT",
                      b"PATCH", b"TRACE", b"PROPFIND"))
_MAX_HEADERS = 64
_MAX_VALUE = 512


def _text(value):
    return value[:_MAX_VALUE].decode("latin-1").strip()


def request_fields(sample):
    """The HTTP fields of the request at the start of ``sample`` (bytes); {} when none."""
    head, _, _ = bytes(sample[:8192]).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] not in _METHODS or not parts[2].startswith(b"HTTP/1."):
        return {}
    fields = {"http_method": parts[0].decode("ascii"), "http_uri_length": len(parts[1])}
    names = []
    for line in lines[1:1 + _MAX_HEADERS]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            break                       # cut off mid-header, or not a header line
        name = _text(name).lower()
        names.append(name)
        if name == "host" and "http_host" not in fields:
            host = _text(value).lower()
            if host.startswith("["):
                host = host[1:host.find("]")] if "]" in host else host[1:]
            elif host.count(":") == 1:
                host = host.partition(":")[0]
            if host:
                fields["http_host"] = host
        elif name == "user-agent" and "http_user_agent" not in fields:
            fields["http_user_agent"] = _text(value)
    if names:
        fields["http_header_names"] = ",".join(names)
    return {name: fields[name] for name in HTTP_FIELDS if name in fields}
