#!/usr/bin/python3
"""BIOS settings and the UEFI boot order, driven with sushy.

What OpenStack Ironic's redfish BIOS interface does (the attribute
registry, then set_attributes checked against it) and what a client of
ComputerSystem.Boot does beyond the override (BootOrder, BootNext with
UefiBootNext, BootOptions). Debian's python3-sushy 4.3.3 has no API for
the boot order, so those go through sushy's own connection, as Ironic's
vendor code does. Written for sushy 4.3.3.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_bios_boot.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --system /redfish/v1/Systems/0
"""

import argparse
import os
import sys
import time
import warnings

import sushy
from sushy import exceptions as sushy_exc
from flow import CheckFailed, check, info, run_checked, step, wait_power


def refused(call, *args, **kwargs):
    """Run a call that must fail with 400; return its ExtendedInfo as
    (MessageId key, MessageArgs) pairs."""
    try:
        call(*args, **kwargs)
    except sushy_exc.BadRequestError as e:
        msgs = e.body.get("@Message.ExtendedInfo", [])
        return [(m["MessageId"].rsplit(".", 1)[-1], m.get("MessageArgs", []))
                for m in msgs]
    raise CheckFailed("%s was accepted" % (call.__name__,))


def boot_events(conn, system):
    path = system.json["LogServices"]["@odata.id"] + "/EventLog/Entries"
    # The registry's text, then how the firmware chose (Oem.bmcd.Detail).
    return [e.get("Message", "") + " " + e.get("Oem", {}).get("bmcd", {}).get("Detail", "")
            for e in conn._conn.get(path).json()["Members"]
            if "booting from" in e.get("Message", "")]


def run(args):
    step("connect to %s (sushy %s)" % (args.url, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    packaged = os.path.join(os.path.dirname(sushy.__file__), "standard_registries")
    if not os.path.isdir(packaged):
        # Debian's python3-sushy 4.3.3 ships without sushy/standard_registries/,
        # so Sushy.registries fails (FileNotFoundError) before it asks the
        # service for its registries. Ask the service only.
        info("no %s: using the service's registries only" % packaged)
        conn._get_standard_message_registry_collection = lambda: []
    system = conn.get_system(args.system)
    info("system %s, power %s" % (system.identity, system.power_state.value))

    step("bios.get_attribute_registry (Ironic's BIOS registry cache)")
    bios = system.bios
    reg = bios.get_attribute_registry()
    check(reg is not None, "no attribute registry for %s (Bios.AttributeRegistry"
          " %s)" % (bios.path, bios.json.get("AttributeRegistry")))
    check(reg.identity == bios.json["AttributeRegistry"],
          "registry %s, Bios names %s" % (reg.identity, bios.json["AttributeRegistry"]))
    info("registry %s %s (%s) by %s" % (reg.identity, reg.registry_version,
                                        reg.language, reg.owning_entity))
    entries = {a.name: a for a in reg.registry_entries.attributes}
    for name in sorted(bios.attributes):
        check(name in entries, "attribute %s is not in the registry" % name)
        a = entries[name]
        info("%-20s %-11s read_only=%s default=%r values=%s bounds=%s..%s "
             "length=%s..%s" % (
                 name, a.attribute_type, a.read_only, a.default_value,
                 [v["ValueName"] for v in a.allowable_values or []],
                 a.lower_bound, a.upper_bound, a.min_length, a.max_length))
    turbo = entries["ProcTurboMode"]
    check(turbo.attribute_type == "Enumeration" and
          {v["ValueName"] for v in turbo.allowable_values} == {"Enabled", "Disabled"},
          "ProcTurboMode %s %s" % (turbo.attribute_type, turbo.allowable_values))
    nic = entries["PxeNicIndex"]
    check(nic.attribute_type == "Integer" and nic.lower_bound == 0 and
          nic.upper_bound is not None, "PxeNicIndex bounds %s..%s" % (
              nic.lower_bound, nic.upper_bound))
    check(entries["SystemBiosVersion"].read_only, "SystemBiosVersion writable")
    times = [getattr(t, "value", t) for t in bios.supported_apply_times]
    check(times == ["OnReset"], "SupportedApplyTimes %s" % times)

    step("set_attributes refused, attribute by attribute, nothing staged")
    msgs = refused(bios.set_attributes, {"ProcTurboMode": "Maybe", "AssetTag": "ok"})
    info("ProcTurboMode=Maybe: %s" % msgs)
    check(msgs == [("PropertyValueNotInList", ["Maybe", "/Attributes/ProcTurboMode"])],
          "messages %s" % msgs)
    msgs = refused(bios.set_attributes, {
        "NoSuchSetting": 1, "PxeNicIndex": nic.upper_bound + 1,
        "SystemBiosVersion": "0", "SriovGlobalEnable": "yes"})
    info("four bad attributes: %s" % msgs)
    check(sorted(msgs) == sorted([
        ("PropertyUnknown", ["/Attributes/NoSuchSetting"]),
        ("PropertyValueOutOfRange", [str(nic.upper_bound + 1), "/Attributes/PxeNicIndex"]),
        ("PropertyNotWritable", ["/Attributes/SystemBiosVersion"]),
        ("PropertyValueTypeError", ["yes", "/Attributes/SriovGlobalEnable"]),
    ]), "messages %s" % msgs)
    bios.refresh()
    check(not bios.pending_attributes, "staged after a refusal: %s" %
          bios.pending_attributes)

    step("set_attributes accepted: pending until the next boot")
    bios.set_attributes({"ProcTurboMode": "Disabled", "PxeNicIndex": nic.upper_bound,
                         "SriovGlobalEnable": True})
    bios.refresh()
    pending = bios.pending_attributes
    info("pending %s" % pending)
    check(pending == {"ProcTurboMode": "Disabled", "PxeNicIndex": nic.upper_bound,
                      "SriovGlobalEnable": True}, "pending %s" % pending)

    step("BootOptions and BootOrder")
    boot = system.json["Boot"]
    order = boot["BootOrder"]
    opts = conn._conn.get(boot["BootOptions"]["@odata.id"]).json()
    byref = {}
    for m in opts["Members"]:
        o = conn._conn.get(m["@odata.id"]).json()
        byref[o["BootOptionReference"]] = o
        info("%s %-9s %-45s %s" % (o["BootOptionReference"], o["Alias"],
                                   o["DisplayName"], o["UefiDevicePath"]))
    check(sorted(order) == sorted(byref), "order %s, options %s" % (order, sorted(byref)))
    pxe = [r for r in order if byref[r]["Alias"] == "Pxe"]
    disks = [r for r in order if byref[r]["Alias"] == "Hdd"]
    shell = [r for r in order if byref[r]["Alias"] == "UefiShell"]
    check(pxe and disks and shell, "no PXE, disk or shell option in %s" % order)

    step("PATCH Boot.BootOrder: refused with a duplicate, then set")
    msgs = refused(conn._conn.patch, system.path,
                   data={"Boot": {"BootOrder": [disks[0], pxe[0], disks[0]]}})
    info("duplicate: %s" % msgs)
    check(msgs == [("PropertyValueConflict", ["/Boot/BootOrder/2", "/Boot/BootOrder/0"])],
          "messages %s" % msgs)
    new_order = [pxe[0]] + disks
    conn._conn.patch(system.path, data={"Boot": {"BootOrder": new_order}})
    system.refresh()
    check(system.json["Boot"]["BootOrder"] == new_order,
          "BootOrder %s" % system.json["Boot"]["BootOrder"])

    step("BootNext + set_system_boot_options(UefiBootNext, Once)")
    check(sushy.BootSource.UEFI_BOOT_NEXT in system.get_allowed_system_boot_source_values(),
          "UefiBootNext not allowed")
    conn._conn.patch(system.path, data={"Boot": {"BootNext": shell[0]}})
    try:
        system.set_system_boot_options(sushy.BootSource.UEFI_BOOT_NEXT,
                                       enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS)
    except sushy_exc.BadRequestError as e:
        info("UefiBootNext Continuous refused: %s" % e.code)
    else:
        raise CheckFailed("UefiBootNext Continuous accepted")
    system.set_system_boot_options(sushy.BootSource.UEFI_BOOT_NEXT,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
    system.refresh()
    check(system.boot.target == sushy.BootSource.UEFI_BOOT_NEXT and
          system.json["Boot"]["BootNext"] == shell[0], "Boot %s" % system.json["Boot"])

    step("power on: BootNext boots once, the BIOS settings apply")
    if system.power_state != sushy.SYSTEM_POWER_STATE_OFF:
        system.reset_system(sushy.RESET_FORCE_OFF)
        wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
    ev = boot_events(conn, system)
    info("event: %s" % ev[-1])
    check(shell[0] in ev[-1] and "by boot override UefiBootNext" in ev[-1],
          "boot event %s" % ev[-1])
    system.refresh()
    check(system.json["Boot"]["BootNext"] is None and
          system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_DISABLED,
          "after the boot: %s" % system.json["Boot"])
    bios.refresh()
    check(bios.attributes["ProcTurboMode"] == "Disabled" and not bios.pending_attributes,
          "BIOS after the boot: %s pending %s" % (bios.attributes, bios.pending_attributes))
    # Ironic's BIOS interface asks whether the staged settings took effect.
    from sushy.resources import settings as sushy_settings
    st = bios.update_status
    info("update status %s: %s" % (st.status, [m.message for m in st.messages or []]))
    check(st.status == sushy_settings.UPDATE_SUCCESS, "update_status %s" % st.status)

    step("restart: the boot order applies")
    system.reset_system(sushy.RESET_FORCE_RESTART)
    deadline = time.monotonic() + 20
    while len(boot_events(conn, system)) < len(ev) + 1:
        check(time.monotonic() < deadline, "no second boot")
        time.sleep(0.1)
    last = boot_events(conn, system)[-1]
    info("event: %s" % last)
    check(pxe[0] in last and "by BootOrder" in last, "boot event %s" % last)
    system.reset_system(sushy.RESET_FORCE_OFF)
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", required=True)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy BIOS and boot order flow passed")


if __name__ == "__main__":
    sys.exit(main())
