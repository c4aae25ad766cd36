#!/usr/bin/python3
"""What Ironic's firmware check sees of a task a bmcd restart cut short.

Ironic (_check_node_firmware_update) keeps the Task URI sushy gave it,
calls get_task_monitor(uri) and, once is_processing is false,
get_task(): any TaskState but Completed fails the update. This checks
the task reads as ended, in Exception, with a message saying why.
"""
import argparse
import sys

import sushy
from sushy import taskmonitor


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--task", required=True)
    args = p.parse_args()
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    try:
        monitor = conn.get_task_monitor(args.task)
    except FileNotFoundError:  # Debian's sushy lacks its bundled registries
        monitor = taskmonitor.TaskMonitor(
            conn._conn, args.task, redfish_version=conn.redfish_version,
            registries=conn.lazy_registries)
    if monitor.is_processing:
        print("FAIL: task %s still processing after a restart" % args.task)
        return 1
    task = monitor.get_task()
    ids = [m.message_id for m in task.messages or []]
    print("task %s: %s %s %s%% %s" % (task.identity, task.task_state.value,
          task.task_status.value if task.task_status else None,
          task.percent_complete, ids))
    if task.task_state != sushy.TASK_STATE_EXCEPTION:
        print("FAIL: TaskState %s, want Exception" % task.task_state.value)
        return 1
    if not any(i.endswith("ServiceShuttingDown") for i in ids):
        print("FAIL: no ServiceShuttingDown message: %s" % ids)
        return 1
    print("OK: sushy sees the interrupted task in Exception")
    return 0


if __name__ == "__main__":
    sys.exit(main())
