// Package conformance is bmcd's end-to-end conformance suite. It has no
// library code: its tests build the real bmcd binary once per run, start it
// with a fresh state directory on an ephemeral 127.0.0.1 port, and drive it
// only with clients that know nothing of bmcd:
//
//   - the DMTF JSON schemas (via conformance/schemacheck), over the whole
//     resource tree and over error responses;
//   - the rules the DMTF Service, Protocol and Interop Validators check,
//     as tests of their own (validatorrules_test.go, query_test.go), the
//     Interop ones against the OpenStack Ironic profile;
//   - gofish (Go), sushy (Python, as OpenStack Ironic uses it) and
//     redfishtool (the DMTF command-line client);
//   - raw HTTP for robustness: kill -9 durability, clean SIGTERM, the
//     generated first password, and malformed requests.
//
// The external clients come from Debian packages that `make deps`
// installs. Without them the suite fails, telling you to run it; with
// -short it skips those tests instead.
package conformance
