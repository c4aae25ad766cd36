#!/usr/bin/python3
"""Run Debian's python3-ironic without its service packages.

python3-ironic ships Ironic's modules but not its console scripts (those
come with ironic-api and ironic-conductor, with their systemd units and
database set-up). This does what the `ironic-dbsync` and all-in-one
`ironic` scripts do:

    ironic_standalone.py dbsync --config-file ironic.conf create_schema
    ironic_standalone.py serve --config-file ironic.conf

`serve` runs the API and the conductor in one process (rpc_transport =
none) until SIGTERM.
"""

import sys


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("dbsync", "serve"):
        sys.exit(__doc__)
    command = sys.argv.pop(1)
    if command == "dbsync":
        sys.argv[0] = "ironic-dbsync"
        from ironic.cmd import dbsync
        dbsync.main()
    else:
        sys.argv[0] = "ironic"
        from ironic.cmd import singleprocess
        singleprocess.main()


if __name__ == "__main__":
    main()
