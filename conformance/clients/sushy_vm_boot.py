#!/usr/bin/python3
"""OpenStack Ironic's Redfish virtual-media deployment of a virtual machine.

The steps Ironic's redfish hardware type takes to boot a node from a
virtual CD, done with sushy against a System whose backend is a real VM:
session login, power off, eject, a one-time CD override in the mode the
node boots in, insert_media, power on, the override consumed by a CD boot
of the image (the event log), then the guest, which halts itself after
booting the test ISO, seen powered off; eject and log out.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_vm_boot.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --image-url http://127.0.0.1:8080/boot.iso \
           --system /redfish/v1/Systems/vm0
"""

import argparse
import sys
import warnings

import sushy
from sushy import auth as sushy_auth
from flow import check, find_cd, info, run_checked, step, wait_for, wait_power


def boot_messages(conn, system):
    path = system.json["LogServices"]["@odata.id"]
    msgs = []
    for svc in conn._conn.get(path).json()["Members"]:
        doc = conn._conn.get(svc["@odata.id"]).json()
        entries = conn._conn.get(doc["Entries"]["@odata.id"]).json()
        msgs.extend(e.get("Message", "") for e in entries["Members"])
    return [m for m in msgs if "booting from" in m]


def run(args):
    step("connect to %s as %s (sushy %s)" % (
        args.url, args.username, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    auth = conn._auth
    check(isinstance(auth, sushy_auth.SessionOrBasicAuth) and
          auth.can_refresh_session(), "no session")

    step("get_system %s" % args.system)
    system = conn.get_system(args.system)
    info("power %s, uuid %s, boot mode %s" % (
        system.power_state.value, system.uuid, system.boot.mode))
    check(system.uuid, "no UUID")
    check(sushy.BOOT_SOURCE_TARGET_CD in
          system.get_allowed_system_boot_source_values(), "Cd not allowed")
    resets = system.get_allowed_reset_system_values()
    for r in (sushy.RESET_ON, sushy.RESET_FORCE_OFF):
        check(r in resets, "%s not an allowed reset" % r)
    macs = system.ethernet_interfaces.summary
    info("MACs: %s" % ", ".join(sorted(macs)))
    check(macs, "no MAC addresses")
    mode = system.boot.mode
    check(mode in (sushy.BOOT_SOURCE_MODE_BIOS, sushy.BOOT_SOURCE_MODE_UEFI),
          "boot mode %s" % mode)

    step("ensure power off before deploying")
    if system.power_state != sushy.SYSTEM_POWER_STATE_OFF:
        system.reset_system(sushy.RESET_FORCE_OFF)
        wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)

    step("eject any inserted media, find the CD through the Manager")
    cd = find_cd(system.managers[0].virtual_media)
    check(cd is not None, "no CD/DVD virtual media device")
    if cd.inserted:
        cd.eject_media()
        cd.refresh()
    check(not cd.inserted, "still inserted")

    step("set_system_boot_options(CD, Once, %s)" % mode.value)
    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_CD,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
                                   mode=mode)
    system.refresh()
    check(system.boot.target == sushy.BOOT_SOURCE_TARGET_CD and
          system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_ONCE,
          "override %s/%s" % (system.boot.target, system.boot.enabled))

    step("insert_media %s" % args.image_url)
    cd.insert_media(args.image_url, inserted=True, write_protected=True)
    cd.refresh()
    check(cd.inserted and cd.image == args.image_url,
          "inserted %s, image %r" % (cd.inserted, cd.image))
    before = len(boot_messages(conn, system))

    step("reset_system(On) and poll power_state")
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON, timeout=60)

    step("the VM booted the CD and consumed the one-time override")
    wait_for("the boot in the event log",
             lambda: len(boot_messages(conn, system)) > before, timeout=60)
    msg = boot_messages(conn, system)[before]
    info("event log: %s" % msg)
    check("from Cd" in msg and args.image_url in msg, "booted: %s" % msg)
    system.refresh()
    check(system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_DISABLED,
          "override still %s" % system.boot.enabled)

    step("the guest halts itself: power_state Off")
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF, timeout=90)

    step("eject_media")
    cd.eject_media()
    cd.refresh()
    check(not cd.inserted and not cd.image, "still %r" % cd.image)

    step("log out")
    auth.close()
    check(auth.get_session_key() is None, "session key kept")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--image-url", required=True)
    p.add_argument("--system", required=True)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy VM virtual-media boot passed")


if __name__ == "__main__":
    sys.exit(main())
