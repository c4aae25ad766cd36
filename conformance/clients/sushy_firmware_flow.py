#!/usr/bin/python3
"""OpenStack Ironic's Redfish firmware update, done with sushy.

Runs against any Redfish service the steps Ironic's redfish firmware
interface takes to update a node's BIOS: read the components it caches
(System.BiosVersion, the Manager's FirmwareVersion), find the
UpdateService and its FirmwareInventory, UpdateService.SimpleUpdate with
Targets naming the System (as Ironic does when the BMC has several), poll
the Task through sushy's task monitor, reset the System, and read the new
BiosVersion and FirmwareInventory version. With --https-image-url, an
image on an https server with its own (self-signed) certificate is then
updated with VerifyRemoteServerCertificate left at its default (false), as
Ironic and Metal3 leave it. An image served slowly from 127.0.0.1 (a
server in this script that sleeps between chunks) must keep
TaskMonitor.check_is_processing true until its Task ends: sushy polls the
Task's own URI, which must answer 202 while the task runs, or Ironic fails
the update. Then an image that is not there must end its Task in
Exception. Written for Debian's python3-sushy 4.3.3.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_firmware_flow.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --image-url http://127.0.0.1:8080/bios-2.5.0.bin \
           --version 2.5.0 --missing-url http://127.0.0.1:8080/nothing.bin \
           [--https-image-url https://127.0.0.1:8443/nic-22.40.0.bin \
            --https-version 22.40.0]
"""

import argparse
import http.server
import re
import sys
import threading
import time
import warnings

import sushy
from flow import CheckFailed, RUNNING, check, get_task_monitor, info, run_checked, step, wait_for


def wait_task(conn, uri, timeout=60.0):
    """Poll the task exactly as Ironic's periodic check does, until it ends.

    Ironic (ironic/drivers/modules/redfish/firmware.py,
    _check_node_firmware_update) keeps the monitor URI sushy gave it (the
    Task's own URI: TaskMonitor.from_response takes the @odata.id of the
    202 body), calls get_task_monitor(uri) and, as soon as is_processing
    is false, get_task(): a TaskState other than Completed then fails the
    update. So the Task must answer 202 while it runs, as real BMCs do;
    nothing here polls again.
    """
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        polls += 1
        monitor = get_task_monitor(conn, uri)
        if not monitor.is_processing:
            task = monitor.get_task()
            info("task %s (%s) after %d polls: %s, %s, %s%%" % (
                task.identity, uri, polls, task.task_state.value,
                task.task_status.value if task.task_status else None,
                task.percent_complete))
            for m in task.messages or []:
                info("  %s: %s" % (m.message_id, m.message))
            check(task.task_state not in RUNNING,
                  "is_processing is false while the task is %s: Ironic "
                  "would fail the update" % task.task_state.value)
            return task
        if time.monotonic() > deadline:
            raise CheckFailed("task %s still running after %.0fs" % (uri, timeout))
        time.sleep(0.2)


class SlowImage(object):
    """An image server on 127.0.0.1 that sends in chunks, sleeping between
    them, so the update's Task runs for a while."""

    def __init__(self, name, chunks=8, chunk_size=16 << 10, pause=0.25):
        body = b"\x7fFW" + b"\0" * (chunks * chunk_size - 3)
        state = {"done": None, "sent": 0}
        self.state = state

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/" + name:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(0, len(body), chunk_size):
                    if i:
                        time.sleep(pause)
                    self.wfile.write(body[i:i + chunk_size])
                    self.wfile.flush()
                    state["sent"] += 1
                state["done"] = time.monotonic()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/%s" % (self.server.server_port, name)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def version_form(version):
    """A version string with its numbers blanked: "SIM 2.4.1 (2026-06-01)"
    and "SIM 2.5.0 (2026-11-29)" have the same form."""
    return re.sub(r"[0-9]+", "N", version or "")


def bios_entry(update_service, system_path, staged=False):
    """The FirmwareInventory member for the System's BIOS."""
    inventory = update_service.firmware_inventory
    # sushy caches the collection and its get_members(); read it afresh.
    inventory.refresh(force=True)
    for fw in [inventory.get_member(i) for i in inventory.members_identities]:
        related = [r.get("@odata.id", "").rstrip("/")
                   for r in fw.related_item or []]
        if system_path.rstrip("/") not in related:
            continue
        is_staged = fw.json.get("Staged") is True
        if "BIOS" in fw.identity.upper() and is_staged == staged:
            return fw
    return None


def inventory_versions(update_service):
    """The version of each FirmwareInventory member, by Id."""
    inventory = update_service.firmware_inventory
    inventory.refresh(force=True)
    return {fw.identity: fw.version for fw in
            [inventory.get_member(i) for i in inventory.members_identities]}


def event_entries(conn, system):
    """The System's log entries: (MessageId, MessageArgs, Message)."""
    path = system.json["LogServices"]["@odata.id"]
    out = []
    for svc in conn._conn.get(path).json()["Members"]:
        svc_doc = conn._conn.get(svc["@odata.id"]).json()
        entries = conn._conn.get(svc_doc["Entries"]["@odata.id"]).json()
        out.extend((e.get("MessageId", ""), e.get("MessageArgs", []),
                    e.get("Message", "")) for e in entries["Members"])
    return out


def run(args):
    step("connect to %s as %s (sushy %s)" % (
        args.url, args.username, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    auth = conn._auth
    check(auth.can_refresh_session(), "session login failed")

    step("the System, and the Targets Ironic sends for it")
    members = sorted(conn.get_system_collection().members_identities)
    check(members, "no systems")
    path = args.system or members[0]
    check(path in members, "%s is not a member" % path)
    system = conn.get_system(path)
    # Ironic names the System in Targets when the BMC has several.
    targets = [path] if len(members) > 1 else None
    info("systems %s; Targets %s" % (", ".join(members), targets))

    step("cache_firmware_components: BiosVersion and the BMC's version")
    old_bios = system.bios_version
    check(old_bios, "no BiosVersion")
    manager = system.managers[0]
    check(manager.firmware_version, "no Manager FirmwareVersion")
    info("bios %s, bmc %s" % (old_bios, manager.firmware_version))
    check(args.version not in old_bios, "already at %s" % args.version)

    step("UpdateService and its FirmwareInventory")
    us = conn.get_update_service()
    check(us.service_enabled, "UpdateService not enabled")
    inventory = {fw.identity: fw for fw in
                 us.firmware_inventory.get_members()}
    for ident, fw in sorted(inventory.items()):
        info("%s: %s %s, updateable %s" % (
            ident, fw.name, fw.version, fw.updateable))
    bios = bios_entry(us, path)
    check(bios is not None, "no BIOS in the FirmwareInventory for %s" % path)
    check(bios.version == old_bios, "FirmwareInventory %s says %s, "
          "BiosVersion %s" % (bios.identity, bios.version, old_bios))
    check(bios.updateable, "%s not updateable" % bios.identity)
    bmc = [fw for fw in inventory.values()
           if fw.version == manager.firmware_version]
    check(bmc, "no FirmwareInventory member for the BMC's %s" %
          manager.firmware_version)

    step("power on (Ironic updates firmware during cleaning)")
    if system.power_state != sushy.SYSTEM_POWER_STATE_ON:
        system.reset_system(sushy.RESET_ON)
    wait_for("power on", lambda: (
        system.refresh() or system.power_state == sushy.SYSTEM_POWER_STATE_ON))

    step("simple_update(%s, targets=%s)" % (args.image_url, targets))
    monitor = us.simple_update(args.image_url, targets=targets)
    uri = monitor.task_monitor_uri
    info("task monitor %s" % uri)
    check(uri, "no task monitor")

    step("poll the task until it ends")
    task = wait_task(conn, uri)
    check(task.task_state == sushy.TASK_STATE_COMPLETED,
          "task %s" % task.task_state)
    check(task.task_status in (sushy.HEALTH_OK, sushy.HEALTH_WARNING),
          "task status %s" % task.task_status)
    check(task.percent_complete == 100, "PercentComplete %s" %
          task.percent_complete)

    step("the image is staged; the BIOS has not changed yet")
    system.refresh()
    check(system.bios_version == old_bios,
          "BiosVersion %s before the reset" % system.bios_version)
    staged = bios_entry(us, path, staged=True)
    check(staged is not None and args.version in staged.version,
          "no staged BIOS %s in the FirmwareInventory" % args.version)
    info("%s: %s, released %s" % (staged.identity, staged.version,
                                  staged.release_date))
    # A BIOS shows every version in one form (the sim: "SIM 2.4.1
    # (2026-06-01)"): the staged one has the running one's.
    check(version_form(staged.version) == version_form(old_bios),
          "staged version %r, running %r: not the same form" % (
              staged.version, old_bios))
    new_bios = staged.version

    step("reset the System (Ironic's reboot: ForceRestart)")
    system.reset_system(sushy.RESET_FORCE_RESTART)
    wait_for("BiosVersion %s" % new_bios, lambda: (
        system.refresh() or system.bios_version == new_bios))
    wait_for("power on", lambda: (
        system.refresh() or system.power_state == sushy.SYSTEM_POWER_STATE_ON))

    step("the new version, as Ironic caches it again")
    info("BiosVersion %s" % system.bios_version)
    bios = bios_entry(us, path)
    check(bios is not None and bios.version == new_bios,
          "FirmwareInventory BIOS %s" % (bios and bios.version))
    check(bios.release_date and bios.release_date == staged.release_date,
          "FirmwareInventory %s ReleaseDate %r" % (bios.identity,
                                                   bios.release_date))
    check(bios_entry(us, path, staged=True) is None,
          "a staged image is left after the reset")
    # The log states both steps with the Update registry, about the BIOS.
    entries = event_entries(conn, system)
    for key in ("AwaitToActivate", "UpdateSuccessful"):
        check([e for e in entries if e[0].startswith("Update.")
               and e[0].endswith("." + key) and args.image_url in e[1]
               and bios.path in e[1]],
              "no %s entry for %s in the event log: %s" % (
                  key, bios.path, [e[2] for e in entries]))

    if args.https_image_url:
        step("an https image server with a self-signed certificate, "
             "VerifyRemoteServerCertificate left at its default")
        us.refresh()
        check(us.json.get("VerifyRemoteServerCertificate") is False,
              "VerifyRemoteServerCertificate %r" %
              us.json.get("VerifyRemoteServerCertificate"))
        check("RemoteServerCertificates" in us.json,
              "no RemoteServerCertificates collection")
        monitor = us.simple_update(args.https_image_url, targets=targets)
        task = wait_task(conn, monitor.task_monitor_uri)
        check(task.task_state == sushy.TASK_STATE_COMPLETED,
              "task %s: %s" % (task.task_state, [
                  m.message for m in task.messages or []]))
        versions = inventory_versions(us)
        info("FirmwareInventory: %s" % versions)
        check(args.https_version in versions.values(),
              "no FirmwareInventory member at %s" % args.https_version)

    step("a slowly served image: while check_is_processing loops until "
         "the task ends")
    slow = SlowImage("disk0-1.0.4.bin")
    try:
        tm = us.simple_update(slow.url, targets=targets)
        info("task monitor %s (%s)" % (tm.task_monitor_uri, slow.url))
        polls = 0
        deadline = time.monotonic() + 60
        while tm.check_is_processing:
            polls += 1
            check(time.monotonic() < deadline, "still processing after 60s")
            time.sleep(0.2)
        ended = time.monotonic()
        info("processing for %d polls; the server sent %d chunks" % (
            polls, slow.state["sent"]))
        check(slow.state["done"] is not None and slow.state["done"] <= ended,
              "is_processing turned false while the image was still being "
              "sent (%d chunks)" % slow.state["sent"])
        check(polls >= 2, "only %d polls while the image took seconds" % polls)
        task = tm.get_task()
        check(task.task_state == sushy.TASK_STATE_COMPLETED,
              "task %s after processing ended" % task.task_state)
        # And the way Ironic's periodic check sees the ended task.
        task = wait_task(conn, tm.task_monitor_uri)
        check(task.task_state == sushy.TASK_STATE_COMPLETED,
              "task %s" % task.task_state)
        versions = inventory_versions(us)
        check("1.0.4" in versions.values(),
              "no FirmwareInventory member at 1.0.4: %s" % versions)
    finally:
        slow.close()

    step("an image that is not there ends the task in Exception")
    monitor = us.simple_update(args.missing_url, targets=targets)
    task = wait_task(conn, monitor.task_monitor_uri)
    check(task.task_state == sushy.TASK_STATE_EXCEPTION,
          "task %s" % task.task_state)
    ids = [m.message_id for m in task.messages or []]
    check(any(i.endswith(".ResourceMissingAtURI") for i in ids),
          "messages %s" % ids)
    system.refresh()
    check(system.bios_version == new_bios, "BiosVersion changed to %s"
          % system.bios_version)

    step("log out")
    auth.close()
    conn._auth = None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--image-url", required=True)
    p.add_argument("--version", required=True,
                   help="the version the image carries")
    p.add_argument("--missing-url", required=True)
    p.add_argument("--system", help="System path (default: first member)")
    p.add_argument("--https-image-url",
                   help="an image on an https server with its own certificate")
    p.add_argument("--https-version",
                   help="the version the https image carries")
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy Ironic firmware update flow passed")


if __name__ == "__main__":
    sys.exit(main())
