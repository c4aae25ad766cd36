#!/usr/bin/python3
"""OpenStack Ironic's Redfish RAID configuration, done with sushy.

Runs against any Redfish service the steps Ironic's redfish RAID interface
(ironic/drivers/modules/redfish/raid.py) takes, through Debian's
python3-sushy 4.3.3:

- create_configuration: find the physical disks of the storage whose
  first StorageControllers member has RAID types (get_physical_disks),
  group them by (media type, protocol, capacity), pick two alike for a
  RAID1 of the largest size (_max_volume_size_bytes), read the
  VolumeCollection's @Redfish.OperationApplyTimeSupport, and
  VolumeCollection.create() the payload _construct_volume_payload builds
  (Encrypted, VolumeType, RAIDType, CapacityBytes, Links.Drives) with
  apply time OnReset, as Ironic does with a controller that stages
  changes: the answer is a task monitor, and Ironic reboots the node and
  polls the task until it completes (_check_node_raid_config);
- update_raid_config: read the volumes back (RAIDType, CapacityBytes);
- delete_configuration: Volume.delete() every RAID volume, with OnReset
  (a task, then a reboot) and with Immediate (what Ironic picks when the
  service offers it), after an Immediate create.

Refused creates (a drive already in a volume, RAID1 of one drive, a
capacity larger than the drives) must raise sushy's HTTPError with the
Base message that says so. The event log must record each volume created
and deleted.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_raid_flow.py --url https://127.0.0.1:8443 --username admin \\
           --password PASS [--system /redfish/v1/Systems/0]
"""

import argparse
import math
import sys
import time
import warnings

import sushy
from sushy import exceptions as sushy_exc
from sushy import taskmonitor
from flow import CheckFailed, RUNNING, check, get_task_monitor, info, run_checked, step, wait_for


GiB = 1 << 30
KiB = 1 << 10


def raid_config_in_progress(conn, uri):
    """Ironic's _raid_config_in_progress: the task, once it is no longer
    processing, or None while it is."""
    monitor = get_task_monitor(conn, uri)
    if monitor.is_processing:
        return None
    task = monitor.get_task()
    if task.task_state in RUNNING:
        # A task that answers as ended while its state says otherwise:
        # Ironic's periodic check would come back a minute later.
        return None
    return task


def wait_task(conn, uri, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        task = raid_config_in_progress(conn, uri)
        if task is not None:
            info("task %s: %s, %s, messages %s" % (
                task.identity, task.task_state.value,
                task.task_status.value if task.task_status else None,
                [m.message_id for m in task.messages or []]))
            return task
        if time.monotonic() > deadline:
            raise CheckFailed("task %s still pending after %.0fs" %
                              (uri, timeout))
        time.sleep(0.2)


def get_physical_disks(system):
    """Ironic's get_physical_disks: the drives of every storage whose
    first controller does not say it has no RAID."""
    disks, disk_to_storage = [], {}
    for storage in system.storage.get_members():
        controller = (storage.storage_controllers[0]
                      if storage.storage_controllers else None)
        if controller and controller.raid_types == []:
            continue
        disks.extend(storage.drives)
        for drive in storage.drives:
            disk_to_storage[drive] = storage
    return disks, disk_to_storage


def max_volume_size_bytes(raid_level, disks, stripe_size_kb=64 * KiB):
    """Ironic's _max_volume_size_bytes for RAID0 and RAID1."""
    size_kb = min(d.capacity_bytes for d in disks) // KiB
    stripes_per_disk = int(math.floor(float(size_kb) / stripe_size_kb))
    overhead = {"0": 0, "1": 1}[raid_level]
    return int(stripes_per_disk * stripe_size_kb *
               (len(disks) - overhead) * KiB)


def volume_payload(storage, drives, raid_level, size_bytes):
    """Ironic's _construct_volume_payload."""
    raid_type, volume_type = {"0": ("RAID0", "NonRedundant"),
                              "1": ("RAID1", "Mirrored")}[raid_level]
    return {"Encrypted": False, "VolumeType": volume_type,
            "RAIDType": raid_type, "CapacityBytes": size_bytes,
            "Links": {"Drives": [{"@odata.id": d._path} for d in drives]}}


def refused(what, volumes, payload, status, message_key):
    """A create sushy must refuse with status and a Base message_key."""
    try:
        volumes.create(payload, apply_time=sushy.APPLY_TIME_IMMEDIATE)
    except sushy_exc.HTTPError as e:
        keys = [m.get("MessageId", "") for m in
                e.body.get("@Message.ExtendedInfo", [])]
        info("%s: %s %s" % (what, e.status_code, keys))
        check(e.status_code == status, "%s: status %s, want %s" % (
            what, e.status_code, status))
        check(any(k.endswith("." + message_key) for k in keys),
              "%s: messages %s, want %s" % (what, keys, message_key))
        return
    raise CheckFailed("%s was accepted" % what)


def update_raid_config(conn, path):
    """Ironic's update_raid_config: the node's logical disks, read from a
    System fetched afresh (redfish_utils.get_system), as sushy's caches
    keep an empty member list through refresh()."""
    logical = []
    for stor in conn.get_system(path).storage.get_members():
        for vol in stor.volumes.get_members():
            if vol.raid_type:
                logical.append({"id": vol.identity, "name": vol.name,
                                "controller": stor.identity,
                                "size_gb": int(vol.capacity_bytes / GiB),
                                "raid_level": {"RAID0": "0", "RAID1": "1"}.get(
                                    vol.raid_type.value, "?")})
    return logical


def power_cycle(conn, path):
    """Ironic's reboot, to apply a staged change: a power cycle, on a
    System fetched afresh (refreshing one that cached a deleted volume
    fails)."""
    system = conn.get_system(path)
    system.reset_system(sushy.RESET_TYPE_POWER_CYCLE)
    wait_for("power on", lambda: (
        system.refresh() or
        system.power_state == sushy.SYSTEM_POWER_STATE_ON))


def log_entries(conn, system):
    """The System's log entries: (MessageId, OriginOfCondition)."""
    out = []
    svcs = conn._conn.get(system.json["LogServices"]["@odata.id"]).json()
    for svc in svcs["Members"]:
        doc = conn._conn.get(svc["@odata.id"]).json()
        entries = conn._conn.get(doc["Entries"]["@odata.id"]).json()
        out.extend((e.get("MessageId", ""),
                    e.get("Links", {}).get("OriginOfCondition", {}).get(
                        "@odata.id", "")) for e in entries["Members"])
    return out


def run(args):
    step("connect to %s as %s (sushy %s)" % (
        args.url, args.username, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    members = sorted(conn.get_system_collection().members_identities)
    path = args.system or members[0]
    system = conn.get_system(path)

    step("get_physical_disks: the drives of storage with RAID")
    disks, disk_to_storage = get_physical_disks(system)
    check(disks, "no physical disks behind a RAID controller")
    for d in disks:
        info("%s: %s %s %s, %s" % (d.identity, d.media_type, d.protocol,
                                   d.capacity_bytes, d._path))
        check(d._path.startswith("/redfish/v1/Chassis/"),
              "%s served at %s, not in its chassis" % (d.identity, d._path))
    storage = disk_to_storage[disks[0]]
    ctl = storage.storage_controllers[0]
    raid_types = sorted(t.value for t in ctl.raid_types)
    info("controller %s: RAID %s" % (ctl.name, raid_types))
    check("RAID1" in raid_types, "no RAID1 in %s" % raid_types)

    step("_find_configuration: two alike disks for a RAID1 of MAX size")
    by_type = {}
    for d in disks:
        by_type.setdefault((d.media_type, d.protocol, d.capacity_bytes),
                           []).append(d)
    pairs = [ds for ds in by_type.values() if len(ds) >= 2]
    check(pairs, "no two alike disks in %s" % list(by_type))
    mirror = sorted(pairs[0], key=lambda d: d.identity)[:2]
    size = max_volume_size_bytes("1", mirror)
    info("RAID1 over %s, %d bytes" % (
        [d.identity for d in mirror], size))

    step("the VolumeCollection's apply times")
    volumes = storage.volumes
    support = volumes.operation_apply_time_support
    check(support is not None, "no @Redfish.OperationApplyTimeSupport")
    supported = support.mapped_supported_values
    info("SupportedValues %s" % [v.value for v in supported])
    check(sushy.APPLY_TIME_ON_RESET in supported and
          sushy.APPLY_TIME_IMMEDIATE in supported,
          "SupportedValues %s" % supported)
    check(volumes.volumes_sizes_bytes == [], "volumes %s already" %
          volumes.volumes_sizes_bytes)

    step("create_virtual_disk with apply time OnReset: a task")
    payload = volume_payload(storage, mirror, "1", size)
    monitor = volumes.create(payload, apply_time=sushy.APPLY_TIME_ON_RESET)
    check(isinstance(monitor, taskmonitor.TaskMonitor),
          "create answered %r, not a task monitor" % monitor)
    uri = monitor.task_monitor_uri
    check(monitor.is_processing, "the task is not processing")
    check(monitor.task.task_state == sushy.TASK_STATE_PENDING,
          "task state %s, want Pending until the reboot" %
          monitor.task.task_state)
    info("task %s: %s" % (uri, monitor.task.task_state.value))
    volumes.refresh(force=True)
    check(volumes.members_identities == (),
          "a volume exists before the reboot: %s" %
          (volumes.members_identities,))
    check(raid_config_in_progress(conn, uri) is None,
          "the task ended before the reboot")

    step("refused creates")
    refused("the same drives again", volumes, payload, 409,
            "PropertyValueResourceConflict")
    refused("RAID1 of one drive", volumes,
            volume_payload(storage, mirror[:1], "1", size), 400,
            "PropertyValueConflict")
    refused("more than the drives hold", volumes,
            volume_payload(storage, [d for d in disks if d not in mirror][:1],
                           "0", 1 << 60), 400, "PropertyValueOutOfRange")

    step("reboot_to_finish_step: power cycle, then poll the task")
    power_cycle(conn, path)
    task = wait_task(conn, uri)
    check(task.task_state == sushy.TASK_STATE_COMPLETED and
          task.task_status in (sushy.HEALTH_OK, sushy.HEALTH_WARNING),
          "task %s, %s" % (task.task_state, task.task_status))

    step("update_raid_config: the volume")
    logical = update_raid_config(conn, path)
    info("logical disks %s" % logical)
    check(len(logical) == 1 and logical[0]["raid_level"] == "1" and
          logical[0]["size_gb"] == size // GiB,
          "logical disks %s" % logical)
    vol = conn.get_system(path).storage.get_members()[0].volumes.get_members()[0]
    check(vol.capacity_bytes == size and
          vol.raid_type == sushy.RAID_TYPE_RAID1,
          "volume %s %s" % (vol.capacity_bytes, vol.raid_type))
    drive_paths = sorted(d["@odata.id"] for d in
                         vol.json["Links"]["Drives"])
    check(drive_paths == sorted(d._path for d in mirror),
          "volume drives %s" % drive_paths)
    for d in mirror:
        d.refresh(force=True)
        in_vols = [v.path for v in d.volumes]
        check(in_vols == [vol.path], "%s is in %s" % (d.identity, in_vols))
    check(vol.operation_apply_time_support is not None,
          "the volume does not say when it can be deleted")

    step("delete_configuration with apply time OnReset: a task")
    monitor = vol.delete(apply_time=sushy.APPLY_TIME_ON_RESET)
    check(isinstance(monitor, taskmonitor.TaskMonitor),
          "delete answered %r" % monitor)
    del_uri = monitor.task_monitor_uri
    volumes.refresh(force=True)
    check(len(volumes.members_identities) == 1,
          "the volume is gone before the reboot")
    power_cycle(conn, path)
    task = wait_task(conn, del_uri)
    check(task.task_state == sushy.TASK_STATE_COMPLETED,
          "delete task %s" % task.task_state)
    check(update_raid_config(conn, path) == [], "volumes left after the reboot")

    step("create and delete at once (Ironic's choice when Immediate is "
         "offered)")
    single = [d for d in disks if d not in mirror][:1] or mirror[:1]
    new = volumes.create(volume_payload(storage, single, "0",
                                        max_volume_size_bytes("0", single)),
                         apply_time=sushy.APPLY_TIME_IMMEDIATE)
    check(new is not None and not isinstance(new, taskmonitor.TaskMonitor),
          "Immediate create answered %r" % new)
    info("volume %s: %s, %s bytes" % (new.path, new.raid_type,
                                      new.capacity_bytes))
    check(new.raid_type == sushy.RAID_TYPE_RAID0, "RAIDType %s" %
          new.raid_type)
    check(new.delete(apply_time=sushy.APPLY_TIME_IMMEDIATE) is None,
          "Immediate delete answered a task")
    check(update_raid_config(conn, path) == [], "volumes left")

    step("the event log records each volume created and deleted")
    entries = log_entries(conn, system)
    for key, vpath in (("ResourceCreated", vol.path),
                       ("ResourceRemoved", vol.path),
                       ("ResourceCreated", new.path),
                       ("ResourceRemoved", new.path)):
        check([e for e in entries if e[0].startswith("ResourceEvent.") and
               e[0].endswith("." + key) and e[1] == vpath],
              "no %s entry for %s: %s" % (key, vpath, entries[-8:]))

    step("log out")
    conn._auth.close()
    conn._auth = None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--system", default=None)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    return run_checked(run, args, "OK: sushy Ironic RAID flow passed")


if __name__ == "__main__":
    sys.exit(main())
