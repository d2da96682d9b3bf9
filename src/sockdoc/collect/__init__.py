"""IO only: a Root (live host or bundle) reads files, runs commands, talks netlink."""
