/*  fuzz_payload: one inter-node payload, as the daemon that takes it gets it.
 *
 *  Built once per payload (tests/fuzz/CMakeLists.txt sets FUZZ_ROLE, the
 *  receiving daemon, FUZZ_PEER, the node that sends that kind, and
 *  FUZZ_KIND): the input is the payload's bytes, carried in a valid
 *  envelope with the next seq from that peer, through the link's decode
 *  and the inbox into the daemon's handler, whose checks and register
 *  writes run in the receive transaction. The input's size picks the
 *  case: child A's (every actor on it), child B's (only the school) or
 *  one the region has never seen.
 */
#include "fuzz_node.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *unknown = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *cases [] = { fuzz_case_a, fuzz_case_b, unknown };
    rb_node_t *node = fuzz_node (FUZZ_ROLE);
    fuzz_envelope (node, FUZZ_PEER, cases [size % 3], FUZZ_KIND, data, size);
    return 0;
}
