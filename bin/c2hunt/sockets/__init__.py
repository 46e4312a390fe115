"""Socket inventory for the c2sockets modular input: which process holds a raw, ICMP,
packet (or, on request, listening TCP/UDP) socket. Reads /proc only; opens no socket."""
