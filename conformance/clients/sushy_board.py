#!/usr/bin/python3
"""One step of Ironic's Redfish flow, done with sushy, against a board
system (hardware/board, in conformance/board_vm_test.go's VM): the Go test
runs it once per step and checks in between what reached the board.

Steps:
  boot-cd         set a one-time boot override to Cd, as Ironic does before
                  a virtual-media boot; the board has no boot control, so
                  the PATCH must succeed and change nothing
  insert URL      insert URL into the CD virtual media (write-protected)
  eject           eject the CD
  reset TYPE      reset_system(TYPE): On, ForceOff, ForceRestart...
  wait-power S    poll get_system().power_state until it is S (On, Off)

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_board.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --system /redfish/v1/Systems/board STEP [ARG]
"""

import argparse
import sys
import warnings

import sushy
from flow import check, find_cd, info, run_checked, step, \
    system_virtual_media, wait_power


def the_cd(system):
    cd = find_cd(system_virtual_media(system))
    check(cd is not None, "no CD virtual media")
    return cd


def run(args):
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    system = conn.get_system(args.system)
    step("%s %s (power %s)" % (args.step, args.arg or "",
                               system.power_state.value))
    if args.step == "boot-cd":
        system.set_system_boot_options(
            sushy.BOOT_SOURCE_TARGET_CD,
            enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
        system.refresh()
        info("boot after PATCH: target %s, enabled %s" % (
            system.boot.target, system.boot.enabled))
    elif args.step == "insert":
        cd = the_cd(system)
        cd.insert_media(args.arg, inserted=True, write_protected=True)
        cd.refresh()
        check(cd.inserted and cd.image == args.arg,
              "after insert_media: inserted %s, image %s" % (
                  cd.inserted, cd.image))
        info("inserted %s" % cd.image)
    elif args.step == "eject":
        cd = the_cd(system)
        cd.eject_media()
        cd.refresh()
        check(not cd.inserted, "still inserted after eject_media")
    elif args.step == "reset":
        rt = sushy.ResetType(args.arg)
        check(rt in system.get_allowed_reset_system_values(),
              "%s not an allowed reset" % args.arg)
        system.reset_system(rt)
    elif args.step == "wait-power":
        wait_power(system, sushy.PowerState(args.arg), timeout=60)
        info("power %s" % args.arg)
    else:
        raise AssertionError("unknown step %s" % args.step)


def main():
    warnings.filterwarnings("ignore")
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", required=True)
    p.add_argument("step")
    p.add_argument("arg", nargs="?")
    args = p.parse_args()
    return run_checked(run, args, "OK: %s" % args.step)


if __name__ == "__main__":
    sys.exit(main())
