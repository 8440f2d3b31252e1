"""meshctl: the command line for people."""
