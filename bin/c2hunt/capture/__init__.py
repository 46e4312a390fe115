"""The capture pipeline behind the c2flow modular input.

:mod:`.pcap` decodes pcap/pcapng into packet batches; :mod:`.flows` assembles them into
flow records (kernels from :mod:`c2hunt.entropy`); :mod:`.dns_wire` reads DNS
transactions from the same batches; :mod:`.services` names a flow's protocol from its
first payload bytes; :mod:`.checkpoint` and :mod:`.flow_input` decide which captures are
ready and remember which were read.
"""
