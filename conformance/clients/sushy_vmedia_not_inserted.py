#!/usr/bin/python3
"""Virtual media attached with Inserted false, as sushy drives it.

Checks against a Redfish service, with Debian's python3-sushy 4.3.3:

- insert_media(image, inserted=False, write_protected=False) (the
  InsertMedia action with "Inserted": false) is accepted: the CD shows the
  image (Image, ImageName, ConnectedVia URI) with Inserted false;
- another insert_media into the slot is refused (409) while it holds the
  image;
- a PATCH of "Inserted": true alone (with sushy's connection and the
  slot's ETag) inserts that image without sending it again, and a PATCH
  of "Inserted": false takes the medium away and keeps the image;
- eject_media clears the slot.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_vmedia_not_inserted.py --url https://127.0.0.1:8443 \
           --username admin --password PASS --image-url http://... \
           --manager /redfish/v1/Managers/0
"""

import argparse
import sys
import warnings

import sushy
from sushy import exceptions as sushy_exc
import flow
from flow import CheckFailed, check, run_checked, step


def the_cd(coll):
    cd = flow.find_cd(coll)
    if cd is None:
        raise CheckFailed("no CD among %s" % coll.members_identities)
    return cd


def want(cd, image, inserted, write_protected):
    cd.refresh()
    check(cd.inserted is inserted,
          "Inserted %s, want %s" % (cd.inserted, inserted))
    check(cd.image == image, "Image %s, want %s" % (cd.image, image))
    check(cd.image_name == image.rsplit("/", 1)[-1],
          "ImageName %s" % cd.image_name)
    check(cd.connected_via == sushy.CONNECTED_VIA_URI,
          "ConnectedVia %s, want URI" % cd.connected_via)
    check(cd.write_protected is write_protected,
          "WriteProtected %s, want %s" % (cd.write_protected,
                                          write_protected))
    print("     Inserted %s, WriteProtected %s, Image %s" % (
        cd.inserted, cd.write_protected, cd.image), flush=True)


def patch(conn, cd, body):
    etag = conn._conn.get(cd.path).headers.get("ETag")
    conn._conn.patch(cd.path, data=body, headers={"If-Match": etag})


def run(args):
    step("connect to %s (sushy %s)" % (args.url, sushy.__version__))
    conn = sushy.Sushy(args.url, username=args.username,
                       password=args.password, verify=False)
    cd = the_cd(conn.get_manager(args.manager).virtual_media)

    step("insert_media with inserted=False, write_protected=False")
    cd.insert_media(args.image_url, inserted=False, write_protected=False)
    want(cd, args.image_url, False, False)

    step("insert_media into the slot holding the image is refused")
    try:
        cd.insert_media(args.image_url)
    except sushy_exc.HTTPError as e:
        check(e.status_code == 409, "status %s, want 409" % e.status_code)
        print("     refused: %s %s" % (e.status_code, e.code), flush=True)
    else:
        raise CheckFailed("a second insert_media was accepted")
    want(cd, args.image_url, False, False)

    step("PATCH Inserted true inserts the held image")
    patch(conn, cd, {"Inserted": True})
    want(cd, args.image_url, True, False)

    step("PATCH Inserted false keeps the image, not inserted")
    patch(conn, cd, {"Inserted": False, "WriteProtected": True})
    want(cd, args.image_url, False, True)

    step("eject_media clears the slot")
    cd.eject_media()
    cd.refresh()
    check(cd.inserted is False and cd.image is None,
          "after eject_media: Inserted %s, Image %s" % (cd.inserted,
                                                      cd.image))
    check(cd.connected_via == sushy.CONNECTED_VIA_NOT_CONNECTED,
          "ConnectedVia %s after eject_media" % cd.connected_via)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--image-url", required=True)
    p.add_argument("--manager", required=True)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InsecureRequestWarning: verify=False
    return run_checked(run, args, "OK: sushy Inserted false checks passed")


if __name__ == "__main__":
    sys.exit(main())
