#!/usr/bin/python3
"""Identify LED, refused PATCHes and resets, as sushy drives them.

Checks against a Redfish service, with Debian's python3-sushy 4.3.3:

- IndicatorLED: what sushy sets (Lit, Blinking, Off) reads back, on the
  System and on its Chassis, LocationIndicatorActive agrees, the allowable
  values are published, and setting the same value again leaves the ETag
  as it was;
- a PATCH with one valid and one invalid property is refused (400) and
  changes nothing (the LED stays off, the boot override stays);
- ForceRestart and GracefulRestart of a system that is off power it on;
- right after a ForceRestart the system is On, and Nmi and
  GracefulShutdown are carried out while it POSTs.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_behaviour.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --system /redfish/v1/Systems/0
"""

import argparse
import sys
import warnings

import sushy
from sushy import exceptions as sushy_exc
from flow import CheckFailed, check, run_checked, step, wait_power


def etag(conn, path):
    return conn._conn.get(path).headers.get("ETag")


def run(args):
    step("connect to %s (sushy %s)" % (args.url, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    system = conn.get_system(args.system)
    chassis = conn.get_chassis(
        system.json["Links"]["Chassis"][0]["@odata.id"])
    check(system.power_state == sushy.SYSTEM_POWER_STATE_OFF,
          "system starts %s, want off" % system.power_state)

    step("IndicatorLED reads back what was set, and is published")
    for res in (system, chassis):
        vals = res.json.get("IndicatorLED@Redfish.AllowableValues")
        check(sorted(vals or []) == ["Blinking", "Lit", "Off"],
              "%s IndicatorLED@Redfish.AllowableValues %s" % (res.path, vals))
    for res, led, active in (
            (system, sushy.INDICATOR_LED_LIT, True),
            (chassis, sushy.INDICATOR_LED_BLINKING, True),
            (system, sushy.INDICATOR_LED_OFF, False)):
        res.set_indicator_led(led)
        tags = {}
        for other in (system, chassis):
            other.refresh()
            check(other.indicator_led == led,
                  "%s shows %s after %s set %s" % (
                      other.path, other.indicator_led, res.path, led))
            check(other.json["LocationIndicatorActive"] is active,
                  "%s LocationIndicatorActive %s with %s" % (
                      other.path, other.json["LocationIndicatorActive"], led))
            tags[other.path] = etag(conn, other.path)
        res.set_indicator_led(led)  # again: nothing changes
        for other in (system, chassis):
            check(etag(conn, other.path) == tags[other.path],
                  "setting %s again changed %s's ETag" % (led, other.path))
        print("     %s: %s, ETag kept on a repeat" % (res.path, led.value),
              flush=True)

    step("a PATCH with a valid and an invalid property changes nothing")
    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_PXE,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
    system.refresh()
    before = etag(conn, system.path)
    for body in ({"IndicatorLED": "Lit",
                  "Boot": {"BootSourceOverrideTarget": "SDCard"}},
                 {"LocationIndicatorActive": True,
                  "Boot": {"BootSourceOverrideTarget": "Cd",
                           "BootSourceOverrideEnabled": "Twice"}}):
        try:
            conn._conn.patch(system.path, data=body)
        except sushy_exc.BadRequestError as e:
            print("     refused: %s" % e.code, flush=True)
        else:
            raise CheckFailed("PATCH %s accepted" % body)
        system.refresh()
        check(system.indicator_led == sushy.INDICATOR_LED_OFF,
              "the LED is %s after a refused PATCH" % system.indicator_led)
        check(system.boot.target == sushy.BOOT_SOURCE_TARGET_PXE,
              "the boot target is %s after a refused PATCH" %
              system.boot.target)
        check(etag(conn, system.path) == before,
              "a refused PATCH changed the system's ETag")

    step("ForceRestart and GracefulRestart power on a system that is off")
    for rt in (sushy.RESET_FORCE_RESTART, sushy.RESET_GRACEFUL_RESTART):
        system.reset_system(rt)
        wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
        system.reset_system(sushy.RESET_FORCE_OFF)
        wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)
        print("     %s from off: on" % rt.value, flush=True)
    try:
        system.reset_system(sushy.RESET_NMI)
    except sushy_exc.HTTPError as e:
        check(e.status_code == 409, "Nmi while off: %s" % e.status_code)
    else:
        raise CheckFailed("Nmi accepted with the power off")

    step("a warm reset keeps the power on; Nmi and soft off while POSTing")
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
    system.reset_system(sushy.RESET_FORCE_RESTART)
    system.refresh()
    check(system.power_state == sushy.SYSTEM_POWER_STATE_ON,
          "power state %s right after ForceRestart" % system.power_state)
    system.reset_system(sushy.RESET_NMI)
    system.reset_system(sushy.RESET_GRACEFUL_SHUTDOWN)
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", required=True)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy behaviour checks passed")


if __name__ == "__main__":
    sys.exit(main())
