#!/usr/bin/python3
"""One boot mode, as sushy and Ironic read it.

Ironic takes a node's boot mode from Boot.BootSourceOverrideMode
(sushy's system.boot.mode). This checks, with sushy 4.3.3, that it always
says the mode the host boots in next: (a) BIOS BootMode Legacy set through
Bios/Settings reads back Legacy before and after the boot; Ironic's
set_boot_mode (set_system_boot_options(mode=...), override Disabled)
changes the BIOS BootMode; (b) a one-time Legacy Pxe override reads Legacy
until consumed, then the BIOS's UEFI again. Secure Boot does not run in a
Legacy boot and cannot be enabled with BootMode Legacy.

Exits 0 on success, 1 on a failed check, 2 on an unexpected exception.

usage: sushy_boot_mode.py --url URL --username U --password P --system PATH
"""

import argparse
import os
import sys
import time
import warnings

import sushy
from sushy import exceptions as sushy_exc
from sushy.resources.system import constants as sc
from flow import CheckFailed, check, run_checked, step

LEGACY, UEFI = sc.BootSourceOverrideMode.LEGACY, sc.BootSourceOverrideMode.UEFI


def boot_events(conn, system):
    path = system.json["LogServices"]["@odata.id"] + "/EventLog/Entries"
    return [e.get("Message", "") for e in conn._conn.get(path).json()["Members"]
            if "booting from" in e.get("Message", "")]


def reboot(conn, system, on):
    """ForceRestart (or On) and wait for the boot's event; return it."""
    n = len(boot_events(conn, system))
    system.reset_system(sushy.RESET_FORCE_RESTART if on else sushy.RESET_ON)
    deadline = time.monotonic() + 30
    while len(boot_events(conn, system)) <= n:
        check(time.monotonic() < deadline, "no boot after the reset")
        time.sleep(0.1)
    ev = boot_events(conn, system)[-1]
    print("     event: %s" % ev, flush=True)
    return ev


def mode_is(system, want, when):
    system.refresh()
    got = system.boot.mode
    print("     system.boot.mode %s (enabled %s)" % (got, system.boot.enabled), flush=True)
    check(got == want, "%s: system.boot.mode %s, want %s" % (when, got, want))


def run(args):
    step("connect to %s (sushy %s)" % (args.url, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username, password=args.password, verify=False)
    if not os.path.isdir(os.path.join(os.path.dirname(sushy.__file__), "standard_registries")):
        conn._get_standard_message_registry_collection = lambda: []
    system = conn.get_system(args.system)
    mode_is(system, UEFI, "factory")

    step("Secure Boot on (UEFI), then (a) BIOS BootMode Legacy")
    system.secure_boot.set_enabled(True)
    system.bios.set_attributes({"BootMode": "Legacy"})
    mode_is(system, LEGACY, "BootMode Legacy pending")
    ev = reboot(conn, system, on=False)
    check("in Legacy mode" in ev, "boot event %s" % ev)
    mode_is(system, LEGACY, "after the Legacy boot")
    sb = system.secure_boot
    sb.refresh()
    check(sb.enabled and sb.current_boot == sc.SecureBootCurrentBoot.DISABLED,
          "SecureBoot in a Legacy boot: enable %s current %s" % (sb.enabled, sb.current_boot))
    ev = reboot(conn, system, on=True)
    check("in Legacy mode" in ev, "second boot event %s" % ev)
    mode_is(system, LEGACY, "after the second Legacy boot")

    step("SecureBootEnable true with BootMode Legacy is refused")
    sb.set_enabled(False)
    try:
        sb.set_enabled(True)
        raise CheckFailed("SecureBootEnable true accepted with BootMode Legacy")
    except sushy_exc.BadRequestError as e:
        ids = [m["MessageId"].rsplit(".", 1)[-1] for m in e.body.get("@Message.ExtendedInfo", [])]
        check(ids == ["PropertyValueConflict"], "refused with %s" % ids)

    step("Ironic's set_boot_mode: set_system_boot_options(mode=UEFI)")
    system.set_system_boot_options(mode=UEFI)
    mode_is(system, UEFI, "read back at once")
    check(system.bios.pending_attributes.get("BootMode") == "UEFI",
          "BIOS BootMode pending %s" % system.bios.pending_attributes)
    ev = reboot(conn, system, on=True)
    check("in UEFI mode" in ev, "boot event %s" % ev)
    mode_is(system, UEFI, "after the UEFI boot")

    step("(b) one-time Pxe in Legacy, consumed")
    system.set_system_boot_options(target=sushy.BOOT_SOURCE_TARGET_PXE,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE, mode=LEGACY)
    mode_is(system, LEGACY, "one-time Legacy override armed")
    ev = reboot(conn, system, on=True)
    check("from Pxe in Legacy mode" in ev, "boot event %s" % ev)
    mode_is(system, UEFI, "override consumed")
    ev = reboot(conn, system, on=True)
    check("in UEFI mode" in ev, "boot event %s" % ev)
    mode_is(system, UEFI, "after the next boot")
    system.reset_system(sushy.RESET_FORCE_OFF)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for a in ("--url", "--username", "--password", "--system"):
        p.add_argument(a, required=True)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    return run_checked(run, args, "OK: sushy boot mode flow passed")


if __name__ == "__main__":
    sys.exit(main())
