"""c2hunt: the app's pure library. No splunkd imports here: bin/ adapters hand it columns.

* :mod:`c2hunt.scp`      search command protocol v2: framing, columns of a chunk, output
                         cells, options and value conversion, the command base classes;
* :mod:`c2hunt.capture`  the capture pipeline behind c2flow: pcap/pcapng -> packets ->
                         flows and DNS transactions, service names, checkpoints;
* :mod:`c2hunt.sockets`  the socket inventory behind c2sockets: /proc/net tables ->
                         socket records -> the processes holding them (reads /proc only);
* the kernels beside them (:mod:`~c2hunt.beacon`, :mod:`~c2hunt.entropy`,
  :mod:`~c2hunt.asym`, :mod:`~c2hunt.dns`), numpy in and out, used by both;
* :mod:`c2hunt.byteranges`  byte ranges of a buffer (gather, number, read as words),
                         shared by the chunk reader and the DNS name kernel.
"""
