#!/usr/bin/python3
"""Chassis and storage inventory as Ironic reads it, done with sushy.

Reads, through Debian's python3-sushy 4.3.3, what Ironic's redfish
inspection and RAID interfaces read: the Chassis's Thermal (temperatures
and fans, each identified by its MemberId) and Power (power control and
power supplies), the System's Storage (drives, the deprecated
StorageControllers array, the Controllers and Volumes collections) and
SimpleStorage, and checks what it gets back.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_inventory.py --url https://127.0.0.1:8443 --username admin \
           --password PASS [--system /redfish/v1/Systems/0]
"""

import argparse
import sys
import warnings

import sushy
from sushy.resources.chassis.power import constants as pow_cons
from flow import check, info, run_checked, step


def check_members(what, members):
    """MemberId is the member's index, and its @odata.id points there."""
    for i, m in enumerate(members):
        check(m.identity == str(i),
              "%s[%d] has MemberId %r, want %r" % (what, i, m.identity, str(i)))


def run(args):
    step("connect to %s (sushy %s)" % (args.url, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    system = conn.get_system(args.system)
    chassis_path = system.json["Links"]["Chassis"][0]["@odata.id"]
    chassis = conn.get_chassis(chassis_path)
    info("system %s, chassis %s" % (system.identity, chassis.identity))

    step("Chassis Thermal: temperatures and fans")
    thermal = chassis.thermal
    check(thermal.temperatures, "no temperatures")
    check(thermal.fans, "no fans")
    check_members("Temperatures", thermal.temperatures)
    check_members("Fans", thermal.fans)
    for t in thermal.temperatures:
        info("%s: %s C (max range %s)" % (t.name, t.reading_celsius,
                                          t.max_reading_range_temp))
        check(t.status is not None, "%s has no Status" % t.name)
    for f in thermal.fans:
        info("%s: %s %s (range %s..%s)" % (f.name, f.reading,
                                            f.reading_units, f.min_reading_range,
                                            f.max_reading_range))
        check(f.max_reading_range, "%s has no MaxReadingRange" % f.name)

    step("Chassis Power: power supplies")
    power = chassis.power
    check(len(power.power_supplies) == 2,
          "%d power supplies, want 2" % len(power.power_supplies))
    check_members("PowerSupplies", power.power_supplies)
    out = 0
    for p in power.power_supplies:
        info("%s: %s, %s V in, %s W of %s W out, firmware %s, serial %s" % (
            p.name, p.power_supply_type, p.line_input_voltage,
            p.last_power_output_watts, p.power_capacity_watts,
            p.firmware_version, p.serial_number))
        check(p.power_supply_type == pow_cons.PowerSupplyType.AC,
              "%s: type %s" % (p.name, p.power_supply_type))
        check(p.line_input_voltage_type ==
              pow_cons.LineInputVoltageType.AC_240V,
              "%s: line input %s" % (p.name, p.line_input_voltage_type))
        check(p.power_capacity_watts and p.line_input_voltage,
              "%s: no capacity or input voltage" % p.name)
        check(p.serial_number and p.firmware_version,
              "%s: no serial number or firmware version" % p.name)
        check(p.status.health == sushy.HEALTH_OK,
              "%s: health %s" % (p.name, p.status.health))
        check(p.input_ranges and p.input_ranges[0].output_wattage,
              "%s: no input ranges" % p.name)
        out += p.last_power_output_watts or 0
    check(out > 0, "the supplies deliver no power")

    step("Storage: drives, controllers, volumes")
    storages = system.storage.get_members()
    check(len(storages) == 1, "%d storage subsystems" % len(storages))
    st = storages[0]
    sizes = st.drives_sizes_bytes
    info("drives: %s" % sizes)
    check(len(sizes) == 3 and all(sizes), "drives %s" % sizes)
    # What Ironic's RAID interface reads: the first controller of the
    # deprecated array; an empty RAID type list would mean "no RAID here".
    check(len(st.storage_controllers) == 1,
          "%d StorageControllers" % len(st.storage_controllers))
    ctl = st.storage_controllers[0]
    check(ctl.member_id == "0", "StorageControllers[0] MemberId %r" %
          ctl.member_id)
    raid = sorted(t.value for t in ctl.raid_types)
    check(raid == ["RAID0", "RAID1"],
          "RAID types %s, want RAID0 and RAID1" % raid)
    info("controller %s: %s, devices %s, RAID %s" % (
        ctl.name, ctl.controller_protocols, ctl.device_protocols, raid))
    controllers = st.controllers.get_members()
    check(len(controllers) == 1, "%d Controllers" % len(controllers))
    check(controllers[0].name == ctl.name and
          sorted(t.value for t in controllers[0].raid_types) == raid,
          "Controllers member %s differs from the array's %s" % (
              controllers[0].name, ctl.name))
    check(st.volumes.volumes_sizes_bytes == [],
          "volumes %s before any was created" %
          st.volumes.volumes_sizes_bytes)

    step("SimpleStorage names the same drives")
    simple = system.simple_storage.get_members()
    check(len(simple) == 1, "%d SimpleStorage" % len(simple))
    simple_sizes = sorted(d.capacity_bytes for d in simple[0].devices)
    check(simple_sizes == sorted(sizes),
          "SimpleStorage %s, Storage %s" % (simple_sizes, sizes))
    check(simple[0].json["Links"]["Storage"]["@odata.id"] == st.path,
          "SimpleStorage does not link %s" % st.path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", default=None)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy inventory passed")


if __name__ == "__main__":
    sys.exit(main())
