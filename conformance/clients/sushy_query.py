#!/usr/bin/python3
"""Redfish query parameters, read the way a sushy-based tool reads them.

sushy (Debian's python3-sushy 4.3.3) reads ProtocolFeaturesSupported from
the service root; a fleet tool built on it can then ask for a collection
with $expand through sushy's connector and build sushy resources from the
expanded members without one GET per member. This script checks that
those resources are what sushy's own per-member GETs give, and the other
query parameters (only, $select, $top/$skip, excerpt) and their errors.

Prints each step and exits 0 on success, 1 on a failed check, 2 on an
unexpected exception.

usage: sushy_query.py --url https://127.0.0.1:8443 --username admin \
           --password PASS --systems 3
"""

import argparse
import sys
import traceback
import warnings

import sushy
from sushy import auth as sushy_auth
from sushy import connector as sushy_connector
from sushy import exceptions as sushy_exc
from sushy.resources.system import system as sushy_system
from sushy.resources.system.storage import storage as sushy_storage
from flow import CheckFailed, check, step


class CountingConnector(sushy_connector.Connector):
    """sushy's connector, counting the GETs it sends."""

    gets = 0

    def get(self, path='', *args, **kwargs):
        CountingConnector.gets += 1
        return super().get(path, *args, **kwargs)


class ExpandedConnector(object):
    """Answers sushy's GETs of expanded resources from one $expand answer,
    as a fleet tool would; anything else goes to the real connector."""

    def __init__(self, conn, docs):
        self._conn = conn
        self._docs = docs

    def get(self, path='', *args, **kwargs):
        doc = self._docs.get(path)
        if doc is None:
            return self._conn.get(path, *args, **kwargs)
        return _Answer(doc)

    def __getattr__(self, name):
        return getattr(self._conn, name)


class _Answer(object):
    status_code = 200
    headers = {}
    content = b'{}'

    def __init__(self, doc):
        self._doc = doc

    def json(self):
        return self._doc


def expect_error(conn, path, status, message_id):
    try:
        # No retries: sushy retries a GET that fails 5xx ten times.
        conn.get(path=path, server_side_retries=0)
    except sushy_exc.HTTPError as e:
        check(e.status_code == status and e.code.endswith('.' + message_id),
              '%s: %s %s, want %d %s' % (path, e.status_code, e.code,
                                         status, message_id))
        return
    raise CheckFailed('%s: no error, want %d %s' % (path, status, message_id))


def run(args):
    conn = CountingConnector(args.url, verify=False)
    root = sushy.Sushy(args.url, auth=sushy_auth.SessionAuth(
        username=args.username, password=args.password), connector=conn)

    step('ProtocolFeaturesSupported says what is served')
    pfs = root.protocol_features_supported
    ex = pfs.expand_query
    check(ex.get('ExpandAll') and ex.get('NoLinks') and ex.get('Links') and
          ex.get('Levels') and ex.get('MaxLevels', 0) >= 1,
          'ExpandQuery %r' % ex)
    check(pfs.select_query and pfs.only_member_query and pfs.excerpt_query,
          'select %r only %r excerpt %r' % (pfs.select_query,
                                            pfs.only_member_query,
                                            pfs.excerpt_query))
    check(pfs.filter_query is False, 'FilterQuery %r' % pfs.filter_query)

    step('sushy reads every system, one GET each')
    coll = root.get_system_collection()
    before = CountingConnector.gets
    own = {s.path: s for s in coll.get_members()}
    gets_separate = CountingConnector.gets - before
    check(len(own) == args.systems, '%d systems, want %d' % (len(own),
                                                             args.systems))
    print('     %d GETs' % gets_separate)

    step('one GET with $expand=.($levels=1) gives the same systems')
    before = CountingConnector.gets
    doc = conn.get(path=coll.path + '?$expand=.($levels=1)').json()
    members = doc['Members']
    check(len(members) == args.systems and
          doc['Members@odata.count'] == args.systems,
          '%d members' % len(members))
    expanded = ExpandedConnector(conn, {m['@odata.id']: m for m in members})
    for m in members:
        path = m['@odata.id']
        check(m == own[path].json, '%s: the expanded member differs from '
              'its GET:\n%r\n%r' % (path, m, own[path].json))
        s = sushy_system.System(expanded, path,
                                redfish_version=root.redfish_version,
                                registries=root.lazy_registries, root=root)
        check(s.power_state == own[path].power_state and
              s.uuid == own[path].uuid and
              s.boot.target == own[path].boot.target and
              s.json == own[path].json,
              '%s: sushy reads the expanded member differently' % path)
    check(CountingConnector.gets - before == 1,
          '%d GETs' % (CountingConnector.gets - before))
    print('     1 GET instead of %d' % gets_separate)

    step('$select with $expand: every UUID in one GET')
    doc = conn.get(path=coll.path + '?$select=UUID&$expand=.').json()
    uuids = {m['@odata.id']: m['UUID'] for m in doc['Members']}
    check(uuids == {p: s.uuid for p, s in own.items()}, 'UUIDs %r' % uuids)
    check(all(set(m) == {'@odata.id', '@odata.type', '@odata.etag', 'UUID'}
              for m in doc['Members']), 'selected members %r' % doc['Members'])

    step('$top and $skip page the collection')
    ids = [m['@odata.id'] for m in coll.json['Members']]
    doc = conn.get(path=coll.path + '?$skip=1&$top=1').json()
    check([m['@odata.id'] for m in doc['Members']] == ids[1:2],
          '$skip=1&$top=1: %r' % doc['Members'])
    check(doc['Members@odata.count'] == len(ids), 'count %r' %
          doc['Members@odata.count'])

    step('only: a one-member collection answers with its member')
    sys0 = own[sorted(own)[0]]
    storage_path = sys0.json['Storage']['@odata.id']
    doc = conn.get(path=storage_path + '?only').json()
    st = sushy_storage.Storage(ExpandedConnector(conn, {doc['@odata.id']: doc}),
                               doc['@odata.id'],
                               redfish_version=root.redfish_version,
                               registries=root.lazy_registries, root=root)
    check(st.identity == '1' and len(st.drives_identities) > 0,
          'only: %r' % doc)

    step('excerpt: a sensor has its excerpt, a system is whole')
    chassis = root.get_chassis_collection().get_members()[0]
    sensors = conn.get(path=chassis.path + '/Sensors').json()['Members']
    sensor = sensors[0]['@odata.id']
    full = conn.get(path=sensor).json()
    ex = conn.get(path=sensor + '?excerpt').json()
    check(set(ex) < set(full) and 'Reading' in ex and 'Status' not in ex,
          'excerpt %r of %r' % (sorted(ex), sorted(full)))
    check(conn.get(path=sys0.path + '?excerpt').json() == sys0.json,
          'excerpt of a system is not the system')

    step('bad query parameters are refused with Base messages')
    expect_error(conn, coll.path + '?$expand=.($levels=0)', 400,
                 'QueryParameterOutOfRange')
    expect_error(conn, coll.path + '?$top=-1', 400, 'QueryParameterOutOfRange')
    expect_error(conn, coll.path + '?$skip=abc', 400,
                 'QueryParameterValueTypeError')
    expect_error(conn, coll.path + '?$expand=foo', 400,
                 'QueryParameterValueFormatError')
    expect_error(conn, coll.path + "?$filter=Id eq '0'", 501,
                 'QueryParameterUnsupported')
    expect_error(conn, sys0.path + '?$top=1', 400,
                 'QueryNotSupportedOnResource')

    print('OK: sushy query parameters passed', flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--username', required=True)
    p.add_argument('--password', required=True)
    p.add_argument('--systems', type=int, required=True)
    args = p.parse_args()
    warnings.simplefilter('ignore')
    try:
        run(args)
    except CheckFailed as e:
        print('FAIL: %s' % e, flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
