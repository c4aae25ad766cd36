"""What every client flow in this folder shares: numbered steps, checks
that stop the flow, waits, sushy 4.3.3 workarounds, and the exit codes the
Go conformance tests read (0 success, 1 a failed check, 2 an unexpected
exception).

The flows are run as scripts with Debian's /usr/bin/python3; their folder
is on sys.path, so each imports this module as `flow`.
"""

import sys
import time
import traceback

import sushy
from sushy import taskmonitor
from sushy.resources.manager import virtual_media as sushy_vmedia

# TaskStates of a task whose operation has not ended.
RUNNING = {sushy.TASK_STATE_NEW, sushy.TASK_STATE_PENDING,
           sushy.TASK_STATE_STARTING, sushy.TASK_STATE_RUNNING}

_step = 0


def step(msg):
    """Prints the next numbered step."""
    global _step
    _step += 1
    print("[%02d] %s" % (_step, msg), flush=True)


def info(msg):
    """Prints a detail of the current step."""
    print("     %s" % msg, flush=True)


class CheckFailed(Exception):
    """A check of the flow failed: exit code 1."""


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def wait_for(what, cond, timeout=30.0):
    """Polls cond every 0.1 s until it holds, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise CheckFailed("timed out waiting for %s" % what)
        time.sleep(0.1)


def wait_power(system, want, timeout=20.0):
    """Polls power_state the way Ironic's power sync does."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        system.refresh()
        state = system.power_state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == want:
            info("power state %s (seen: %s)" % (
                state.value, " -> ".join(s.value if s else "?" for s in seen)))
            return
        if time.monotonic() > deadline:
            raise CheckFailed("power state still %s after %.0fs, want %s" % (
                state, timeout, want))
        time.sleep(0.1)


def get_task_monitor(conn, uri):
    """Sushy.get_task_monitor(uri), as Ironic's redfish_utils calls it.

    In Debian's python3-sushy 4.3.3 that method reads Sushy.registries,
    which lists sushy's bundled standard_registries directory, and the
    package does not ship it (FileNotFoundError). The TaskMonitor it
    would build is built here with the lazy registries every other sushy
    getter uses.
    """
    try:
        return conn.get_task_monitor(uri)
    except FileNotFoundError:
        return taskmonitor.TaskMonitor(
            conn._conn, uri, redfish_version=conn.redfish_version,
            registries=conn.lazy_registries)


def run_checked(run, args, ok):
    """Runs run(args) and prints ok, or why it failed; returns the exit
    code."""
    try:
        run(args)
    except CheckFailed as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    except Exception:
        print("FAIL: unexpected exception", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 2
    print(ok, flush=True)
    return 0


def system_virtual_media(system):
    """The System's VirtualMedia collection (ComputerSystem v1_13+).

    Newer sushy has System.virtual_media; 4.3.3 does not, so build the
    same collection with sushy's own class from the System's link.
    """
    coll = getattr(system, "virtual_media", None)
    if coll is not None:
        return coll
    path = system.json.get("VirtualMedia", {}).get("@odata.id")
    check(path, "the System has no VirtualMedia link")
    return sushy_vmedia.VirtualMediaCollection(
        system._conn, path, redfish_version=system.redfish_version,
        registries=system.registries, root=system.root)


def find_cd(collection):
    """The collection's first CD or DVD device, or None."""
    for vm in collection.get_members():
        if sushy.VIRTUAL_MEDIA_CD in vm.media_types or \
                sushy.VIRTUAL_MEDIA_DVD in vm.media_types:
            return vm
    return None
