#!/usr/bin/python3
"""OpenStack Ironic's Redfish virtual-media deployment, done with sushy.

Runs against any Redfish service the steps Ironic's redfish hardware type
takes to boot a node from a virtual CD (and a few more it uses around it):
session login, system lookup, boot override, virtual media found through
the System and through its Manager, power on, confirmation that the
one-time override was consumed by a CD boot, eject, BIOS settings, Secure
Boot, and the power-off paths. Written for Debian's python3-sushy 4.3.3.

With an https image from a server with its own certificate, it can first
set the CD's TLS policy as an operator of Ironic or Metal3 does:
--vmedia-verify PATCHes VerifyCertificate true, --vmedia-ca FILE POSTs the
certificate to the CD's Certificates collection (and both are undone after
the eject); --expect-insert-refused expects insert_media to be refused
(CouldNotEstablishConnection) and stops there.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_ironic_flow.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --image-url http://127.0.0.1:8080/boot.iso
"""

import argparse
import sys
import warnings

import sushy
from sushy import auth as sushy_auth
from sushy import exceptions as sushy_exc
from flow import CheckFailed, check, find_cd, info, run_checked, step, \
    system_virtual_media, wait_power


def event_messages(conn, system):
    path = system.json["LogServices"]["@odata.id"]
    services = conn._conn.get(path).json()["Members"]
    msgs = []
    for svc in services:
        svc_doc = conn._conn.get(svc["@odata.id"]).json()
        entries = conn._conn.get(svc_doc["Entries"]["@odata.id"]).json()
        msgs.extend(e.get("Message", "") for e in entries["Members"])
    return msgs


def run(args):
    step("connect to %s as %s (sushy %s, default session auth)" % (
        args.url, args.username, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    auth = conn._auth
    check(isinstance(auth, sushy_auth.SessionOrBasicAuth),
          "sushy default auth is %s" % type(auth).__name__)
    check(auth.can_refresh_session(),
          "sushy fell back to Basic auth: session login failed")
    session_uri = auth.get_session_resource_id()
    info("session %s" % session_uri)
    info("Redfish %s, service UUID %s" % (conn.redfish_version, conn.uuid))

    step("get_system_collection / get_system")
    members = sorted(conn.get_system_collection().members_identities)
    check(members, "no systems")
    info("systems: %s" % ", ".join(members))
    path = args.system or members[0]
    check(path in members, "%s is not a member" % path)
    system = conn.get_system(path)
    info("system %s: power %s, uuid %s" % (
        system.identity, system.power_state.value, system.uuid))
    check(system.uuid, "no UUID")
    boot = system.boot
    info("boot: target %s, enabled %s, mode %s" % (
        boot.target, boot.enabled, boot.mode))
    allowed = system.get_allowed_system_boot_source_values()
    check(sushy.BOOT_SOURCE_TARGET_CD in allowed,
          "Cd not in allowed boot sources %s" % allowed)
    resets = system.get_allowed_reset_system_values()
    for r in (sushy.RESET_ON, sushy.RESET_FORCE_OFF,
              sushy.RESET_GRACEFUL_SHUTDOWN):
        check(r in resets, "%s not an allowed reset" % r)

    step("out-of-band inspection (Ironic's redfish inspect)")
    macs = system.ethernet_interfaces.summary
    info("MACs: %s" % ", ".join(sorted(macs)))
    check(macs, "no MAC addresses: nothing to create ports from")
    cpus = system.processors.summary
    info("CPUs: %s logical, %s" % (cpus.count, cpus.architecture))
    check(cpus.count and cpus.architecture, "no CPU count/architecture")
    mem = system.memory_summary
    check(mem and mem.size_gib, "no MemorySummary.TotalSystemMemoryGiB")
    info("memory: %s GiB" % mem.size_gib)
    sizes = []
    if "SimpleStorage" in system.json:
        sizes += system.simple_storage.disks_sizes_bytes
    if "Storage" in system.json:
        try:
            sizes += system.storage.volumes_sizes_bytes
        except sushy_exc.MissingAttributeError:
            pass  # Volumes are optional; Ironic falls back to drives
        sizes += system.storage.drives_sizes_bytes
    if sizes:
        info("local_gb: %d (largest of %d disks/volumes)" % (
            max(sizes) // (1 << 30) - 1, len(sizes)))
    else:
        info("no storage reported; local_gb would be 0")

    step("ensure power off before deploying (Ironic reboots the node)")
    if system.power_state != sushy.SYSTEM_POWER_STATE_OFF:
        system.reset_system(sushy.RESET_FORCE_OFF)
        wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)

    step("find virtual media through the System and through its Manager")
    sys_vm = system_virtual_media(system)
    sys_ids = sorted(sys_vm.members_identities)
    managers = system.managers
    check(managers, "the System has no Links.ManagedBy manager")
    mgr_vm = managers[0].virtual_media
    mgr_ids = sorted(mgr_vm.members_identities)
    info("system: %s" % ", ".join(sys_ids))
    info("manager %s: %s" % (managers[0].identity, ", ".join(mgr_ids)))
    check([p.rsplit("/", 1)[-1] for p in sys_ids] ==
          [p.rsplit("/", 1)[-1] for p in mgr_ids],
          "the System and its Manager list different devices")

    step("eject any inserted media (Ironic's _eject_vmedia)")
    for coll in (mgr_vm, sys_vm):
        for vm in coll.get_members():
            if vm.inserted:
                info("ejecting %s from %s" % (vm.image, vm.path))
                vm.eject_media()
            vm.refresh()
            check(not vm.inserted, "%s still inserted" % vm.path)

    step("set_system_boot_options(CD, Once, UEFI)")
    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_CD,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
                                   mode=sushy.BOOT_SOURCE_MODE_UEFI)
    system.refresh()
    check(system.boot.target == sushy.BOOT_SOURCE_TARGET_CD,
          "target %s" % system.boot.target)
    check(system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_ONCE,
          "enabled %s" % system.boot.enabled)
    check(system.boot.mode == sushy.BOOT_SOURCE_MODE_UEFI,
          "mode %s" % system.boot.mode)

    cd = find_cd(mgr_vm)
    check(cd is not None, "no CD/DVD virtual media device")
    cert = None
    if args.vmedia_verify or args.vmedia_ca:
        step("the CD's TLS policy: VerifyCertificate and Certificates")
        check(cd.verify_certificate is False,
              "VerifyCertificate is %r by default, want False" %
              cd.verify_certificate)
        certs = cd.certificates
        info("certificates at %s: %s" % (
            certs.path, sorted(certs.members_identities)))
        if args.vmedia_ca:
            with open(args.vmedia_ca) as f:
                pem = f.read()
            cert = certs.create_member(pem, sushy.CertificateType.PEM)
            check(cert is not None, "POST Certificates gave no Location")
            info("certificate %s: subject %s, issuer %s, valid until %s" % (
                cert.path, cert.subject.common_name,
                cert.issuer.common_name, cert.valid_not_after))
            check(cert.certificate_type == sushy.CertificateType.PEM,
                  "CertificateType %s" % cert.certificate_type)
            check(cert.certificate_string.strip() == pem.strip(),
                  "CertificateString differs from the PEM posted")
            check(cert.path in certs.members_identities,
                  "%s is not a member of %s" % (cert.path, certs.path))
        if args.vmedia_verify:
            cd.set_verify_certificate(True)
            cd.refresh()
            check(cd.verify_certificate is True,
                  "VerifyCertificate %r after set_verify_certificate(True)" %
                  cd.verify_certificate)
            sys_cd = find_cd(system_virtual_media(system))
            check(sys_cd.verify_certificate is True,
                  "the System's CD does not verify certificates")

    step("insert_media on the CD device found by media_types")
    info("device %s (%s)" % (cd.path, ", ".join(
        t.value for t in cd.media_types)))
    if args.expect_insert_refused:
        try:
            cd.insert_media(args.image_url, inserted=True,
                            write_protected=True)
        except sushy_exc.BadRequestError as e:
            info("refused: %s" % e.code)
            check(e.code.endswith(".CouldNotEstablishConnection"),
                  "refused with %s, want CouldNotEstablishConnection" % e.code)
            res = e.body["@Message.ExtendedInfo"][0].get("Resolution", "")
            info("resolution: %s" % res)
            # Resolution is the registry's text; the cause is in bmcd's log.
            check(res.startswith("Ensure that the URI"), "the resolution is not the registry's")
        else:
            raise CheckFailed("insert_media of an image from an untrusted "
                              "server succeeded")
        cd.refresh()
        check(not cd.inserted and not cd.image,
              "the refused image is in the CD: %r" % cd.image)
        undo_tls_policy(args, cd, cert)
        log_out(args, conn, auth, session_uri)
        return
    cd.insert_media(args.image_url, inserted=True, write_protected=True)
    cd.refresh()
    check(cd.inserted, "not inserted after insert_media")
    check(cd.image == args.image_url, "image %r" % cd.image)
    check(cd.write_protected, "not write protected")
    check(cd.connected_via == sushy.CONNECTED_VIA_URI,
          "connected via %s" % cd.connected_via)
    sys_cd = find_cd(system_virtual_media(system))
    check(sys_cd is not None and sys_cd.inserted and
          sys_cd.image == args.image_url,
          "the System's CD does not show the inserted image")

    step("reset_system(On) and poll power_state")
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)

    step("the host booted the CD and consumed the one-time override")
    check(system.boot.enabled == sushy.BOOT_SOURCE_ENABLED_DISABLED,
          "override still %s after the boot" % system.boot.enabled)
    msgs = event_messages(conn, system)
    booted = [m for m in msgs if "from Cd" in m and args.image_url in m]
    check(booted, "no CD boot of the image in the event log: %s" % msgs)
    info("event log: %s" % booted[-1])

    step("eject_media")
    cd.eject_media()
    cd.refresh()
    check(not cd.inserted, "still inserted after eject_media")
    check(not cd.image, "image %r after eject" % cd.image)
    undo_tls_policy(args, cd, cert)

    step("bios: attributes, set_attributes -> pending")
    bios = system.bios
    attrs = bios.attributes
    check(attrs, "no BIOS attributes")
    info("attributes: %s" % attrs)
    key = args.bios_attribute or (
        "ProcTurboMode" if "ProcTurboMode" in attrs else sorted(attrs)[0])
    old = attrs[key]
    new = "Disabled" if old == "Enabled" else "Enabled"
    bios.set_attributes({key: new})
    bios.refresh()
    pending = bios.pending_attributes
    info("pending: %s" % pending)
    check(pending.get(key) == new, "%s not pending as %s" % (key, new))
    check(bios.attributes[key] == old, "applied before a reboot")

    step("secure boot")
    if "SecureBoot" in system.json:
        sb = system.secure_boot
        info("enabled %s, current boot %s, mode %s" % (
            sb.enabled, sb.current_boot, sb.mode))
        sb.set_enabled(True)
        sb.refresh()
        check(sb.enabled is True, "SecureBootEnable not set")
    else:
        info("not exposed; skipped")

    step("reset_system(ForceOff), then On: pending settings apply")
    system.reset_system(sushy.RESET_FORCE_OFF)
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF, timeout=5)
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
    bios.refresh()
    check(bios.attributes.get(key) == new,
          "%s is %s after the reboot, want %s" % (
              key, bios.attributes.get(key), new))
    check(not bios.pending_attributes, "still pending: %s" %
          bios.pending_attributes)
    if "SecureBoot" in system.json:
        sb = system.secure_boot
        sb.refresh()
        check(sb.current_boot == sushy.SECURE_BOOT_ENABLED,
              "SecureBootCurrentBoot %s after the reboot" % sb.current_boot)

    step("reset_system(GracefulShutdown) and poll power_state")
    system.reset_system(sushy.RESET_GRACEFUL_SHUTDOWN)
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)

    log_out(args, conn, auth, session_uri)


def undo_tls_policy(args, cd, cert):
    """Delete the certificate posted and turn verification off again."""
    if cert is not None:
        step("delete the CD's certificate")
        cert.delete()
        certs = cd.certificates
        certs.refresh()
        check(cert.path not in certs.members_identities,
              "%s still listed after DELETE" % cert.path)
    if args.vmedia_verify:
        step("set_verify_certificate(False)")
        cd.set_verify_certificate(False)
        cd.refresh()
        check(cd.verify_certificate is False, "VerifyCertificate still %r" %
              cd.verify_certificate)


def log_out(args, conn, auth, session_uri):
    step("log out")
    auth.close()
    check(auth.get_session_key() is None, "session key kept after close")
    basic = sushy.Sushy(args.url, auth=sushy_auth.BasicAuth(
        username=args.username, password=args.password), verify=False)
    try:
        basic._conn.get(session_uri)
    except sushy_exc.ResourceNotFoundError:
        info("session %s is gone" % session_uri)
    else:
        raise CheckFailed("session %s still exists after logout" %
                          session_uri)
    basic._auth = None
    conn._auth = None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--image-url", required=True)
    p.add_argument("--system", help="System path (default: first member)")
    p.add_argument("--vmedia-verify", action="store_true",
                   help="set VerifyCertificate on the CD before inserting")
    p.add_argument("--vmedia-ca", metavar="FILE",
                   help="POST this PEM certificate to the CD's Certificates")
    p.add_argument("--expect-insert-refused", action="store_true",
                   help="insert_media must fail (CouldNotEstablishConnection)")
    p.add_argument("--bios-attribute", metavar="NAME",
                   help="the Enabled/Disabled BIOS attribute to toggle "
                        "(default: ProcTurboMode, else the first one)")
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy Ironic virtual-media flow passed")


if __name__ == "__main__":
    sys.exit(main())
