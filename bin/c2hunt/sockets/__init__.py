"""Socket inventory for the c2sockets modular input: which process holds a raw, ICMP,
packet or vsock (or, on request, listening TCP/UDP) socket. Reads /proc; the only socket it
opens is a netlink sock_diag one."""
