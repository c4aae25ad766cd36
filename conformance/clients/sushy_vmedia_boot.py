#!/usr/bin/python3
"""Ironic's virtual-media boot, done with sushy, on a machine that boots.

The deployment steps of OpenStack Ironic's redfish-virtual-media boot
interface (what sushy_ironic_flow.py checks against the simulation), run
against a system whose host really boots the image, a virtual machine:
session login, inspection, power off, the CD found through the Manager and
emptied, a one-time boot from the CD in the mode asked, the image
inserted, power on, the override consumed by a CD boot of that image; then
the guest, whose image powers it off when it has printed its marker, is
seen off; the CD is ejected. Written for Debian's python3-sushy 4.3.3.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_vmedia_boot.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --system /redfish/v1/Systems/ID \
           --image-url http://127.0.0.1:8080/boot.iso [--mode UEFI|Legacy]
"""

import argparse
import sys
import warnings

import sushy
from flow import check, info, run_checked, step, wait_power
from flow import find_cd, system_virtual_media
from sushy_ironic_flow import event_messages, log_out


def run(args):
    step("connect to %s as %s (sushy %s, session auth)" % (
        args.url, args.username, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    auth = conn._auth
    check(auth.can_refresh_session(), "no session: sushy fell back to Basic")
    session_uri = auth.get_session_resource_id()

    step("get_system %s" % args.system)
    system = conn.get_system(args.system)
    info("system %s: power %s, uuid %s" % (
        system.identity, system.power_state.value, system.uuid))
    check(sushy.BOOT_SOURCE_TARGET_CD in
          system.get_allowed_system_boot_source_values(),
          "Cd is not an allowed boot source")

    step("out-of-band inspection")
    macs = system.ethernet_interfaces.summary
    info("MACs: %s" % ", ".join(sorted(macs)))
    check(macs, "no MAC addresses")
    cpus = system.processors.summary
    info("CPUs: %s logical, %s" % (cpus.count, cpus.architecture))
    check(cpus.count, "no CPU count")
    check(system.memory_summary and system.memory_summary.size_gib,
          "no MemorySummary.TotalSystemMemoryGiB")

    step("power off before deploying")
    if system.power_state != sushy.SYSTEM_POWER_STATE_OFF:
        system.reset_system(sushy.RESET_FORCE_OFF)
        wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)

    step("the CD through the Manager, emptied")
    managers = system.managers
    check(managers, "the System has no Links.ManagedBy manager")
    cd = find_cd(managers[0].virtual_media)
    check(cd is not None, "no CD/DVD virtual media device")
    info("device %s" % cd.path)
    if cd.inserted:
        cd.eject_media()
        cd.refresh()
    check(not cd.inserted, "%s still inserted" % cd.path)

    mode = {"UEFI": sushy.BOOT_SOURCE_MODE_UEFI,
            "Legacy": sushy.BOOT_SOURCE_MODE_BIOS}[args.mode]
    step("set_system_boot_options(CD, Once, %s)" % args.mode)
    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_CD,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
                                   mode=mode)
    system.refresh()
    check(system.boot.target == sushy.BOOT_SOURCE_TARGET_CD and
          system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_ONCE and
          system.boot.mode == mode, "boot %s %s %s" % (
              system.boot.target, system.boot.enabled, system.boot.mode))

    step("insert_media %s" % args.image_url)
    cd.insert_media(args.image_url, inserted=True, write_protected=True)
    cd.refresh()
    check(cd.inserted and cd.image == args.image_url,
          "inserted %s, image %r" % (cd.inserted, cd.image))
    sys_cd = find_cd(system_virtual_media(system))
    check(sys_cd is not None and sys_cd.image == args.image_url,
          "the System's CD does not show the image")

    step("reset_system(On)")
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)

    step("the host booted the image from the CD; the override is consumed")
    system.refresh()
    check(system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_DISABLED,
          "override still %s after the boot" % system.boot.enabled)
    msgs = event_messages(conn, system)
    booted = [m for m in msgs if "from Cd" in m and args.image_url in m]
    check(booted, "no CD boot of the image in the event log: %s" % msgs)
    info("event log: %s" % booted[-1])

    step("the guest powers itself off")
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF, timeout=args.timeout)

    step("eject_media")
    cd.eject_media()
    cd.refresh()
    check(not cd.inserted and not cd.image,
          "after eject: inserted %s, image %r" % (cd.inserted, cd.image))

    log_out(args, conn, auth, session_uri)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", required=True, help="System path")
    p.add_argument("--image-url", required=True)
    p.add_argument("--mode", choices=("UEFI", "Legacy"), default="UEFI")
    p.add_argument("--timeout", type=float, default=90,
                   help="seconds the guest has to boot and power off")
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy virtual-media boot passed")


if __name__ == "__main__":
    sys.exit(main())
