package redfish

import "slices"

// writeableKey is the RedfishExtensions v1_0_0 WriteableProperties term:
// "the properties supported as read-write ... given the implementation,
// current configuration, and state of the resource"; it may appear at the
// root of a resource or within an object (DSP0266, "Writeable
// properties"). It says which properties a PATCH sets; whether the
// requester's privilege allows the PATCH is the Allow header's and the
// 403's business, so the list does not depend on who asks.
const writeableKey = "@Redfish.WriteableProperties"

// addWriteable adds names to the WriteableProperties of v, a resource or
// an object within one, keeping any already listed. Nothing is added when
// names is empty: no annotation means nothing is said, not "nothing is
// writable".
func addWriteable(v M, names ...string) {
	if len(names) == 0 {
		return
	}
	have, _ := v[writeableKey].([]string)
	v[writeableKey] = append(slices.Clip(have), names...)
}
